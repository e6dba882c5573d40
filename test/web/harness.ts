/**
 * What the web e2e test and `web/scripts/screenshots.ts` share: a `npx hardhat node` on a free
 * 127.0.0.1 port with its deployment records in a temporary folder, the app built into that
 * folder and served by a small static server, Debian's Chromium driven by `playwright-core`
 * (from web/node_modules; never a downloaded browser), an injected EIP-1193 test wallet that
 * forwards to the node's unlocked accounts, and a scripted community (members, meters,
 * readings, orders, keeper) driven through the contracts.
 */
import { ChildProcess, execFileSync, spawn } from "node:child_process";
import * as fs from "node:fs";
import * as http from "node:http";
import * as net from "node:net";
import * as os from "node:os";
import * as path from "node:path";
import { JsonRpcProvider, JsonRpcSigner, Wallet, id } from "ethers";
import {
  CommunityCredit__factory,
  CommunityRegistry__factory,
  EnergyMarket__factory,
  MeterReadings__factory,
} from "../../typechain-types";
import type { CommunityCredit, CommunityRegistry, EnergyMarket, MeterReadings } from "../../typechain-types";
import { READING_TYPES, readingsDomain, signedReading } from "../../src/sdk/eip712";
import { ROLES } from "../../src/sdk/roles";
import { KeeperContracts, settleInterval } from "../../src/keeper/interval";

export const ROOT = path.resolve(__dirname, "..", "..");
export const WEB = path.join(ROOT, "web");
export const CHROMIUM = process.env.GRIDLEDGER_CHROMIUM?.trim() || "/usr/bin/chromium";
export const CHROMIUM_ARGS = [
  "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-quic",
  "--no-first-run", "--disable-component-update", "--disable-sync",
];
export const CREDIT = 1_000_000n;

export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = net.createServer();
    s.listen(0, "127.0.0.1", () => {
      const port = (s.address() as net.AddressInfo).port;
      s.close(() => resolve(port));
    });
    s.on("error", reject);
  });
}

/** Why the web e2e cannot run here (no browser: a skip), or undefined when it can. */
export function missingPrerequisite(): string | undefined {
  if (!fs.existsSync(CHROMIUM)) return `${CHROMIUM} is missing`;
  return undefined;
}

/** The web project's own dependencies (vite, playwright-core) are a failure, not a skip. */
export function assertWebInstalled(): void {
  for (const dep of ["playwright-core", "vite"]) {
    if (!fs.existsSync(path.join(WEB, "node_modules", dep, "package.json"))) {
      throw new Error(`web/node_modules/${dep} is missing: run \`npm ci --prefix web\` (the web app is its own npm project)`);
    }
  }
}

export interface Node {
  proc: ChildProcess;
  rpcUrl: string;
  records: string;
  provider: JsonRpcProvider;
}

export async function startNode(tmp: string): Promise<Node> {
  const port = await freePort();
  const records = path.join(tmp, "deployments");
  const proc = spawn("npx", ["hardhat", "node", "--hostname", "127.0.0.1", "--port", String(port)], {
    cwd: ROOT,
    env: { ...process.env, GRIDLEDGER_DEPLOY_LOG: "0", GRIDLEDGER_DEPLOYMENTS_DIR: records },
    stdio: ["ignore", "pipe", "pipe"],
    detached: true, // own process group: stopNode ends npx and hardhat together
  });
  let log = "";
  await new Promise<void>((resolve, reject) => {
    const onData = (d: Buffer) => {
      log += d.toString();
      if (log.includes("Started HTTP and WebSocket JSON-RPC server")) resolve();
    };
    proc.stdout!.on("data", onData);
    proc.stderr!.on("data", onData);
    proc.on("exit", (code) => reject(new Error(`hardhat node exited with ${code}:\n${log}`)));
  });
  const rpcUrl = `http://127.0.0.1:${port}`;
  return { proc, rpcUrl, records, provider: new JsonRpcProvider(rpcUrl, 31337, { staticNetwork: true, pollingInterval: 200 }) };
}

export function stopNode(node?: Node): void {
  node?.provider.destroy();
  if (node?.proc.pid) {
    try {
      process.kill(-node.proc.pid, "SIGTERM");
    } catch {
      /* already gone */
    }
  }
}

