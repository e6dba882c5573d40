/**
 * A private proof-of-authority network of geth 1.13 Clique signers on 127.0.0.1, for
 * `npm run poa:up` / `poa:down` and the PoA fault test.
 *
 * Layout of `dir` (default `.gridledger/poa`, git-ignored):
 *   genesis.json            Clique, London rules (every fork up to london at block 0, nothing later)
 *   state.json              keys, ports and the pids of the running nodes (mode 0600: dev keys)
 *   poa.env                 the values the `poa` Hardhat network and the daemons read
 *   node<i>/                datadir: keystore, password.txt, config.toml (P2P), geth.log
 *
 * Node i (0-based) listens on HTTP basePort+i, P2P basePort+10+i and auth RPC basePort+20+i,
 * all on 127.0.0.1; discovery is off and every node lists the others as static peers (they
 * re-dial after a restart). Each node unlocks its signer key from its own password file.
 */
import { ChildProcess, execFileSync, spawn } from "node:child_process";
import * as crypto from "node:crypto";
import * as fs from "node:fs";
import * as net from "node:net";
import * as path from "node:path";
import { SigningKey, Wallet, getAddress } from "ethers";

export interface PoaOptions {
  /** Data directory of the network. */
  dir: string;
  /** geth 1.13.x binary. */
  geth: string;
  chainId: number;
  /** First HTTP port; see the file header for the others. */
  basePort: number;
  /** Clique block period in seconds. */
  periodSeconds: number;
  nodes: number;
  log?: (message: string) => void;
}

export const DEFAULT_POA: Omit<PoaOptions, "geth"> = {
  dir: path.resolve(__dirname, "../../.gridledger/poa"),
  chainId: 1337,
  basePort: 28545,
  periodSeconds: 2,
  nodes: 3,
};

export interface NodeState {
  index: number;
  /** The node's Clique signer (also its etherbase). */
  signer: string;
  signerKey: string;
  nodeKey: string;
  enode: string;
  datadir: string;
  httpPort: number;
  p2pPort: number;
  authPort: number;
  url: string;
  pid?: number;
}

export interface PoaState {
  chainId: number;
  periodSeconds: number;
  geth: string;
  dir: string;
  /** Prefunded in the genesis: the deployer first, then spare accounts (dev keys). */
  funded: { address: string; key: string }[];
  nodes: NodeState[];
}

export class PoaError extends Error {
  override name = "PoaError";
}

const PREFUND_WEI = 10n ** 30n;

const statePath = (dir: string) => path.join(dir, "state.json");

export function readState(dir: string): PoaState | undefined {
  const p = statePath(dir);
  return fs.existsSync(p) ? (JSON.parse(fs.readFileSync(p, "utf8")) as PoaState) : undefined;
}

function writeState(state: PoaState): void {
  fs.writeFileSync(statePath(state.dir), JSON.stringify(state, null, 2) + "\n", { mode: 0o600 });
}

/** One JSON-RPC call over HTTP (fetch), failing fast. */
export async function rpc<T = unknown>(url: string, method: string, params: unknown[] = [], timeoutMs = 3000): Promise<T> {
  const res = await fetch(url, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ jsonrpc: "2.0", id: 1, method, params }),
    signal: AbortSignal.timeout(timeoutMs),
  });
  const body = (await res.json()) as { result?: T; error?: { message: string } };
  if (body.error) throw new PoaError(`${method} on ${url}: ${body.error.message}`);
  return body.result as T;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

export async function portFree(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = net.createServer();
    s.once("error", () => resolve(false));
    s.listen(port, "127.0.0.1", () => s.close(() => resolve(true)));
  });
}

/** Whether `pid` is a live geth process of `datadir` (so a recycled pid is never signalled). */
export function isOurNode(pid: number | undefined, datadir: string): boolean {
  if (!pid) return false;
  try {
    process.kill(pid, 0);
  } catch {
    return false;
  }
  try {
    const cmd = fs.readFileSync(`/proc/${pid}/cmdline`, "utf8").split("\0");
    return cmd.some((a) => /geth$/.test(a)) && cmd.includes(datadir);
  } catch {
    return true; // no /proc (macOS): trust the pid we recorded
  }
}

