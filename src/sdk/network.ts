/**
 * Which chain a client talks to: `hardhat` (the embedded, in-process chain), `localhost`
 * (`npx hardhat node`, LOCALHOST_RPC_URL) or `poa` (a private proof-of-authority chain,
 * POA_RPC_URL, possibly several comma-separated nodes that the provider fails over between).
 * The name comes from the caller (`--network`) or GRIDLEDGER_NETWORK (`.env`).
 */
import { FallbackProvider, JsonRpcProvider, Network, type Provider } from "ethers";
import { ConfigError, ValidationError } from "./errors";

export const NETWORK_NAMES = ["hardhat", "localhost", "poa"] as const;
export type NetworkName = (typeof NETWORK_NAMES)[number];

export interface NetworkConfig {
  name: NetworkName;
  chainId: bigint;
  /** RPC URLs; empty for the embedded chain. */
  urls: string[];
}

export interface ResolveOptions {
  /** `--network`; falls back to GRIDLEDGER_NETWORK, then `localhost`. */
  name?: string;
  env?: NodeJS.ProcessEnv;
}

export const EMBEDDED_CHAIN_MESSAGE =
  "the embedded chain lives inside one process; start `npx hardhat node` and use --network localhost";

/** The network's name, chain id and URLs; `ConfigError` listing every bad value. */
export function resolveNetwork(opts: ResolveOptions = {}): NetworkConfig {
  const env = opts.env ?? process.env;
  const raw = (opts.name ?? env.GRIDLEDGER_NETWORK ?? "localhost").trim();
  if (!(NETWORK_NAMES as readonly string[]).includes(raw)) {
    throw new ValidationError("network", `must be one of ${NETWORK_NAMES.join(", ")}, got "${raw}"`);
  }
  const name = raw as NetworkName;
  const problems: string[] = [];
  let cfg: NetworkConfig;
  if (name === "hardhat") {
    cfg = { name, chainId: 31337n, urls: [] };
  } else if (name === "localhost") {
    cfg = { name, chainId: 31337n, urls: [env.LOCALHOST_RPC_URL?.trim() || "http://127.0.0.1:8545"] };
  } else {
    const urls = (env.POA_RPC_URL ?? "")
      .split(",")
      .map((u) => u.trim())
      .filter(Boolean);
    if (urls.length === 0) problems.push("POA_RPC_URL: set it to the RPC URL of the PoA chain (several: comma separated)");
    const idRaw = env.POA_CHAIN_ID?.trim() || "1337";
    let chainId = 0n;
    if (!/^\d+$/.test(idRaw) || BigInt(idRaw) === 0n) problems.push(`POA_CHAIN_ID: must be a positive whole number, got "${idRaw}"`);
    else chainId = BigInt(idRaw);
    cfg = { name, chainId, urls };
  }
  for (const u of cfg.urls) {
    if (!/^(https?|wss?):\/\//.test(u)) problems.push(`RPC URL "${u}" of network ${name}: must start with http://, https://, ws:// or wss://`);
  }
  if (problems.length) throw new ConfigError(problems);
  return cfg;
}

/**
 * A provider for the network. One URL: a `JsonRpcProvider` with a static network (no
 * detection loop when the node is down). Several: an ethers `FallbackProvider` (quorum 1,
 * in the order given), so a dead node is skipped. The embedded chain cannot be reached from
 * another process: pass `embedded` (for example `hre.ethers.provider` in a test) or get a
 * `ConfigError` saying what to do instead.
 */
export function makeProvider(cfg: NetworkConfig, embedded?: Provider): Provider {
  if (cfg.name === "hardhat") {
    if (embedded) return embedded;
    throw new ConfigError([EMBEDDED_CHAIN_MESSAGE]);
  }
  const network = new Network(cfg.name, cfg.chainId);
  // No response cache (cacheTimeout -1): two transactions in a row must each see the fresh
  // pending nonce, not one cached for 250 ms.
  const providers = cfg.urls.map((u) => new JsonRpcProvider(u, network, { staticNetwork: network, polling: true, pollingInterval: 250, cacheTimeout: -1 }));
  if (providers.length === 1) return providers[0];
  return new FallbackProvider(
    providers.map((provider, i) => ({ provider, priority: i + 1, weight: 1, stallTimeout: 1500 })),
    network,
    { quorum: 1, cacheTimeout: -1 },
  );
}
