/**
 * Oracle ingest into the durable outbox (the real `Outbox`, SQLite WAL with synchronous=FULL,
 * in a temporary directory on disk), two ways:
 * - `pipelineIngest`: register samples through `Pipeline.sample`, exactly as a source hands
 *   them over: validation, cursor, EIP-712 signature with the gateway key, one SQLite
 *   transaction per sample. Every sample lands on an interval boundary, so each one makes one
 *   signed reading.
 * - `outboxInsert`: the same outbox statements per reading (look-ups, INSERT, cursor upsert, one
 *   transaction each) with readings signed beforehand: the storage path alone.
 */
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { id, Wallet } from "ethers";
import { Outbox } from "../../src/oracle/outbox";
import { MeterInfo, Pipeline } from "../../src/oracle/pipeline";
import type { IngestResult, RawSample } from "../../src/oracle/types";
import { readingsDomain } from "../../src/sdk/eip712";
import { GroupCommit } from "../../src/oracle/groupcommit";
import { signerKind } from "../../src/oracle/signer";
import { SignerPool } from "../../src/oracle/signpool";

export interface IngestFigure {
  readings: number;
  batch?: number;
  meters: number;
  seconds: number;
  perSecond: number;
  medium: Medium;
}

/** Where the outbox file goes: "disk" (os.tmpdir(), fsync reaches the device) or "tmpfs" (/dev/shm, fsync is free). */
export type Medium = "disk" | "tmpfs";

function tmpDb(medium: Medium): { dir: string; file: string } {
  const base = medium === "tmpfs" && fs.existsSync("/dev/shm") ? "/dev/shm" : os.tmpdir();
  const dir = fs.mkdtempSync(path.join(base, "gridledger-bench-outbox-"));
  return { dir, file: path.join(dir, "oracle.sqlite") };
}

const MARKET_START = 1_764_374_400; // 2025-11-29 00:00 UTC
const INTERVAL = 900;

/**
 * `batch` = 1: one `Pipeline.sample` per sample (one SQLite commit each). `batch` > 1: the
 * samples of each group of `batch` meters go through `Pipeline.sampleBatch` together, as one
 * MQTT message or HTTP body would (one commit per group).
 */
export function pipelineIngest(readings: number, medium: Medium, meters = 1000, batch = 1): IngestFigure {
  const { dir, file } = tmpDb(medium);
  const gateway = new Wallet(id("gridledger:bench-gateway"));
  const intervals = Math.ceil(readings / meters);
  const now = MARKET_START + (intervals + 1) * INTERVAL;
  const outbox = new Outbox(file, () => now);
  const infos = new Map<string, MeterInfo>();
  for (let m = 0; m < meters; m++) {
    infos.set(`m${m}`, { meterKey: `m${m}`, meterId: id(`bench-meter:${m}`).toLowerCase(), signer: gateway.address, maxPowerW: 50_000, usable: true });
  }
  const pipeline = new Pipeline({
    outbox,
    meters: () => infos,
    timing: { marketStart: MARKET_START, intervalSeconds: INTERVAL },
    domain: readingsDomain(31337n, "0x" + "11".repeat(20)),
    keys: new Map([[gateway.address.toLowerCase(), gateway]]),
    gatewayAddress: gateway.address,
    now: () => now,
  });
  let n = 0;
  const t0 = process.hrtime.bigint();
  const check = (r: IngestResult, t: number, m: number) => {
    if (r.status !== "accepted" || r.readings !== 1) throw new Error(`bench sample ${t}/${m} not accepted: ${JSON.stringify(r)}`);
  };
  for (let t = 0; t < intervals && n < readings; t++) {
    const ts = MARKET_START + (t + 1) * INTERVAL;
    for (let m0 = 0; m0 < meters && n < readings; m0 += batch) {
      const samples: RawSample[] = [];
      for (let m = m0; m < Math.min(m0 + batch, meters) && n + samples.length < readings; m++) {
        samples.push({ source: "bench", meterKey: `m${m}`, timestamp: ts, importWhTotal: BigInt(1_000_000 + t * 300 + m), exportWhTotal: BigInt(500_000 + t * 200) });
      }
      if (batch === 1) check(pipeline.sample(samples[0]), t, m0);
      else pipeline.sampleBatch(samples).forEach((r, i) => check(r, t, m0 + i));
      n += samples.length;
    }
  }
  return finish(outbox, dir, t0, { readings, meters, medium, batch });
}