function nodeLayout(o: PoaOptions, i: number, keys: { signerKey: string; nodeKey: string }): NodeState {
  const nodePub = SigningKey.computePublicKey(keys.nodeKey, false).slice(4); // 64 bytes, no 0x04
  const httpPort = o.basePort + i;
  const p2pPort = o.basePort + 10 + i;
  return {
    index: i,
    signer: new Wallet(keys.signerKey).address,
    signerKey: keys.signerKey,
    nodeKey: keys.nodeKey,
    enode: `enode://${nodePub}@127.0.0.1:${p2pPort}`,
    datadir: path.join(o.dir, `node${i}`),
    httpPort,
    p2pPort,
    authPort: o.basePort + 20 + i,
    url: `http://127.0.0.1:${httpPort}`,
  };
}

/** The Clique genesis: London rules from block 0, the signers (sorted) in extraData, prefunded accounts. */
export function cliqueGenesis(chainId: number, periodSeconds: number, signers: string[], funded: string[]): object {
  const sorted = [...signers].map((s) => getAddress(s).toLowerCase().slice(2)).sort();
  return {
    config: {
      chainId,
      homesteadBlock: 0,
      eip150Block: 0,
      eip155Block: 0,
      eip158Block: 0,
      byzantiumBlock: 0,
      constantinopleBlock: 0,
      petersburgBlock: 0,
      istanbulBlock: 0,
      muirGlacierBlock: 0,
      berlinBlock: 0,
      londonBlock: 0,
      clique: { period: periodSeconds, epoch: 30000 },
    },
    difficulty: "0x1",
    gasLimit: "0x1c9c380", // 30M, the block limit the market's paging is sized for
    extradata: "0x" + "00".repeat(32) + sorted.join("") + "00".repeat(65),
    alloc: Object.fromEntries(funded.map((a) => [a.toLowerCase().slice(2), { balance: "0x" + PREFUND_WEI.toString(16) }])),
  };
}

function run(geth: string, args: string[]): void {
  try {
    execFileSync(geth, args, { stdio: ["ignore", "pipe", "pipe"] });
  } catch (e) {
    const err = e as { stderr?: Buffer; message: string };
    throw new PoaError(`geth ${args[0]} failed: ${err.stderr?.toString().trim().split("\n").slice(-3).join(" / ") ?? err.message}`);
  }
}

/** Creates keys, genesis and initialised datadirs (once; an existing network is reused). */
export function initNetwork(o: PoaOptions): PoaState {
  const existing = readState(o.dir);
  if (existing) return { ...existing, geth: o.geth };
  fs.mkdirSync(o.dir, { recursive: true, mode: 0o700 });
  const rand = () => "0x" + crypto.randomBytes(32).toString("hex");
  const nodes = Array.from({ length: o.nodes }, (_, i) => nodeLayout(o, i, { signerKey: rand(), nodeKey: rand() }));
  const funded = Array.from({ length: 3 }, () => {
    const w = Wallet.createRandom();
    return { address: w.address, key: w.privateKey };
  });
  const genesisFile = path.join(o.dir, "genesis.json");
  fs.writeFileSync(genesisFile, JSON.stringify(cliqueGenesis(o.chainId, o.periodSeconds, nodes.map((n) => n.signer), funded.map((f) => f.address)), null, 2));
  o.log?.(`generating ${o.nodes} signer nodes in ${o.dir}`);
  for (const n of nodes) {
    fs.mkdirSync(path.join(n.datadir, "geth"), { recursive: true, mode: 0o700 });
    const pw = path.join(n.datadir, "password.txt");
    fs.writeFileSync(pw, crypto.randomBytes(18).toString("base64") + "\n", { mode: 0o600 });
    const keyFile = path.join(n.datadir, "signer.key");
    fs.writeFileSync(keyFile, n.signerKey.slice(2), { mode: 0o600 });
    try {
      run(o.geth, ["account", "import", "--datadir", n.datadir, "--password", pw, "--lightkdf", keyFile]);
    } finally {
      fs.rmSync(keyFile, { force: true });
    }
    fs.writeFileSync(path.join(n.datadir, "geth", "nodekey"), n.nodeKey.slice(2), { mode: 0o600 });
    const peers = nodes.filter((p) => p !== n).map((p) => JSON.stringify(p.enode));
    fs.writeFileSync(
      path.join(n.datadir, "config.toml"),
      `[Node.P2P]\nNoDiscovery = true\nListenAddr = "127.0.0.1:${n.p2pPort}"\nStaticNodes = [${peers.join(", ")}]\n`,
    );
    run(o.geth, ["init", "--datadir", n.datadir, genesisFile]);
  }
  const state: PoaState = { chainId: o.chainId, periodSeconds: o.periodSeconds, geth: o.geth, dir: o.dir, funded, nodes };
  writeState(state);
  return state;
}

