import type { HardhatRuntimeEnvironment } from "hardhat/types";
import type { DeployFunction } from "hardhat-deploy/types";
import { deployLogs, ensureMigrationHook, ensureRole } from "../scripts/lib/deploy-helpers";

/**
 * EnergyMarket (with its linked OrderBook library): deposits, orders, tariffs, clearing.
 * Initial tariffs from GRIDLEDGER_RETAIL_PER_KWH and GRIDLEDGER_FEED_IN_PER_KWH in credit base
 * units per kWh (6 decimals: 300000 = 0.30 per kWh). The market clears from the interval
 * current at deployment on, and gets SYSTEM_ROLE (hold tokens, close intervals). It retires
 * exported energy by its `MemberSettled` events, so it needs no energy-token role (issue 16).
 */
const func: DeployFunction = async (hre: HardhatRuntimeEnvironment) => {
  const { deployments, getNamedAccounts } = hre;
  const { deployer } = await getNamedAccounts();
  const log = deployLogs(hre);
  const registry = await deployments.get("CommunityRegistry");
  const readings = await deployments.get("MeterReadings");
  const credit = await deployments.get("CommunityCredit");

  const retail = price("GRIDLEDGER_RETAIL_PER_KWH", 300_000n);
  const feedIn = price("GRIDLEDGER_FEED_IN_PER_KWH", 80_000n);
  if (feedIn > retail) {
    throw new Error(`GRIDLEDGER_FEED_IN_PER_KWH (${feedIn}) must not exceed GRIDLEDGER_RETAIL_PER_KWH (${retail})`);
  }
  const firstInterval = (await deployments.read("MeterReadings", "currentInterval")) as bigint;

  const orderBook = await deployments.deploy("OrderBook", { from: deployer, log, skipIfAlreadyDeployed: true });
  const market = await deployments.deploy("EnergyMarket", {
    from: deployer,
    args: [registry.address, readings.address, credit.address, retail, feedIn, firstInterval],
    libraries: { OrderBook: orderBook.address },
    log,
    skipIfAlreadyDeployed: true,
  });

  await ensureRole(hre, deployer, "SYSTEM_ROLE", market.address);
  await ensureMigrationHook(hre, deployer, market.address);
};

function price(variable: string, fallback: bigint): bigint {
  const raw = process.env[variable]?.trim();
  if (!raw) return fallback;
  if (!/^\d+$/.test(raw) || BigInt(raw) === 0n) {
    throw new Error(`${variable}=${raw} must be a positive whole number of credit base units per kWh`);
  }
  return BigInt(raw);
}

func.tags = ["EnergyMarket", "market", "core"];
func.dependencies = ["CommunityRegistry", "CommunityCredit", "MeterReadings"];
export default func;