/** `batch` readings per SQLite transaction (1: one transaction per reading). */
export function outboxInsert(readings: number, medium: Medium, meters = 1000, batch = 1): IngestFigure {
  const { dir, file } = tmpDb(medium);
  const outbox = new Outbox(file, () => MARKET_START);
  const signature = "0x" + "ab".repeat(65);
  const signer = "0x" + "22".repeat(20);
  const ids = Array.from({ length: meters }, (_, m) => id(`bench-meter:${m}`).toLowerCase());
  const t0 = process.hrtime.bigint();
  const one = (k: number) => {
    const meterId = ids[k % meters];
    const interval = Math.floor(k / meters);
    const ts = MARKET_START + (interval + 1) * INTERVAL;
    // The statements the pipeline runs per reading (a savepoint each when inside a batch).
    outbox.transaction(() => {
      outbox.getCursor(meterId);
      if (outbox.getReading(meterId, interval)) return;
      outbox.lastReading(meterId);
      outbox.insertReading({ meterId, interval, meterKey: `m${k % meters}`, importWhTotal: BigInt(1_000_000 + k), exportWhTotal: BigInt(k), sampleTimestamp: ts, signer, signature });
      outbox.setCursor({ meterId, timestamp: ts, importWhTotal: BigInt(1_000_000 + k), exportWhTotal: BigInt(k), emittedThrough: interval, receivedAtMs: 0 });
    });
  };
  for (let k0 = 0; k0 < readings; k0 += batch) {
    const k1 = Math.min(k0 + batch, readings);
    if (batch === 1) one(k0);
    else outbox.transaction(() => {
      for (let k = k0; k < k1; k++) one(k);
    });
  }
  return finish(outbox, dir, t0, { readings, meters, medium, batch });
}

/** Ends a run: checks the outbox holds every reading, removes it, returns the rate. */
function finish(outbox: Outbox, dir: string, t0: bigint, run: { readings: number; meters: number; medium: Medium; batch: number }): IngestFigure {
  const seconds = Number(process.hrtime.bigint() - t0) / 1e9;
  const stored = outbox.counts().pending;
  outbox.close();
  fs.rmSync(dir, { recursive: true, force: true });
  if (stored !== run.readings) throw new Error(`outbox holds ${stored} readings, expected ${run.readings}`);
  return { ...run, seconds, perSecond: run.readings / seconds };
}

// ------------------------------------------------------------------ issue 19: meters at their real rate

export interface RateFigure {
  samples: number;
  readings: number;
  meters: number;
  seconds: number;
  perSecond: number;
  commits: number;
  signer: "native" | "javascript";
  /** Signer threads beside the main thread. */
  threads: number;
  medium: Medium;
  /** CPU seconds the process used (user + system): on a shared machine, wall time / CPU time shows the contention. */
  cpuSeconds: number;
}

const cpuNow = () => {
  const u = process.cpuUsage();
  return (u.user + u.system) / 1e6;
};

function meterRig(meters: number, file: string, now: () => number) {
  const gateway = new Wallet(id("gridledger:bench-gateway"));
  const outbox = new Outbox(file, now);
  const infos = new Map<string, MeterInfo>();
  for (let m = 0; m < meters; m++) {
    infos.set(`m${m}`, { meterKey: `m${m}`, meterId: id(`bench-meter:${m}`).toLowerCase(), signer: gateway.address, maxPowerW: 50_000, usable: true });
  }
  const keys = new Map([[gateway.address.toLowerCase(), gateway]]);
  const signerPool = new SignerPool(keys);
  const pipeline = new Pipeline({
    outbox,
    meters: () => infos,
    timing: { marketStart: MARKET_START, intervalSeconds: INTERVAL },
    domain: readingsDomain(31337n, "0x" + "11".repeat(20)),
    keys,
    gatewayAddress: gateway.address,
    now,
    maxClockSkewSeconds: 5,
    signerPool,
  });
  return { outbox, pipeline, signerPool };
}

