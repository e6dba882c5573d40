import { getAddress, isAddress } from "ethers";
import type { HardhatRuntimeEnvironment } from "hardhat/types";
import { ROLES, RoleName } from "../../src/sdk/roles";

/**
 * Reads an optional account from the environment (for example GRIDLEDGER_OPERATOR) and
 * falls back to the deployer. A malformed value stops the deployment with its name.
 */
export function accountFromEnv(variable: string, fallback: string): string {
  const raw = process.env[variable]?.trim();
  if (!raw) return fallback;
  if (!isAddress(raw)) throw new Error(`${variable}=${raw} is not an address (expected 0x followed by 40 hex digits)`);
  return getAddress(raw);
}

/** Grants `role` on the registry to `account` unless it already holds it (idempotent). */
export async function ensureRole(
  hre: HardhatRuntimeEnvironment,
  from: string,
  role: RoleName,
  account: string,
): Promise<void> {
  const { deployments } = hre;
  const has = (await deployments.read("CommunityRegistry", "hasRole", ROLES[role], account)) as boolean;
  if (has) return;
  await deployments.execute("CommunityRegistry", { from, log: deployLogs(hre) }, "grantRole", ROLES[role], account);
}

/** Adds `hook` to the registry's migration hooks unless it is there already (idempotent). */
export async function ensureMigrationHook(hre: HardhatRuntimeEnvironment, from: string, hook: string): Promise<void> {
  const { deployments } = hre;
  const hooks = (await deployments.read("CommunityRegistry", "migrationHooks")) as string[];
  if (hooks.map((h) => h.toLowerCase()).includes(hook.toLowerCase())) return;
  await deployments.execute("CommunityRegistry", { from, log: deployLogs(hre) }, "addMigrationHook", hook);
}

/**
 * Makes `hook` the registry's meter hook (told of every meter change, `setMeterHook`) unless it
 * is already. The hook is set once for good: a registry whose hook is another contract stops the
 * deployment with both addresses.
 */
export async function ensureMeterHook(hre: HardhatRuntimeEnvironment, from: string, hook: string): Promise<void> {
  const { deployments } = hre;
  const current = (await deployments.read("CommunityRegistry", "meterHook")) as string;
  if (current.toLowerCase() === hook.toLowerCase()) return;
  if (BigInt(current) !== 0n) {
    throw new Error(`the registry's meter hook is ${current}, not MeterReadings at ${hook}: it is set once; deploy a new registry for a new MeterReadings`);
  }
  await deployments.execute("CommunityRegistry", { from, log: deployLogs(hre) }, "setMeterHook", hook);
}

/** Whether deployment logs should be printed (quiet inside tests). */
export function deployLogs(hre: HardhatRuntimeEnvironment): boolean {
  return hre.network.name !== "hardhat" || process.env.GRIDLEDGER_DEPLOY_LOG === "1";
}
