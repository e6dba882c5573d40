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
