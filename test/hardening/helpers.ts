/**
 * Shared code of the hardening campaigns (issue 10, campaigns 1-4): the short/long switch, a
 * seeded random source, a community onboarded on a `npx hardhat node` over JSON-RPC, the
 * oracle's and keeper's environments, their /healthz and /metrics, and a TCP relay in front of
 * the node that can go down and come back (the RPC outage).
 *
 * Short forms run in `npm test`; `GRIDLEDGER_HARDEN=long` (what `npm run harden -- <name>` sets)
 * selects the long forms of the issue.
 */
import { mulberry32 } from "../../src/sim/random";
import * as fs from "node:fs";
import * as net from "node:net";
import * as path from "node:path";
import { Contract, Interface, JsonRpcProvider, NonceManager, Wallet, id, keccak256, toUtf8Bytes } from "ethers";
import { writeKeystore } from "../../src/oracle/keystore";
import { METER_READINGS_ABI } from "../../src/oracle/abi";
import { hardhatAccount } from "../oracle/chain";
import { waitFor } from "../oracle/helpers";
import type { HardhatNode } from "../helpers/node";

export const LONG = process.env.GRIDLEDGER_HARDEN === "long";
/** The short form's value in `npm test`, the long form's under GRIDLEDGER_HARDEN=long. */
export const pick = <T>(short: T, long: T): T => (LONG ? long : short);
/**
 * The campaign's seed: GRIDLEDGER_HARDEN_SEED, or a fresh one from the clock; every campaign
 * prints it first, so a failure replays with GRIDLEDGER_HARDEN_SEED=<seed>. Every random choice
 * of a campaign derives from it (no unseeded draw).
 */
export const SEED = seedFrom(process.env.GRIDLEDGER_HARDEN_SEED, () => Date.now() % 2 ** 31);

/** `raw` as a seed (a non-negative safe integer), or `fresh()` when unset; anything else is an error. */
export function seedFrom(raw: string | undefined, fresh: () => number): number {
  if (raw === undefined || raw.trim() === "") return fresh();
  const n = Number(raw);
  if (!Number.isSafeInteger(n) || n < 0) throw new Error(`seed "${raw}": expected a non-negative integer`);
  return n;
}

/** A small seeded PRNG, uniform in [0, 1): the simulator's mulberry32. */
export const prng = mulberry32;

export const PASSWORD = "hardening-password";
export const ADMIN = hardhatAccount(0);
/** The gateway key that signs every meter's readings. */
export const GATEWAY = hardhatAccount(5);
export const meterKey = (i: number) => `hh-${String(i).padStart(5, "0")}`;
export const meterIdOf = (i: number) => id(`meter:${meterKey(i)}`).toLowerCase();
export const memberWallet = (i: number, provider?: JsonRpcProvider) => new Wallet(keccak256(toUtf8Bytes(`gridledger:harden:${i}`)), provider);

/**
 * Onboards households 0..n-1 (even: prosumer, odd: consumer) with one meter each, signed by
 * GATEWAY, in multicall batches of 50 (two calls per household; ~260k gas a household since
 * issue 16: the registration also writes MeterReadings' copy of the meter and a position index).
 */
export async function onboard(
  node: HardhatNode,
  n: number,
  maxPowerW = 100_000,
  registers: (k: number) => [bigint, bigint] = () => [0n, 0n],
): Promise<NonceManager> {
  const admin = new NonceManager(ADMIN.connect(node.provider));
  const registry = new Contract(node.record("CommunityRegistry").address, node.record("CommunityRegistry").abi, admin);
  const iface = registry.interface;
  const sent = [];
  for (let i = 0; i < n; i += 50) {
    const calls: string[] = [];
    for (let k = i; k < Math.min(n, i + 50); k++) {
      calls.push(iface.encodeFunctionData("onboardMember", [memberWallet(k).address, k % 2 === 0 ? 2 : 1, id(`identity:${meterKey(k)}`)]));
      calls.push(iface.encodeFunctionData("registerMeter", [meterIdOf(k), memberWallet(k).address, GATEWAY.address, maxPowerW, 1, ...registers(k)]));
    }
    sent.push(await registry.multicall(calls, { gasLimit: 25_000_000 }));
  }
  for (const tx of sent) expectOk(await tx.wait(), "onboarding");
  const readings = new Contract(node.record("MeterReadings").address, node.record("MeterReadings").abi, admin);
  await (await readings.setReadingDeadlineSeconds(30 * 86_400)).wait();
  return admin;
}

export function expectOk(receipt: { status: number | null } | null, what: string): void {
  if (!receipt || receipt.status !== 1) throw new Error(`${what}: transaction failed`);
}

/** The oracle's keystore (submitter = ADMIN, gateway = GATEWAY) and meter file in `work`. */
export async function oracleFiles(work: string, n: number): Promise<{ keys: string; meters: string }> {
  const keys = path.join(work, "keys");
  if (!fs.existsSync(keys)) {
    await writeKeystore(keys, ADMIN, PASSWORD, true);
    await writeKeystore(keys, GATEWAY, PASSWORD, true);
  }
  const meters = path.join(work, "meters.json");
  fs.writeFileSync(meters, JSON.stringify(Array.from({ length: n }, (_, i) => ({ meterKey: meterKey(i), meterId: meterIdOf(i) }))));
  return { keys, meters };
}

