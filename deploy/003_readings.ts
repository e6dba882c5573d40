import type { HardhatRuntimeEnvironment } from "hardhat/types";
import type { DeployFunction } from "hardhat-deploy/types";
import { deployLogs, ensureMeterHook } from "../scripts/lib/deploy-helpers";

/**
 * MeterReadings: verifies signed readings and books each member's interval energy (nothing is
 * minted since issue 16), and becomes the registry's meter hook. The settlement clock is fixed
 * here for good: GRIDLEDGER_INTERVAL_SECONDS (default 900) and GRIDLEDGER_MARKET_START (unix
 * seconds; by default the latest block's time rounded down to a whole interval).
 */
const func: DeployFunction = async (hre: HardhatRuntimeEnvironment) => {
  const { deployments, getNamedAccounts, ethers } = hre;
  const { deployer } = await getNamedAccounts();
  const registry = await deployments.get("CommunityRegistry");

  const intervalSeconds = positiveInt("GRIDLEDGER_INTERVAL_SECONDS", 900);
  let marketStart = process.env.GRIDLEDGER_MARKET_START?.trim()
    ? positiveInt("GRIDLEDGER_MARKET_START", 0)
    : undefined;
  if (marketStart === undefined) {
    const latest = await ethers.provider.getBlock("latest");
    marketStart = Math.floor(latest!.timestamp / intervalSeconds) * intervalSeconds;
  }

  const readings = await deployments.deploy("MeterReadings", {
    from: deployer,
    args: [registry.address, marketStart, intervalSeconds],
    log: deployLogs(hre),
    skipIfAlreadyDeployed: true,
  });
  // The registry tells MeterReadings of every meter change: readings use its own copy.
  await ensureMeterHook(hre, deployer, readings.address);
};

function positiveInt(variable: string, fallback: number): number {
  const raw = process.env[variable]?.trim();
  if (!raw) return fallback;
  if (!/^\d+$/.test(raw) || Number(raw) <= 0) throw new Error(`${variable}=${raw} must be a positive whole number`);
  return Number(raw);
}

func.tags = ["MeterReadings", "oracle", "core"];
func.dependencies = ["CommunityRegistry"];
export default func;
