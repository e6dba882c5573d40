import type { HardhatRuntimeEnvironment } from "hardhat/types";
import type { DeployFunction } from "hardhat-deploy/types";
import { accountFromEnv, deployLogs, ensureMigrationHook, ensureRole } from "../scripts/lib/deploy-helpers";

/**
 * EnergyToken (kWh) and CommunityCredit (payment), both members-only and told of wallet
 * migrations. The issuer (GRIDLEDGER_ISSUER, the deployer by default) mints credits.
 */
const func: DeployFunction = async (hre: HardhatRuntimeEnvironment) => {
  const { deployments, getNamedAccounts } = hre;
  const { deployer } = await getNamedAccounts();
  const log = deployLogs(hre);
  const registry = await deployments.get("CommunityRegistry");

  const energy = await deployments.deploy("EnergyToken", {
    from: deployer,
    args: [registry.address],
    log,
    skipIfAlreadyDeployed: true,
  });
  const credit = await deployments.deploy("CommunityCredit", {
    from: deployer,
    args: [registry.address],
    log,
    skipIfAlreadyDeployed: true,
  });

  await ensureMigrationHook(hre, deployer, energy.address);
  await ensureMigrationHook(hre, deployer, credit.address);
  await ensureRole(hre, deployer, "ISSUER_ROLE", accountFromEnv("GRIDLEDGER_ISSUER", deployer));
};

func.tags = ["EnergyToken", "CommunityCredit", "tokens", "core"];
func.dependencies = ["CommunityRegistry"];
export default func;
