import { TypedDataDomain, Wallet, HDNodeWallet } from "ethers";
import { ReadingMessage } from "../sdk/eip712";
import { fastReadingDigester } from "./digest";
import type { Logger } from "../sdk/logger";
import { TransientError } from "../sdk/errors";
import type { Outbox, MeterCursor } from "./outbox";
import type { IngestResult, RawSample, Refusal, SampleSink } from "./types";
import { UINT64_MAX } from "./types";
import type { OracleMetrics } from "./metrics";
import { DigestSigner, digestSigner } from "./signer";
import type { SignerPool } from "./signpool";

/** What the pipeline knows about one meter: from the config mapping and the registry. */
export interface MeterInfo {
  meterKey: string;
  meterId: string;
  /** The meter's registered signer (registry), or the configured one. */
  signer?: string;
  /** Largest plausible power (registry), in W. */
  maxPowerW?: number;
  /** False when the registry says the meter is unknown or retired (with why). */
  usable: boolean;
  unusableReason?: string;
}

export interface Timing {
  marketStart: number;
  intervalSeconds: number;
}

export interface PipelineOptions {
  outbox: Outbox;
  meters: () => Map<string, MeterInfo>;
  timing: Timing;
  domain: TypedDataDomain;
  /** The wallets that may sign, by lower-case address. */
  keys: Map<string, Wallet | HDNodeWallet>;
  /** Signer used when a meter has no signer of its own configured. */
  gatewayAddress?: string;
  /** Unix seconds. */
  now?: () => number;
  maxClockSkewSeconds?: number;
  /** A sample older than this before a boundary cannot stand for it (default intervalSeconds). */
  maxSampleAgeSeconds?: number;
  /** Wall-clock wait after a boundary before a silent meter's last sample is used for it. */
  boundaryGraceSeconds?: number;
  /** Slack for register quantisation in the sample-to-sample power check (Wh). */
  plausibilitySlackWh?: bigint;
  logger?: Logger;
  metrics?: OracleMetrics;
  /** Worker threads that sign a batch's readings in parallel before its transaction (`sampleBatchAsync`). */
  signerPool?: SignerPool;
}

class Refused extends Error {
  constructor(readonly field: string, readonly reason: string, readonly interval?: number) {
    super(`${field}: ${reason}`);
  }
}

/**
 * Raw samples -> interval readings. For each meter it keeps the last accepted sample (the
 * cursor, persisted). The reading of interval t is the last sample at or before its end
 * boundary `marketStart + (t+1) * intervalSeconds`; it is written when a later sample shows
 * the boundary has passed, when a sample lands exactly on it, or (for a meter that went
 * silent) when the wall clock is `boundaryGraceSeconds` past it. Every refusal is
 * quarantined and logged; nothing is dropped silently.
 */
export class Pipeline implements SampleSink {
  private readonly now: () => number;
  private readonly skew: number;
  private readonly maxAge: number;
  private readonly grace: number;
  private readonly slack: bigint;
  private readonly log?: Logger;
  private readonly digester: (m: ReadingMessage) => string;
  /** The last outbox write failure (disk full, I/O error), cleared by the next successful write. */
  outboxError: string | undefined;
  /** Native (libsecp256k1) signers by wallet address, the pure-JavaScript one where it cannot load. */
  private readonly signers = new Map<string, DigestSigner>();
  /** Digests and signatures made ahead by the signer pool, by signer, meter, interval and registers (used once, by `emit`). */
  private readonly presigned = new Map<string, { digest: string; signature: string }>();

  constructor(private readonly o: PipelineOptions) {
    this.digester = fastReadingDigester(o.domain);
    this.now = o.now ?? (() => Math.floor(Date.now() / 1000));
    this.skew = o.maxClockSkewSeconds ?? 30;
    this.maxAge = o.maxSampleAgeSeconds ?? o.timing.intervalSeconds;
    this.grace = o.boundaryGraceSeconds ?? 30;
    this.slack = o.plausibilitySlackWh ?? 10n;
    this.log = o.logger;
  }

  private writeFailed(e: unknown): void {
    const err = e as { code?: string; message?: string };
    this.outboxError = `${err.code ? `${err.code}: ` : ""}${err.message ?? String(e)}`.slice(0, 300);
    this.o.metrics?.outboxWriteFailures.inc();
  }

  /** End boundary of interval t. */
  boundary(t: number): number {
    return this.o.timing.marketStart + (t + 1) * this.o.timing.intervalSeconds;
  }

