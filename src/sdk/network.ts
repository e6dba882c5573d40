/**
 * Which chain a client talks to: `hardhat` (the embedded, in-process chain), `localhost`
 * (`npx hardhat node`, LOCALHOST_RPC_URL) or `poa` (a private proof-of-authority chain,
 * POA_RPC_URL, possibly several comma-separated nodes that the provider fails over between).
 * GRIDLEDGER_RPC_URL, when set, overrides the network's URL(s) for every command and daemon.
 * The name comes from the caller (`--network`) or GRIDLEDGER_NETWORK (`.env`).
 */
import {
  FetchRequest,
  JsonRpcProvider,
  Network,
  type JsonRpcApiProviderOptions,
  type JsonRpcPayload,
  type JsonRpcResult,
  type Networkish,
  type Provider,
} from "ethers";
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
  // One override for every command and daemon (the oracle's config reads the same variable):
  // GRIDLEDGER_RPC_URL, when set, replaces the network's URL(s).
  const override = (env.GRIDLEDGER_RPC_URL ?? "")
    .split(",")
    .map((u) => u.trim())
    .filter(Boolean);
  if (name !== "hardhat" && override.length) {
    cfg.urls = override;
    problems.splice(0, problems.length, ...problems.filter((p) => !p.startsWith("POA_RPC_URL")));
  }
  for (const u of cfg.urls) {
    if (!/^(https?|wss?):\/\//.test(u)) problems.push(`RPC URL "${u}" of network ${name}: must start with http://, https://, ws:// or wss://`);
  }
  if (problems.length) throw new ConfigError(problems);
  return cfg;
}

/**
 * A provider for the network. One URL: a `JsonRpcProvider` with a static network (no
 * detection loop when the node is down). Several: a `FailoverJsonRpcProvider` that talks to
 * one node at a time and moves to the next when a request cannot reach it. (ethers'
 * `FallbackProvider` with quorum 1 does not do that: a node that dies after start-up answers
 * with its connection error, which counts as the quorum's answer, so the call fails.)
 * The embedded chain cannot be reached from another process: pass `embedded` (for example
 * `hre.ethers.provider` in a test) or get a `ConfigError` saying what to do instead.
 */
export function makeProvider(cfg: NetworkConfig, embedded?: Provider): Provider {
  if (cfg.name === "hardhat") {
    if (embedded) return embedded;
    throw new ConfigError([EMBEDDED_CHAIN_MESSAGE]);
  }
  const network = new Network(cfg.name, cfg.chainId);
  // No response cache (cacheTimeout -1): two transactions in a row must each see the fresh
  // pending nonce, not one cached for 250 ms.
  const options = { staticNetwork: network, polling: true, pollingInterval: 250, cacheTimeout: -1 };
  if (cfg.urls.length === 1) return new JsonRpcProvider(cfg.urls[0], network, options);
  return new FailoverJsonRpcProvider(cfg.urls, network, options);
}

/**
 * A JSON-RPC provider over several nodes of one chain. Every request goes to the current node;
 * when it cannot be reached (connection refused, timeout, HTTP error) the same request goes to
 * the next node, which becomes the current one. JSON-RPC errors (a revert, "nonce too low")
 * are answers, not failures, and are never retried elsewhere. Staying on one node keeps nonces,
 * receipts and logs consistent, and keeps a node that has just restarted (and may still be
 * syncing) out of the way until the current one fails.
 */
export class FailoverJsonRpcProvider extends JsonRpcProvider {
  readonly urls: readonly string[];
  private current = 0;
  /** Highest block number any node has reported: a node taken over from must reach it first. */
  private highestBlock = -1;

  constructor(
    urls: string[],
    network?: Networkish,
    options: JsonRpcApiProviderOptions = {},
    /** Per attempt; a node that hangs is given up after this long. */
    readonly attemptTimeoutMs = 15_000,
  ) {
    if (urls.length === 0) throw new ConfigError(["RPC URLs: at least one is needed"]);
    // One request per HTTP call, so that a transaction is recognisable and sent to every node.
    super(urls[0], network, { ...options, batchMaxCount: 1 });
    this.urls = [...urls];
  }

  /** The URL requests currently go to. */
  get currentUrl(): string {
    return this.urls[this.current];
  }

  private async post(i: number, payload: unknown, timeoutMs = this.attemptTimeoutMs): Promise<JsonRpcResult[]> {
    const request = new FetchRequest(this.urls[i]);
    request.timeout = timeoutMs;
    request.body = JSON.stringify(payload);
    request.setHeader("content-type", "application/json");
    const response = await request.send();
    response.assertOk();
    // Error objects come back in the same list (ethers' own _send types them the same way).
    const body = response.bodyJson as JsonRpcResult | JsonRpcResult[];
    return Array.isArray(body) ? body : [body];
  }

  /** After a failover: waits (a few blocks at most) until node `i` has caught up with what was seen. */
  private async catchUp(i: number): Promise<void> {
    const deadline = Date.now() + 10_000;
    while (this.highestBlock >= 0 && Date.now() < deadline) {
      const [r] = await this.post(i, { jsonrpc: "2.0", id: 0, method: "eth_blockNumber", params: [] }, 2_000);
      if (r.result !== undefined && Number(r.result) >= this.highestBlock) return;
      await new Promise((res) => setTimeout(res, 250));
    }
  }

  override async _send(payload: JsonRpcPayload | JsonRpcPayload[]): Promise<JsonRpcResult[]> {
    const one = Array.isArray(payload) ? (payload.length === 1 ? payload[0] : undefined) : payload;
    let lastError: unknown;
    for (let k = 0; k < this.urls.length; k++) {
      const i = (this.current + k) % this.urls.length;
      try {
        if (k > 0) await this.catchUp(i);
        const result = await this.post(i, payload);
        if (one?.method === "eth_sendRawTransaction" && result[0]?.result !== undefined) {
          // Then to every other node (after: the current node must not hear it from a peer first and
          // answer "already known"): a transaction only one node holds is lost if that node dies.
          for (let j = 0; j < this.urls.length; j++) if (j !== i) void this.post(j, payload).catch(() => undefined);
        }
        if (one?.method === "eth_blockNumber" && result[0]?.result !== undefined) {
          this.highestBlock = Math.max(this.highestBlock, Number(result[0].result));
        }
        this.current = i;
        return result;
      } catch (e) {
        lastError = e;
      }
    }
    throw lastError;
  }
}