/** Registers of meter m at unix second ts: increasing, about 1-2 kW. */
const importAt = (m: number, ts: number) => BigInt(1_000_000 + m * 7 + Math.floor(((ts - MARKET_START) * (1000 + (m % 1000))) / 3600));
const exportAt = (m: number, ts: number) => BigInt(500_000 + Math.floor(((ts - MARKET_START) * (m % 3 === 0 ? 800 : 0)) / 3600));
const sampleOf = (m: number, ts: number): RawSample => ({ source: "bench", meterKey: `m${m}`, timestamp: ts, importWhTotal: importAt(m, ts), exportWhTotal: exportAt(m, ts) });

/**
 * `raw samples accepted per second, durable (disk)`: `meters` meters at 1 Hz for `seconds` seconds
 * inside one interval (no boundary: no reading, every sample only moves its meter's durable cursor),
 * each sample its own message (one MQTT message per meter and second) through the daemon's
 * `GroupCommit` into `Pipeline.sampleBatch`: each batch one SQLite transaction (synchronous=FULL,
 * WAL) on disk, the samples durable before `push` resolves. The figure counts resolved samples.
 */
export async function rawSamplesDurable(meters: number, seconds: number, medium: Medium = "disk"): Promise<RateFigure> {
  const { dir, file } = tmpDb(medium);
  const t0s = MARKET_START + 100 * INTERVAL + 10; // 10 s into interval 100: no boundary for `seconds` < 890
  const { outbox, pipeline, signerPool } = meterRig(meters, file, () => t0s + seconds + 1);
  const group = new GroupCommit(pipeline, { maxDelayMs: 5, maxSamples: 2000 });
  await signerPool.ready;
  const cpu0 = cpuNow();
  const start = process.hrtime.bigint();
  let accepted = 0;
  let pending: Promise<void>[] = [];
  for (let s = 0; s < seconds; s++) {
    for (let m = 0; m < meters; m++) {
      pending.push(group.push([sampleOf(m, t0s + s)]).then((r) => void (accepted += r[0].status === "accepted" ? 1 : 0)));
    }
    // Let commits resolve between seconds of data, as a real stream would.
    await group.flush();
    await Promise.all(pending);
    pending = [];
  }
  const secondsTaken = Number(process.hrtime.bigint() - start) / 1e9;
  await signerPool.close();
  const readings = outbox.counts().pending;
  const cursors = outbox.allCursors().filter((c) => c.timestamp === t0s + seconds - 1).length;
  outbox.close();
  fs.rmSync(dir, { recursive: true, force: true });
  if (accepted !== meters * seconds) throw new Error(`${accepted} of ${meters * seconds} samples accepted`);
  if (cursors !== meters) throw new Error(`${cursors} of ${meters} cursors at the last sample`);
  return { samples: accepted, readings, meters, seconds: secondsTaken, perSecond: accepted / secondsTaken, commits: group.commits, signer: signerKind(), threads: signerPool.size, medium, cpuSeconds: cpuNow() - cpu0 };
}

/**
 * `interval readings signed per second`: `meters` meters each sending the sample that lands on an
 * interval boundary, for `intervals` boundaries in a row: every sample is durable and derives one
 * signed reading (EIP-712 digest + secp256k1 signature with the gateway key) into the outbox on
 * disk, through `GroupCommit` like the raw figure. The figure counts readings in the outbox.
 */
export async function signedReadings(meters: number, intervals: number, medium: Medium = "disk"): Promise<RateFigure> {
  const { dir, file } = tmpDb(medium);
  const { outbox, pipeline, signerPool } = meterRig(meters, file, () => MARKET_START + (intervals + 2) * INTERVAL);
  const group = new GroupCommit(pipeline, { maxDelayMs: 5, maxSamples: 2000 });
  await signerPool.ready;
  const cpu0 = cpuNow();
  const start = process.hrtime.bigint();
  let readings = 0;
  for (let t = 0; t < intervals; t++) {
    const ts = MARKET_START + (t + 1) * INTERVAL;
    const pending: Promise<void>[] = [];
    for (let m = 0; m < meters; m++) pending.push(group.push([sampleOf(m, ts)]).then((r) => void (readings += r[0].status === "accepted" ? r[0].readings : 0)));
    await group.flush();
    await Promise.all(pending);
  }
  const secondsTaken = Number(process.hrtime.bigint() - start) / 1e9;
  await signerPool.close();
  const stored = outbox.counts().pending;
  outbox.close();
  fs.rmSync(dir, { recursive: true, force: true });
  if (stored !== meters * intervals || readings !== stored) throw new Error(`outbox holds ${stored} readings (${readings} reported), expected ${meters * intervals}`);
  return { samples: meters * intervals, readings: stored, meters, seconds: secondsTaken, perSecond: stored / secondsTaken, commits: group.commits, signer: signerKind(), threads: signerPool.size, medium, cpuSeconds: cpuNow() - cpu0 };
}