  /** The first interval whose end boundary is at or after `ts` (may be negative before marketStart). */
  firstIntervalEndingAtOrAfter(ts: number): number {
    const { marketStart, intervalSeconds } = this.o.timing;
    return Math.ceil((ts - marketStart) / intervalSeconds) - 1;
  }

  /** Quarantines a refusal; when the outbox cannot store it (disk full), the refusal is still logged. */
  refuse(r: Refusal): void {
    try {
      this.o.outbox.quarantine(r);
    } catch (e) {
      this.writeFailed(e);
      this.log?.error({ source: r.source, meterKey: r.meterKey, field: r.field, reason: r.reason, err: this.outboxError }, "refused, and the quarantine cannot store it");
      return;
    }
    this.o.metrics?.quarantined.inc({ source: String(r.source), field: r.field });
    this.log?.warn({ source: r.source, meterKey: r.meterKey, meterId: r.meterId, interval: r.interval, field: r.field, reason: r.reason }, "refused");
  }

  /** The EIP-712 digest of a reading (`readingDigester`: the general encoder's result, faster). */
  digest(m: { meterId: string; interval: number; importWhTotal: bigint; exportWhTotal: bigint }): string {
    return this.digester(m);
  }

  sample(s: RawSample): IngestResult {
    return this.sampleIn(s, false);
  }

  /**
   * Samples that arrived together (one MQTT message, one HTTP body, a bench batch), taken in one
   * SQLite transaction: one commit (one fsync) for all of them instead of one each, durable
   * before this returns, so a caller acknowledges only what is on disk. Each sample is still
   * judged on its own (a savepoint each): a refused sample is quarantined and the others are
   * kept, exactly as if `sample` had been called for each in order. An error that is not a
   * refusal (the disk) rolls the whole batch back and is thrown: nothing of it was taken.
   */
  sampleBatch(samples: RawSample[]): IngestResult[] {
    if (samples.length <= 1) return samples.map((s) => this.sample(s));
    const accepted: string[] = [];
    let results: IngestResult[];
    try {
      results = this.o.outbox.transaction(() =>
        samples.map((s) => {
          const r = this.sampleIn(s, true);
          if (r.status !== "quarantined") accepted.push(String(s.source));
          return r;
        }),
      );
    } catch (e) {
      this.o.outbox.dropCursorCache(); // the cursors written in the batch were rolled back
      if (e instanceof TransientError) throw e;
      // The commit itself failed (disk full): nothing of the batch was taken; the sender may retry.
      this.writeFailed(e);
      this.log?.error({ samples: samples.length, err: this.outboxError }, "the outbox cannot store a batch of samples");
      throw new TransientError(`the outbox cannot store the samples: ${this.outboxError}`, { cause: e });
    }
    this.outboxError = undefined;
    for (const source of accepted) this.o.metrics?.accepted.inc({ source });
    return results;
  }

  /**
   * `sampleBatch` with the readings the batch will derive signed first, in parallel on the signer
   * pool's threads (without a pool: exactly `sampleBatch`). The samples are judged, and the samples
   * and readings written, in one transaction as `sampleBatch` does; only the signing moved out of it.
   */
  async sampleBatchAsync(samples: RawSample[]): Promise<IngestResult[]> {
    if (this.o.signerPool && samples.length > 1) await this.presign(samples);
    try {
      return this.sampleBatch(samples);
    } finally {
      this.presigned.clear();
    }
  }

