/**
 * Start-up checks shared by the daemons (oracle, keeper): is the node the chain the deployment
 * records were written for, is there code at every address, does an account hold a role, and how
 * far apart are the chain's clock and ours. Each check returns sentences naming what is missing
 * and how to fix it; the daemon reports them all at once.
 */
import { Contract, type Provider } from "ethers";
import { ROLES, type RoleName } from "./roles";

const HAS_ROLE_ABI = ["function hasRole(bytes32 role, address account) view returns (bool)"];

/** The chain id the node itself reports (`eth_chainId`, not a provider's static network). */
export async function nodeChainId(provider: Provider): Promise<bigint> {
  const send = (provider as { send?: (m: string, p: unknown[]) => Promise<unknown> }).send;
  if (typeof send === "function") return BigInt((await send.call(provider, "eth_chainId", [])) as string);
  return (await provider.getNetwork()).chainId;
}

/**
 * Problems with the chain behind `provider`: a chain id other than `expectedChainId`, and every
 * contract of `contracts` (name -> address) without code.
 */
export async function checkDeployment(
  provider: Provider,
  contracts: Record<string, string>,
  expectedChainId?: bigint,
): Promise<{ chainId: bigint; problems: string[] }> {
  const problems: string[] = [];
  const chainId = await nodeChainId(provider);
  if (expectedChainId !== undefined && chainId !== expectedChainId) {
    problems.push(`chain id: the node answers ${chainId}, the configuration expects ${expectedChainId} (wrong RPC URL or network)`);
  }
  for (const [name, address] of Object.entries(contracts)) {
    const code = await provider.getCode(address);
    if (code === "0x") {
      problems.push(
        `${name}: no contract at ${address} on chain ${chainId}: the deployment records do not belong to this node ` +
          "(a restarted node forgets its contracts: redeploy, or point --network / GRIDLEDGER_DEPLOYMENTS_DIR at the right records)",
      );
    }
  }
  return { chainId, problems };
}

/** A sentence when `account` lacks `role` in the registry (the one AccessControl), else undefined. */
export async function missingRole(provider: Provider, registryAddress: string, role: RoleName, account: string, what: string): Promise<string | undefined> {
  const registry = new Contract(registryAddress, HAS_ROLE_ABI, provider);
  if (await registry.hasRole(ROLES[role], account)) return undefined;
  return `${what} ${account} lacks ${role}: the operator grants it (registry.grantRole(${role}, ${account})), or use the account that holds it`;
}

/**
 * Seconds the chain's clock (the latest block's timestamp) is ahead of `nowSeconds` (negative:
 * behind). On a chain that mines every few seconds a healthy value is within a few blocks' time.
 */
export async function chainClockSkewSeconds(provider: Provider, nowSeconds: number): Promise<number> {
  const block = await provider.getBlock("latest");
  if (!block) throw new Error("the node returned no latest block");
  return block.timestamp - nowSeconds;
}