export interface BoundaryFigure {
  meters: number;
  /** Wall seconds from the boundary until the last reading of the interval was durable in the outbox. */
  seconds: number;
  /** Wall seconds from the boundary until the last meter's boundary sample was handed in (the arrival spread). */
  lastArrivalSeconds: number;
  readings: number;
  commits: number;
  signer: "native" | "javascript";
  medium: Medium;
}

/**
 * `boundary to all readings in the outbox, 5,000 meters at 1 Hz`: in real time, `meters` meters
 * send one sample a second each (meter m at m/meters of every second, so arrivals are spread
 * evenly), each its own message through `GroupCommit` (5 ms window) into the pipeline on disk, for
 * `leadSeconds` before an interval boundary and until every meter's reading of the ended interval
 * is in the outbox. Meter time runs with the wall clock, the boundary at a whole second.
 */
export async function boundaryToOutbox(meters: number, medium: Medium = "disk", leadSeconds = 3): Promise<BoundaryFigure> {
  const { dir, file } = tmpDb(medium);
  const boundaryTs = MARKET_START + 200 * INTERVAL; // end of interval 199
  let wall0 = Infinity; // wall time (ms) of meter second boundaryTs - leadSeconds, set once the rig is ready
  const meterNow = () => boundaryTs - leadSeconds + Math.floor((performance.now() - wall0) / 1000);
  const { outbox, pipeline, signerPool } = meterRig(meters, file, () => meterNow() + 1);
  await signerPool.ready;
  wall0 = performance.now() + 50;
  const group = new GroupCommit(pipeline, { maxDelayMs: 5, maxSamples: 2000 });
  const boundaryWall = wall0 + leadSeconds * 1000;
  const total = (leadSeconds + 3) * meters;
  let sent = 0;
  let readings = 0;
  let doneAt: number | undefined;
  let lastArrival = 0;
  const pending: Promise<void>[] = [];
  await new Promise<void>((resolve, reject) => {
    const tick = () => {
      const nowMs = performance.now();
      // Every sample due by now: meter m's sample of second k is due at wall0 + k*1000 + m*1000/meters.
      while (sent < total) {
        const k = Math.floor(sent / meters);
        const m = sent % meters;
        if (wall0 + k * 1000 + (m * 1000) / meters > nowMs) break;
        const ts = boundaryTs - leadSeconds + k;
        if (ts === boundaryTs) lastArrival = nowMs;
        pending.push(group.push([sampleOf(m, ts)]).then((r) => {
          if (r[0].status !== "accepted") throw new Error(`sample ${m}@${ts} ${JSON.stringify(r[0])}`);
          readings += r[0].readings;
          if (readings >= meters && doneAt === undefined) doneAt = performance.now();
        }, reject));
        sent++;
      }
      if (doneAt !== undefined || sent >= total) return resolve();
      setTimeout(tick, 2);
    };
    setTimeout(tick, Math.max(0, wall0 - performance.now()));
  });
  await group.flush();
  await Promise.all(pending);
  await signerPool.close();
  const inOutbox = outbox.counts().pending;
  outbox.close();
  fs.rmSync(dir, { recursive: true, force: true });
  if (doneAt === undefined || inOutbox < meters) throw new Error(`only ${inOutbox} of ${meters} readings reached the outbox`);
  return { meters, seconds: (doneAt - boundaryWall) / 1000, lastArrivalSeconds: (lastArrival - boundaryWall) / 1000, readings: inOutbox, commits: group.commits, signer: signerKind(), medium };
}