  /** Works out (without writing) the readings `samples` would derive and has the pool sign them. */
  private async presign(samples: RawSample[]): Promise<void> {
    const byMeter = new Map<string, { ts: number; importWhTotal: bigint; exportWhTotal: bigint; emittedThrough: number }>();
    const want = new Map<string, { keys: string[]; digests: string[] }>(); // by signer
    for (const s of samples) {
      const meter = this.o.meters().get(s.meterKey);
      if (!meter || !meter.usable) continue;
      const signerAddr = (meter.signer ?? this.o.gatewayAddress)?.toLowerCase();
      if (!signerAddr || !this.o.keys.has(signerAddr)) continue;
      const c0 = byMeter.get(meter.meterId) ?? (() => {
        const c = this.o.outbox.getCursor(meter.meterId);
        return c ? { ts: c.timestamp, importWhTotal: c.importWhTotal, exportWhTotal: c.exportWhTotal, emittedThrough: c.emittedThrough } : undefined;
      })();
      if (c0 && s.timestamp <= c0.ts) continue;
      let through = c0?.emittedThrough ?? -1;
      const add = (t: number, v: { importWhTotal: bigint; exportWhTotal: bigint }) => {
        if (t < 0 || t > 0xffffffff) return;
        const w = want.get(signerAddr) ?? { keys: [], digests: [] };
        w.keys.push(presignKey(signerAddr, meter.meterId, t, v));
        w.digests.push(this.digest({ meterId: meter.meterId, interval: t, importWhTotal: v.importWhTotal, exportWhTotal: v.exportWhTotal }));
        want.set(signerAddr, w);
      };
      if (c0) {
        for (let t = Math.max(this.firstIntervalEndingAtOrAfter(c0.ts), through + 1, 0); this.boundary(t) < s.timestamp; t++) {
          if (this.boundary(t) - c0.ts >= this.maxAge) break;
          add(t, c0);
          through = t;
        }
      }
      const tOn = this.firstIntervalEndingAtOrAfter(s.timestamp);
      if (tOn >= 0 && this.boundary(tOn) === s.timestamp && tOn > through) (add(tOn, s), (through = tOn));
      byMeter.set(meter.meterId, { ts: s.timestamp, importWhTotal: s.importWhTotal, exportWhTotal: s.exportWhTotal, emittedThrough: through });
    }
    for (const [addr, w] of want) {
      const sigs = await this.o.signerPool!.sign(addr, w.digests);
      w.keys.forEach((k, i) => this.presigned.set(k, { digest: w.digests[i], signature: sigs[i] }));
    }
  }

  private sampleIn(s: RawSample, inBatch: boolean): IngestResult {
    this.o.metrics?.received.inc({ source: String(s.source) });
    const meter = this.o.meters().get(s.meterKey);
    try {
      if (!meter) throw new Refused("meterKey", `unknown meter "${s.meterKey}": not in the oracle's meter mapping`);
      if (!meter.usable) throw new Refused("meterId", meter.unusableReason ?? "meter not usable");
      if (!Number.isSafeInteger(s.timestamp) || s.timestamp < 0) throw new Refused("timestamp", `${s.timestamp} is not a unix time in seconds`);
      const now = this.now();
      if (s.timestamp > now + this.skew) {
        throw new Refused("timestamp", `${new Date(s.timestamp * 1000).toISOString()} is in the future (now ${new Date(now * 1000).toISOString()}, tolerance ${this.skew}s)`);
      }
      for (const [field, v] of [["importWhTotal", s.importWhTotal], ["exportWhTotal", s.exportWhTotal]] as const) {
        if (v < 0n || v > UINT64_MAX) throw new Refused(field, `${v} is outside 0..2^64-1 Wh`);
      }
      // Alone: its own transaction. In a batch: inside the batch's transaction, without a savepoint
      // each (a refusal is decided before `accept` writes anything, so there is nothing to undo).
      const result = inBatch ? this.accept(meter, s) : this.o.outbox.transaction(() => this.accept(meter, s));
      if (!inBatch) {
        this.outboxError = undefined;
        this.o.metrics?.accepted.inc({ source: String(s.source) });
      }
      return result;
    } catch (e) {
      this.o.outbox.dropCursorCache(meter?.meterId);
      if (!(e instanceof Refused)) {
        // Not the sample's fault (disk full, I/O error): nothing was stored; the sender may try again.
        this.writeFailed(e);
        this.log?.error({ source: s.source, meterKey: s.meterKey, err: this.outboxError }, "the outbox cannot store a sample");
        throw new TransientError(`the outbox cannot store the sample: ${this.outboxError}`, { cause: e });
      }
      this.refuse({ source: s.source, meterKey: s.meterKey, meterId: meter?.meterId, interval: e.interval, field: e.field, reason: e.reason, raw: s.raw ?? sampleJson(s) });
      return { status: "quarantined", field: e.field, reason: e.reason };
    }
  }