function gethArgs(state: PoaState, n: NodeState): string[] {
  return [
    "--config", path.join(n.datadir, "config.toml"),
    "--datadir", n.datadir,
    "--networkid", String(state.chainId),
    "--syncmode", "full",
    "--nodiscover", "--nat", "none", "--maxpeers", "10",
    "--http", "--http.addr", "127.0.0.1", "--http.port", String(n.httpPort),
    "--http.api", "eth,net,web3,clique,txpool",
    "--authrpc.addr", "127.0.0.1", "--authrpc.port", String(n.authPort),
    // geth refuses to unlock an account while an HTTP endpoint is open unless told so; the
    // endpoint is bound to 127.0.0.1 and the signers hold no funds.
    "--unlock", n.signer, "--password", path.join(n.datadir, "password.txt"), "--allow-insecure-unlock",
    "--mine", "--miner.etherbase", n.signer,
    "--verbosity", "3",
  ];
}

/** Starts node `i` (detached; logs in its datadir/geth.log) and waits for its RPC. */
export async function startNode(state: PoaState, i: number, log?: (m: string) => void): Promise<void> {
  const n = state.nodes[i];
  if (isOurNode(n.pid, n.datadir)) throw new PoaError(`node ${i} is already running (pid ${n.pid})`);
  for (const port of [n.httpPort, n.p2pPort, n.authPort]) {
    if (!(await portFree(port))) {
      throw new PoaError(`port ${port} on 127.0.0.1 (node ${i}) is in use: stop what holds it (ss -ltnp 'sport = :${port}') or choose other ports with --base-port`);
    }
  }
  const logFile = path.join(n.datadir, "geth.log");
  const fd = fs.openSync(logFile, "a");
  let child: ChildProcess;
  try {
    child = spawn(state.geth, gethArgs(state, n), { detached: true, stdio: ["ignore", fd, fd] });
  } finally {
    fs.closeSync(fd);
  }
  let exited: string | undefined;
  child.on("exit", (code, sig) => (exited = `exited with ${sig ?? `code ${code}`}`));
  child.on("error", (e) => (exited = e.message));
  child.unref();
  n.pid = child.pid;
  writeState(state);
  log?.(`node ${i}: pid ${n.pid}, signer ${n.signer}, ${n.url}`);
  const deadline = Date.now() + 60_000;
  for (;;) {
    if (exited) {
      n.pid = undefined;
      writeState(state);
      const tail = fs.readFileSync(logFile, "utf8").trim().split("\n").slice(-5).join("\n  ");
      throw new PoaError(`node ${i} failed to start (${exited}); last lines of ${logFile}:\n  ${tail}`);
    }
    try {
      await rpc(n.url, "eth_blockNumber", [], 1000);
      return;
    } catch {
      if (Date.now() > deadline) throw new PoaError(`node ${i} did not open its RPC ${n.url} within 60 s (see ${logFile})`);
      await sleep(250);
    }
  }
}

/** Stops node `i` (SIGTERM, then SIGKILL after 20 s) if it is ours and running. */
export async function stopNode(state: PoaState, i: number): Promise<boolean> {
  const n = state.nodes[i];
  if (!isOurNode(n.pid, n.datadir)) {
    n.pid = undefined;
    writeState(state);
    return false;
  }
  const pid = n.pid!;
  process.kill(pid, "SIGTERM");
  const deadline = Date.now() + 20_000;
  while (isOurNode(pid, n.datadir)) {
    if (Date.now() > deadline) {
      process.kill(pid, "SIGKILL");
      await sleep(200);
      break;
    }
    await sleep(100);
  }
  n.pid = undefined;
  writeState(state);
  return true;
}

/** Heads of the running nodes (url -> block number). */
export async function heads(state: PoaState, which = state.nodes): Promise<number[]> {
  return Promise.all(which.map(async (n) => Number(await rpc<string>(n.url, "eth_blockNumber"))));
}

/**
 * Waits until every node in `which` has its peers, is past `minHeight`, and all agree on the
 * hash of a common block. Returns that block number.
 */