/** Environment of `gridledger oracle` against `rpcUrl` with its outbox at `db`. */
export function oracleEnv(o: { node: HardhatNode; rpcUrl?: string; work: string; db: string; httpPort: number; extra?: NodeJS.ProcessEnv }): NodeJS.ProcessEnv {
  return {
    LOG_LEVEL: process.env.GRIDLEDGER_TEST_DAEMON_LOG ?? "warn",
    GRIDLEDGER_NETWORK: "localhost",
    GRIDLEDGER_DEPLOYMENTS_DIR: o.node.deploymentsDir,
    GRIDLEDGER_RPC_URL: o.rpcUrl ?? o.node.rpcUrl,
    GRIDLEDGER_ORACLE_CHAIN_ID: "31337",
    GRIDLEDGER_ORACLE_DB: o.db,
    GRIDLEDGER_ORACLE_KEYSTORE_DIR: path.join(o.work, "keys"),
    GRIDLEDGER_ORACLE_KEYSTORE_PASSWORD: PASSWORD,
    GRIDLEDGER_ORACLE_SUBMITTER: ADMIN.address,
    GRIDLEDGER_ORACLE_GATEWAY: GATEWAY.address,
    GRIDLEDGER_ORACLE_METERS: `@${path.join(o.work, "meters.json")}`,
    GRIDLEDGER_ORACLE_HTTP_PORT: String(o.httpPort),
    GRIDLEDGER_ORACLE_POLL_MS: "100",
    GRIDLEDGER_ORACLE_BOUNDARY_GRACE_SECONDS: "0",
    ...o.extra,
  };
}

/** `{status, body}` of GET /healthz, or undefined when nothing answers. */
export async function healthz(port: number): Promise<{ status: number; body: Record<string, unknown> } | undefined> {
  try {
    const res = await fetch(`http://127.0.0.1:${port}/healthz`, { signal: AbortSignal.timeout(5000) });
    return { status: res.status, body: (await res.json()) as Record<string, unknown> };
  } catch {
    return undefined;
  }
}

/**
 * The sum of a Prometheus metric's samples whose labels contain `labels` (e.g. `step="submit"`).
 * Throws when the daemon does not declare the metric at all (a renamed or removed series must
 * fail, not read as 0); a declared labelled metric with no matching sample yet is 0.
 */
export async function metric(port: number, name: string, labels = ""): Promise<number> {
  const text = await (await fetch(`http://127.0.0.1:${port}/metrics`, { signal: AbortSignal.timeout(5000) })).text();
  return sumMetric(text, name, labels, port);
}

/** `metric` on an exposition text already fetched. */
export function sumMetric(text: string, name: string, labels = "", port?: number): number {
  if (!text.split("\n").some((l) => l.startsWith(`# TYPE ${name} `))) {
    throw new Error(`the metric ${name} is not exported${port === undefined ? "" : ` on port ${port}`} (renamed or removed?)`);
  }
  let sum = 0;
  for (const line of text.split("\n")) {
    if (!line.startsWith(name)) continue;
    const m = /^([a-z_]+)(\{[^}]*\})? ([-0-9.e+]+)$/.exec(line);
    if (!m || m[1] !== name || (labels && !(m[2] ?? "").includes(labels))) continue;
    sum += Number(m[3]);
  }
  return sum;
}

const readingsIface = new Interface(METER_READINGS_ABI);

/** Every ReadingAccepted and ReadingRejected event of `readings` from block `fromBlock`. */
export async function readingEvents(provider: JsonRpcProvider, readings: string, fromBlock = 0) {
  const topics = [[readingsIface.getEvent("ReadingAccepted")!.topicHash, readingsIface.getEvent("ReadingRejected")!.topicHash]];
  const logs = await provider.getLogs({ address: readings, topics, fromBlock, toBlock: "latest" });
  const accepted: { meterId: string; interval: number; importWhTotal: bigint; exportWhTotal: bigint }[] = [];
  const rejected: { meterId: string; interval: number; reason: number }[] = [];
  for (const l of logs) {
    const e = readingsIface.parseLog(l)!;
    if (e.name === "ReadingAccepted") accepted.push({ meterId: (e.args.meterId as string).toLowerCase(), interval: Number(e.args.interval), importWhTotal: e.args.importWhTotal, exportWhTotal: e.args.exportWhTotal });
    else rejected.push({ meterId: (e.args.meterId as string).toLowerCase(), interval: Number(e.args.interval), reason: Number(e.args.reason) });
  }
  return { accepted, rejected };
}

/**
 * A TCP relay on a port of its own to `target`: daemons talk to the node through it, and
 * `down()` closes the listener and every connection (clients get connection refused / reset, as
 * from a node that stopped) until `up()` listens on the same port again.
 */
export class TcpRelay {
  private server?: net.Server;
  private readonly sockets = new Set<net.Socket>();
  constructor(readonly port: number, private readonly target: number) {}

  get url(): string {
    return `http://127.0.0.1:${this.port}`;
  }

  async up(): Promise<void> {
    const server = net.createServer((client) => {
      const upstream = net.connect(this.target, "127.0.0.1");
      for (const s of [client, upstream]) {
        this.sockets.add(s);
        s.on("close", () => this.sockets.delete(s));
        s.on("error", () => {
          client.destroy();
          upstream.destroy();
        });
      }
      client.pipe(upstream);
      upstream.pipe(client);
    });
    await new Promise<void>((resolve, reject) => {
      server.once("error", reject);
      server.listen(this.port, "127.0.0.1", () => resolve());
    });
    this.server = server;
  }

  async down(): Promise<void> {
    const s = this.server;
    this.server = undefined;
    for (const sock of this.sockets) sock.destroy();
    if (s) await new Promise<void>((r) => s.close(() => r()));
  }
}

export { waitFor };