  private accept(meter: MeterInfo, s: RawSample): IngestResult {
    const c = this.o.outbox.getCursor(meter.meterId);
    if (c) {
      if (s.timestamp === c.timestamp) {
        if (s.importWhTotal === c.importWhTotal && s.exportWhTotal === c.exportWhTotal) return { status: "duplicate" };
        throw new Refused("timestamp", `a different sample for ${new Date(s.timestamp * 1000).toISOString()} was already accepted (import ${c.importWhTotal} Wh, export ${c.exportWhTotal} Wh)`);
      }
      if (s.timestamp < c.timestamp && s.replay) return { status: "duplicate" }; // a restarted replay
      if (s.timestamp < c.timestamp) {
        throw new Refused("timestamp", `${new Date(s.timestamp * 1000).toISOString()} is before the last accepted sample (${new Date(c.timestamp * 1000).toISOString()}); out of order`);
      }
      this.checkForward(meter, c, s);
    }
    // Decide everything first, write afterwards: a refusal never leaves half a sample behind.
    let emittedThrough = c?.emittedThrough ?? -1;
    const due: { t: number; v: { importWhTotal: bigint; exportWhTotal: bigint }; ts: number }[] = [];
    if (c) {
      // Boundaries in [c.timestamp, s.timestamp): the cursor is the last sample at or before them.
      for (let t = Math.max(this.firstIntervalEndingAtOrAfter(c.timestamp), emittedThrough + 1, 0); this.boundary(t) < s.timestamp; t++) {
        if (this.boundary(t) - c.timestamp >= this.maxAge) break;
        due.push({ t, v: c, ts: c.timestamp });
        emittedThrough = t;
      }
    }
    // A sample exactly on a boundary is that interval's reading.
    const tOn = this.firstIntervalEndingAtOrAfter(s.timestamp);
    if (tOn >= 0 && this.boundary(tOn) === s.timestamp && tOn > emittedThrough) {
      due.push({ t: tOn, v: s, ts: s.timestamp });
      emittedThrough = tOn;
    }
    if (due.length && due[due.length - 1].t > 0xffffffff) throw new Refused("timestamp", `interval ${due[due.length - 1].t} does not fit uint32`);
    for (const d of due) this.emit(meter, d.t, d.v, d.ts);
    this.o.outbox.setCursor({ meterId: meter.meterId, timestamp: s.timestamp, importWhTotal: s.importWhTotal, exportWhTotal: s.exportWhTotal, emittedThrough, receivedAtMs: Date.now() });
    return { status: "accepted", readings: due.length };
  }

  /** Registers never go backwards; the energy between two samples fits max power. */
  private checkForward(meter: MeterInfo, c: MeterCursor, s: RawSample): void {
    for (const [field, last, got] of [["importWhTotal", c.importWhTotal, s.importWhTotal], ["exportWhTotal", c.exportWhTotal, s.exportWhTotal]] as const) {
      if (got < last) throw new Refused(field, `register went backwards: last accepted ${last} Wh at ${new Date(c.timestamp * 1000).toISOString()}, got ${got} Wh`);
      if (meter.maxPowerW !== undefined) {
        const dt = BigInt(s.timestamp - c.timestamp);
        const allowed = (BigInt(meter.maxPowerW) * dt + 3599n) / 3600n + this.slack;
        if (got - last > allowed) {
          const powerW = Number(((got - last) * 3600n) / (dt === 0n ? 1n : dt));
          throw new Refused(field, `implausible power: ${got - last} Wh in ${dt} s is about ${powerW} W, above the meter's max ${meter.maxPowerW} W`);
        }
      }
    }
  }

  /** Signs the reading of interval t and writes it to the outbox (INSERT OR IGNORE). */
  private emit(meter: MeterInfo, t: number, v: { importWhTotal: bigint; exportWhTotal: bigint }, sampleTimestamp: number): void {
    if (t > 0xffffffff) throw new Refused("timestamp", `interval ${t} does not fit uint32`);
    const last = this.o.outbox.lastReading(meter.meterId);
    // Idempotent: a restart or replay never duplicates. A reading at t can only exist when the
    // meter's last one is at t or later (or is quarantined, and INSERT OR IGNORE keeps it then).
    if (last && last.interval >= t && this.o.outbox.getReading(meter.meterId, t)) return;
    const problem = last ? this.readingProblem(meter, last, t, v) : undefined;
    if (problem) {
      // The sample itself was fine; the interval reading cannot be sent. Quarantine the reading.
      this.refuse({ source: "pipeline", meterKey: meter.meterKey, meterId: meter.meterId, interval: t, field: problem.field, reason: problem.reason, raw: JSON.stringify({ interval: t, importWhTotal: v.importWhTotal.toString(), exportWhTotal: v.exportWhTotal.toString() }) });
      return;
    }
    const signerAddr = (meter.signer ?? this.o.gatewayAddress)?.toLowerCase();
    const wallet = signerAddr ? this.o.keys.get(signerAddr) : undefined;
    if (!wallet) {
      this.refuse({ source: "pipeline", meterKey: meter.meterKey, meterId: meter.meterId, interval: t, field: "signer", reason: signerAddr ? `no key for the meter's signer ${signerAddr} in the keystore` : "no signer registered or configured for the meter and no gateway key" });
      return;
    }
    const message = { meterId: meter.meterId, interval: t, importWhTotal: v.importWhTotal, exportWhTotal: v.exportWhTotal };
    const key = presignKey(wallet.address.toLowerCase(), meter.meterId, t, v);
    const ahead = this.presigned.get(key);
    let signature: string;
    if (ahead) {
      this.presigned.delete(key);
      signature = ahead.signature;
    } else {
      let sign = this.signers.get(wallet.address);
      if (!sign) this.signers.set(wallet.address, (sign = digestSigner(wallet)));
      signature = sign(this.digest(message));
    }
    if (this.o.outbox.insertReading({ ...message, meterKey: meter.meterKey, sampleTimestamp, signer: wallet.address, signature })) {
      this.o.metrics?.readings.inc();
      this.log?.debug({ meterId: meter.meterId, interval: t, importWhTotal: v.importWhTotal.toString(), exportWhTotal: v.exportWhTotal.toString() }, "reading queued");
    }
  }