export async function waitForAgreement(state: PoaState, opts: { which?: NodeState[]; minHeight?: number; timeoutMs?: number } = {}): Promise<number> {
  const which = opts.which ?? state.nodes;
  const deadline = Date.now() + (opts.timeoutMs ?? 90_000);
  let last = "";
  for (;;) {
    try {
      const hs = await heads(state, which);
      const common = Math.min(...hs);
      const peers = await Promise.all(which.map(async (n) => Number(await rpc<string>(n.url, "net_peerCount"))));
      const hashes = await Promise.all(which.map(async (n) => (await rpc<{ hash: string }>(n.url, "eth_getBlockByNumber", ["0x" + common.toString(16), false])).hash));
      last = `heads ${hs.join("/")}, peers ${peers.join("/")}`;
      if (common >= (opts.minHeight ?? 1) && new Set(hashes).size === 1 && peers.every((p) => p >= which.length - 1)) return common;
    } catch (e) {
      last = (e as Error).message;
    }
    if (Date.now() > deadline) throw new PoaError(`the nodes did not agree on a head within ${(opts.timeoutMs ?? 90_000) / 1000} s (${last})`);
    await sleep(500);
  }
}

/** The `.env` values of the `poa` network and the daemons. */
export function envValues(state: PoaState): Record<string, string> {
  const urls = state.nodes.map((n) => n.url).join(",");
  return {
    GRIDLEDGER_NETWORK: "poa",
    POA_RPC_URL: urls,
    POA_CHAIN_ID: String(state.chainId),
    POA_DEPLOYER_KEY: state.funded[0].key,
    GRIDLEDGER_RPC_URL: urls,
  };
}

export function writeEnvFile(file: string, values: Record<string, string>, header: string): void {
  const body = Object.entries(values).map(([k, v]) => `${k}=${v}`).join("\n");
  fs.writeFileSync(file, `${header}\n${body}\n`, { mode: 0o600 });
}

/** Sets `values` in an existing `.env` (replacing those keys, keeping every other line). */
export function mergeEnvFile(file: string, values: Record<string, string>): void {
  const lines = fs.existsSync(file) ? fs.readFileSync(file, "utf8").split("\n") : [];
  const kept = lines.filter((l) => !Object.keys(values).some((k) => l.startsWith(`${k}=`)));
  while (kept.length && kept[kept.length - 1] === "") kept.pop();
  fs.writeFileSync(file, [...kept, ...Object.entries(values).map(([k, v]) => `${k}=${v}`)].join("\n") + "\n", { mode: 0o600 });
}

/**
 * Starts the whole network and waits for agreement; on any failure stops what it started and
 * rethrows. The network's state (with pids) is in `dir/state.json`.
 */
export async function upNetwork(o: PoaOptions): Promise<PoaState> {
  const prior = readState(o.dir);
  const running = prior?.nodes.filter((n) => isOurNode(n.pid, n.datadir)) ?? [];
  if (running.length) {
    throw new PoaError(`the network in ${o.dir} is already running (pids ${running.map((n) => n.pid).join(", ")}): npm run poa:down first`);
  }
  // Ports first, so that a clash leaves nothing behind; an existing network keeps its ports.
  const ports = prior
    ? prior.nodes.flatMap((n) => [n.httpPort, n.p2pPort, n.authPort])
    : Array.from({ length: o.nodes }, (_, i) => [o.basePort + i, o.basePort + 10 + i, o.basePort + 20 + i]).flat();
  const busy: number[] = [];
  for (const p of ports) if (!(await portFree(p))) busy.push(p);
  if (busy.length) {
    throw new PoaError(
      `ports in use on 127.0.0.1: ${busy.join(", ")}. Stop what holds them, or choose other ports ` +
        (prior ? `(this network in ${o.dir} keeps its ports: npm run poa:down -- --wipe, then poa:up --base-port N)` : "(--base-port N)"),
    );
  }
  const state = initNetwork(o);
  try {
    for (let i = 0; i < state.nodes.length; i++) await startNode(state, i, o.log);
    o.log?.("waiting for the nodes to peer and agree on a head...");
    const h = await waitForAgreement(state, { minHeight: 2 });
    o.log?.(`all ${state.nodes.length} nodes agree on block ${h}`);
  } catch (e) {
    await downNetwork(state);
    throw e;
  }
  return state;
}

/** Stops every node of the network that is still running; `wipe` also removes the data. */
export async function downNetwork(state: PoaState, wipe = false): Promise<number[]> {
  const stopped: number[] = [];
  for (let i = 0; i < state.nodes.length; i++) {
    const pid = state.nodes[i].pid;
    if (await stopNode(state, i)) stopped.push(pid!);
  }
  if (wipe) fs.rmSync(state.dir, { recursive: true, force: true });
  return stopped;
}

/** The signer of block `n` as the node's Clique engine sees it. */
export async function blockSigner(url: string, n: number): Promise<string> {
  return getAddress(await rpc<string>(url, "clique_getSigner", ["0x" + n.toString(16)]));
}
