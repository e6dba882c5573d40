import type { HardhatRuntimeEnvironment } from "hardhat/types";
import type { DeployFunction } from "hardhat-deploy/types";
import { accountFromEnv, deployLogs, ensureRole } from "../scripts/lib/deploy-helpers";

/**
 * CommunityRegistry: members, meters and the one list of roles. The deployer becomes the
 * community admin; operator, pauser and oracle roles go to the accounts named in .env
 * (GRIDLEDGER_OPERATOR, GRIDLEDGER_PAUSER, GRIDLEDGER_ORACLE), the deployer by default.
 */
const func: DeployFunction = async (hre: HardhatRuntimeEnvironment) => {
  const { deployments, getNamedAccounts } = hre;
  const { deployer } = await getNamedAccounts();
  const log = deployLogs(hre);
  const admin = accountFromEnv("GRIDLEDGER_ADMIN", deployer);

  await deployments.deploy("CommunityRegistry", {
    from: deployer,
    args: [admin],
    log,
    skipIfAlreadyDeployed: true,
  });

  // Role grants need the admin's key; when governance is another account it grants them itself.
  if (admin.toLowerCase() !== deployer.toLowerCase()) return;
  await ensureRole(hre, deployer, "OPERATOR_ROLE", accountFromEnv("GRIDLEDGER_OPERATOR", deployer));
  await ensureRole(hre, deployer, "PAUSER_ROLE", accountFromEnv("GRIDLEDGER_PAUSER", deployer));
  await ensureRole(hre, deployer, "ORACLE_ROLE", accountFromEnv("GRIDLEDGER_ORACLE", deployer));
};

func.tags = ["CommunityRegistry", "identity", "core"];
export default func;