  /** The same checks the contract makes against the meter's previous reading. */
  private readingProblem(meter: MeterInfo, last: { interval: number; importWhTotal: bigint; exportWhTotal: bigint }, t: number, v: { importWhTotal: bigint; exportWhTotal: bigint }): { field: string; reason: string } | undefined {
    if (t <= last.interval) return { field: "interval", reason: `interval ${t} is not after the meter's last reading (interval ${last.interval})` };
    for (const [field, a, b] of [["importWhTotal", last.importWhTotal, v.importWhTotal], ["exportWhTotal", last.exportWhTotal, v.exportWhTotal]] as const) {
      if (b < a) return { field, reason: `register went backwards: interval ${last.interval} had ${a} Wh, interval ${t} has ${b} Wh` };
      if (meter.maxPowerW !== undefined) {
        const elapsed = BigInt((t - last.interval) * this.o.timing.intervalSeconds);
        if ((b - a) * 3600n > BigInt(meter.maxPowerW) * elapsed) {
          return { field, reason: `implausible power: ${b - a} Wh over ${elapsed} s exceeds the meter's max ${meter.maxPowerW} W` };
        }
      }
    }
    return undefined;
  }

  /**
   * For meters that went silent: once the wall clock is `boundaryGraceSeconds` past the next
   * boundary after their last sample, and no sample came for that long, that last sample
   * becomes the interval's reading. Returns how many readings were written.
   */
  flushSilent(): number {
    const now = this.now();
    const wallMs = Date.now();
    let n = 0;
    const byId = new Map<string, MeterInfo>();
    for (const m of this.o.meters().values()) byId.set(m.meterId.toLowerCase(), m);
    for (const c of this.o.outbox.allCursors()) {
      const meter = byId.get(c.meterId);
      if (!meter || !meter.usable) continue;
      const t = Math.max(this.firstIntervalEndingAtOrAfter(c.timestamp), c.emittedThrough + 1, 0);
      const b = this.boundary(t);
      if (b - c.timestamp >= this.maxAge) continue;
      if (now < b + this.grace || wallMs - c.receivedAtMs < this.grace * 1000) continue;
      try {
        this.o.outbox.transaction(() => {
          this.emit(meter, t, c, c.timestamp);
          this.o.outbox.setCursor({ ...c, emittedThrough: t });
        });
        n++;
      } catch (e) {
        this.o.outbox.dropCursorCache(c.meterId);
        if (!(e instanceof Refused)) throw e;
        this.refuse({ source: "pipeline", meterKey: meter.meterKey, meterId: meter.meterId, interval: t, field: e.field, reason: e.reason });
      }
    }
    return n;
  }
}

function presignKey(signer: string, meterId: string, t: number, v: { importWhTotal: bigint; exportWhTotal: bigint }): string {
  return `${signer}:${meterId}:${t}:${v.importWhTotal}:${v.exportWhTotal}`;
}

function sampleJson(s: RawSample): string {
  return JSON.stringify({ meterKey: s.meterKey, timestamp: s.timestamp, importWhTotal: s.importWhTotal.toString(), exportWhTotal: s.exportWhTotal.toString() });
}