/** Builds the app into `<tmp>/dist` with the node's deployment records; returns the folder. */
export function buildApp(tmp: string, node: Node): string {
  assertWebInstalled();
  const dist = path.join(tmp, "dist");
  execFileSync(process.execPath, [path.join(WEB, "node_modules", "vite", "bin", "vite.js"), "build", "--outDir", dist, "--emptyOutDir", "--logLevel", "warn"], { cwd: WEB, stdio: "pipe" });
  execFileSync(process.execPath, [path.join(WEB, "scripts", "deployments.mjs")], {
    cwd: WEB,
    stdio: "pipe",
    env: { ...process.env, GRIDLEDGER_DEPLOYMENTS_DIR: node.records, GRIDLEDGER_NETWORK: "localhost", GRIDLEDGER_WEB_RPC_URL: node.rpcUrl, GRIDLEDGER_WEB_DEPLOYMENTS_OUT: path.join(dist, "deployments.json") },
  });
  return dist;
}

const TYPES: Record<string, string> = { ".html": "text/html", ".js": "text/javascript", ".css": "text/css", ".json": "application/json", ".svg": "image/svg+xml" };

/** A static server for `dist` on a free 127.0.0.1 port. */
export async function serve(dist: string): Promise<{ url: string; close: () => Promise<void> }> {
  const server = http.createServer((req, res) => {
    const rel = decodeURIComponent((req.url ?? "/").split("?")[0]);
    let file = path.join(dist, rel === "/" ? "index.html" : rel);
    if (!file.startsWith(dist) || !fs.existsSync(file) || fs.statSync(file).isDirectory()) file = path.join(dist, "index.html");
    res.writeHead(200, { "content-type": TYPES[path.extname(file)] ?? "application/octet-stream", "cache-control": "no-store" });
    fs.createReadStream(file).pipe(res);
  });
  const port = await freePort();
  await new Promise<void>((r) => server.listen(port, "127.0.0.1", r));
  return {
    url: `http://127.0.0.1:${port}/`,
    close: () => new Promise<void>((r) => { server.closeAllConnections(); server.close(() => r()); }),
  };
}

// eslint-disable-next-line @typescript-eslint/no-explicit-any
export type PW = any;

export async function launchBrowser(tmp: string): Promise<PW> {
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const { chromium } = require(path.join(WEB, "node_modules", "playwright-core"));
  const userDataDir = fs.mkdtempSync(path.join(tmp, "chromium-"));
  // A persistent context gives the fresh user-data-dir; it doubles as the browser.
  return chromium.launchPersistentContext(userDataDir, {
    executablePath: CHROMIUM,
    headless: true,
    args: CHROMIUM_ARGS,
    acceptDownloads: true,
    viewport: { width: 1200, height: 900 },
  });
}

/**
 * The injected EIP-1193 wallet: `account` is an unlocked node account; requests go to the node,
 * accounts come from here. `window.__wallet.rejectNext = true` makes the next signature or
 * transaction fail as a person pressing "Reject" would (code 4001); `chainId` overrides the
 * reported chain (to show the wrong-network message).
 */
export function walletScript(rpcUrl: string, account: string, opts: { chainId?: number } = {}): string {
  return `(() => {
    const rpc = ${JSON.stringify(rpcUrl)}, account = ${JSON.stringify(account)}, fakeChain = ${JSON.stringify(opts.chainId ?? null)};
    let n = 0;
    const listeners = {};
    const state = { rejectNext: false, requests: [] };
    window.__wallet = state;
    window.ethereum = {
      isGridLedgerTestWallet: true,
      async request({ method, params }) {
        state.requests.push(method);
        if (method === "eth_requestAccounts" || method === "eth_accounts") return [account];
        if (method === "eth_chainId" && fakeChain) return "0x" + fakeChain.toString(16);
        if (method === "net_version" && fakeChain) return String(fakeChain);
        if ((method === "eth_sendTransaction" || method.startsWith("eth_signTypedData")) && state.rejectNext) {
          state.rejectNext = false;
          const e = new Error("User rejected the request."); e.code = 4001; throw e;
        }
        const res = await fetch(rpc, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify({ jsonrpc: "2.0", id: ++n, method, params: params ?? [] }) });
        const body = await res.json();
        if (body.error) { const e = new Error(body.error.message); e.code = body.error.code; e.data = body.error.data; throw e; }
        return body.result;
      },
      on(ev, f) { (listeners[ev] ??= []).push(f); },
      removeListener(ev, f) { listeners[ev] = (listeners[ev] ?? []).filter((g) => g !== f); },
    };
  })();`;
}

// ------------------------------------------------------------------ the community

export interface Community {
  provider: JsonRpcProvider;
  operator: JsonRpcSigner;
  registry: CommunityRegistry;
  credit: CommunityCredit;
  readings: MeterReadings;
  market: EnergyMarket;
  keeper: KeeperContracts;
  gateway: Wallet;
  meters: Map<string, { meterId: string; importWhTotal: bigint; exportWhTotal: bigint }>;
}

function record(node: Node, name: string): { address: string; receipt?: { blockNumber: number } } {
  return JSON.parse(fs.readFileSync(path.join(node.records, "localhost", `${name}.json`), "utf8"));
}

export async function community(node: Node): Promise<Community> {
  const provider = node.provider;
  const operator = await provider.getSigner(0);
  const registry = CommunityRegistry__factory.connect(record(node, "CommunityRegistry").address, operator);
  const credit = CommunityCredit__factory.connect(record(node, "CommunityCredit").address, operator);
  const readings = MeterReadings__factory.connect(record(node, "MeterReadings").address, operator);
  const mrec = record(node, "EnergyMarket");
  const market = EnergyMarket__factory.connect(mrec.address, operator);
  if (!(await registry.hasRole(ROLES.ISSUER_ROLE, operator.address))) await (await registry.grantRole(ROLES.ISSUER_ROLE, operator.address)).wait();
  const keeper: KeeperContracts = { registry, readings, market, fromBlock: mrec.receipt?.blockNumber ?? 0 };
  return { provider, operator, registry, credit, readings, market, keeper, gateway: new Wallet(id("gridledger web test gateway")), meters: new Map() };
}

/** Onboards `account` with one meter read by the community gateway, and mints it credits. */
export async function onboard(c: Community, account: string, name: string, prosumer: boolean, credits: bigint): Promise<void> {
  const meterId = id(`meter:${name}`);
  await (await c.registry.onboardMember(account, prosumer ? 2 : 1, id(`identity:${name}`))).wait();
  await (await c.registry.registerMeter(meterId, account, c.gateway.address, 20_000, 1, 100_000n, 50_000n)).wait();
  if (credits) await (await c.credit.mint(account, credits)).wait();
  c.meters.set(account.toLowerCase(), { meterId, importWhTotal: 100_000n, exportWhTotal: 50_000n });
}

/** Moves the node's clock into interval `t` (a few seconds after its start). */
export async function goToInterval(c: Community, t: number): Promise<void> {
  const start = Number(await c.readings.marketStart());
  const len = Number(await c.readings.intervalSeconds());
  const target = start + t * len + 5;
  const latest = (await c.provider.getBlock("latest"))!.timestamp;
  if (target > latest) await c.provider.send("evm_setNextBlockTimestamp", [target]);
  await c.provider.send("evm_mine", []);
}

/** Reads every meter for `t` (energy per member in Wh; others read zero), as the oracle would. */
export async function readInterval(c: Community, t: number, energy: Map<string, { importWh: bigint; exportWh: bigint }>): Promise<void> {
  const { chainId } = await c.provider.getNetwork();
  const domain = readingsDomain(chainId, await c.readings.getAddress());
  const batch = [];
  for (const [member, m] of c.meters) {
    const e = energy.get(member);
    if (e) {
      m.importWhTotal += e.importWh;
      m.exportWhTotal += e.exportWh;
    }
    const r = { meterId: m.meterId, interval: t, importWhTotal: m.importWhTotal, exportWhTotal: m.exportWhTotal };
    batch.push(signedReading(r, await c.gateway.signTypedData(domain, READING_TYPES, r)));
  }
  await (await c.readings.submitReadings(batch)).wait();
}

/** Runs the keeper over every interval up to and including `t` that is not cleared yet. */
export async function keeperUpTo(c: Community, t: number): Promise<void> {
  for (let i = Number(await c.market.nextInterval()); i <= t; i++) await settleInterval(c.keeper, i);
}
