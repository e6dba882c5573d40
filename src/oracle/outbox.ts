import Database from "better-sqlite3";
import * as fs from "node:fs";
import * as path from "node:path";
import type { Refusal, SourceKind } from "./types";

/**
 * The durable state of the oracle, one SQLite file (WAL):
 * - `readings`: the outbox, one row per (meter, interval), signed, with its submission state;
 * - `quarantine`: every refused payload, sample or reading, with its reason;
 * - `cursors`: per meter, the last accepted sample and the last interval given a reading.
 * Amounts are stored as decimal text (uint64 does not fit SQLite's signed integer).
 */

export type ReadingStatus = "pending" | "submitted" | "confirmed" | "quarantined";

export interface OutboxReading {
  meterId: string;
  interval: number;
  meterKey: string;
  importWhTotal: bigint;
  exportWhTotal: bigint;
  sampleTimestamp: number;
  signer: string;
  signature: string;
  status: ReadingStatus;
  txHash?: string;
  nonce?: number;
  submittedAt?: number;
  confirmedAt?: number;
  outcome?: string;
  reason?: string;
}

export interface QuarantineEntry {
  id: number;
  source: string;
  meterKey?: string;
  meterId?: string;
  interval?: number;
  field: string;
  reason: string;
  raw?: string;
  at: number;
}

export interface MeterCursor {
  meterId: string;
  timestamp: number;
  importWhTotal: bigint;
  exportWhTotal: bigint;
  /** Last interval given a reading (-1 when none). */
  emittedThrough: number;
  /** Wall-clock ms when the sample arrived (not persisted meaningfully across restarts). */
  receivedAtMs: number;
}

interface ReadingRow {
  meter_id: string;
  interval: number;
  meter_key: string;
  import_wh: string;
  export_wh: string;
  sample_ts: number;
  signer: string;
  signature: string;
  status: ReadingStatus;
  tx_hash: string | null;
  nonce: number | null;
  submitted_at: number | null;
  confirmed_at: number | null;
  outcome: string | null;
  reason: string | null;
}

const SCHEMA = `
CREATE TABLE IF NOT EXISTS readings (
  meter_id     TEXT    NOT NULL,
  interval     INTEGER NOT NULL,
  meter_key    TEXT    NOT NULL,
  import_wh    TEXT    NOT NULL,
  export_wh    TEXT    NOT NULL,
  sample_ts    INTEGER NOT NULL,
  signer       TEXT    NOT NULL,
  signature    TEXT    NOT NULL,
  status       TEXT    NOT NULL DEFAULT 'pending',
  tx_hash      TEXT,
  nonce        INTEGER,
  submitted_at INTEGER,
  confirmed_at INTEGER,
  outcome      TEXT,
  reason       TEXT,
  created_at   INTEGER NOT NULL,
  PRIMARY KEY (meter_id, interval)
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS readings_status ON readings(status, interval);
CREATE INDEX IF NOT EXISTS readings_tx ON readings(tx_hash);
CREATE TABLE IF NOT EXISTS quarantine (
  id        INTEGER PRIMARY KEY AUTOINCREMENT,
  source    TEXT    NOT NULL,
  meter_key TEXT,
  meter_id  TEXT,
  interval  INTEGER,
  field     TEXT    NOT NULL,
  reason    TEXT    NOT NULL,
  raw       TEXT,
  at        INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS cursors (
  meter_id        TEXT PRIMARY KEY,
  ts              INTEGER NOT NULL,
  import_wh       TEXT    NOT NULL,
  export_wh       TEXT    NOT NULL,
  emitted_through INTEGER NOT NULL
) WITHOUT ROWID;
`;

const RAW_LIMIT = 8192;

function toReading(r: ReadingRow): OutboxReading {
  return {
    meterId: r.meter_id,
    interval: r.interval,
    meterKey: r.meter_key,
    importWhTotal: BigInt(r.import_wh),
    exportWhTotal: BigInt(r.export_wh),
    sampleTimestamp: r.sample_ts,
    signer: r.signer,
    signature: r.signature,
    status: r.status,
    txHash: r.tx_hash ?? undefined,
    nonce: r.nonce ?? undefined,
    submittedAt: r.submitted_at ?? undefined,
    confirmedAt: r.confirmed_at ?? undefined,
    outcome: r.outcome ?? undefined,
    reason: r.reason ?? undefined,
  };
}

export class Outbox {
  readonly db: Database.Database;
  private readonly cursorCache = new Map<string, MeterCursor>();
  /** Prepared statements by SQL text: prepared once, not on every call. */
  private readonly statements = new Map<string, Database.Statement>();

  constructor(readonly file: string, private readonly nowSeconds: () => number = () => Math.floor(Date.now() / 1000)) {
    if (file !== ":memory:") fs.mkdirSync(path.dirname(path.resolve(file)), { recursive: true });
    this.db = new Database(file);
    this.db.pragma("journal_mode = WAL");
    this.db.pragma("synchronous = FULL");
    this.db.pragma("busy_timeout = 5000");
    this.db.exec(SCHEMA);
  }

  private prepare(sql: string): Database.Statement {
    let st = this.statements.get(sql);
    if (!st) {
      st = this.db.prepare(sql);
      this.statements.set(sql, st);
    }
    return st;
  }

  close(): void {
    if (this.db.open) this.db.close();
  }

  /** Runs `fn` in one transaction (atomic: a crash leaves all or nothing). */
  transaction<T>(fn: () => T): T {
    return this.db.transaction(fn)();
  }

  // ------------------------------------------------------------------ readings

  /** Adds a signed reading; a (meter, interval) already present is left as it is. Returns whether a row was added. */
  insertReading(r: Omit<OutboxReading, "status">): boolean {
    const res = this.prepare(
        `INSERT OR IGNORE INTO readings (meter_id, interval, meter_key, import_wh, export_wh, sample_ts, signer, signature, status, created_at)
         VALUES (?, ?, ?, ?, ?, ?, ?, ?, 'pending', ?)`,
      )
      .run(r.meterId.toLowerCase(), r.interval, r.meterKey, r.importWhTotal.toString(), r.exportWhTotal.toString(), r.sampleTimestamp, r.signer, r.signature, this.nowSeconds());
    return res.changes === 1;
  }

  getReading(meterId: string, interval: number): OutboxReading | undefined {
    const row = this.prepare(`SELECT * FROM readings WHERE meter_id = ? AND interval = ?`).get(meterId.toLowerCase(), interval) as ReadingRow | undefined;
    return row && toReading(row);
  }

  /** The meter's latest reading that is not quarantined (the base for monotonicity checks). */
  lastReading(meterId: string): OutboxReading | undefined {
    const row = this.prepare(`SELECT * FROM readings WHERE meter_id = ? AND status != 'quarantined' ORDER BY interval DESC LIMIT 1`)
      .get(meterId.toLowerCase()) as ReadingRow | undefined;
    return row && toReading(row);
  }

  /** Pending readings of ended intervals, oldest interval first (so each meter goes forward). */
  pending(limit: number, beforeInterval?: number): OutboxReading[] {
    const rows = this.prepare(`SELECT * FROM readings WHERE status = 'pending' AND interval < ? ORDER BY interval, meter_id LIMIT ?`)
      .all(beforeInterval ?? 2 ** 32, limit) as ReadingRow[];
    return rows.map(toReading);
  }

  submitted(): OutboxReading[] {
    return (this.prepare(`SELECT * FROM readings WHERE status = 'submitted' ORDER BY nonce, interval`).all() as ReadingRow[]).map(toReading);
  }

  byStatus(status: ReadingStatus): OutboxReading[] {
    return (this.prepare(`SELECT * FROM readings WHERE status = ? ORDER BY interval, meter_id`).all(status) as ReadingRow[]).map(toReading);
  }

  all(): OutboxReading[] {
    return (this.prepare(`SELECT * FROM readings ORDER BY interval, meter_id`).all() as ReadingRow[]).map(toReading);
  }

  markSubmitted(keys: { meterId: string; interval: number }[], txHash: string, nonce: number): void {
    const stmt = this.prepare(`UPDATE readings SET status = 'submitted', tx_hash = ?, nonce = ?, submitted_at = ? WHERE meter_id = ? AND interval = ? AND status IN ('pending', 'submitted')`);
    this.transaction(() => {
      for (const k of keys) stmt.run(txHash, nonce, this.nowSeconds(), k.meterId.toLowerCase(), k.interval);
    });
  }

  markConfirmed(meterId: string, interval: number, outcome: "accepted" | "already_recorded", txHash?: string): void {
    this.prepare(`UPDATE readings SET status = 'confirmed', outcome = ?, confirmed_at = ?, tx_hash = COALESCE(?, tx_hash) WHERE meter_id = ? AND interval = ?`)
      .run(outcome, this.nowSeconds(), txHash ?? null, meterId.toLowerCase(), interval);
  }

  markRejected(meterId: string, interval: number, reason: string): void {
    this.prepare(`UPDATE readings SET status = 'quarantined', outcome = 'rejected', reason = ?, confirmed_at = ? WHERE meter_id = ? AND interval = ?`)
      .run(reason, this.nowSeconds(), meterId.toLowerCase(), interval);
  }

  /** Puts submitted readings back to pending (their transaction was dropped or reverted). */
  markPending(keys: { meterId: string; interval: number }[]): void {
    const stmt = this.prepare(`UPDATE readings SET status = 'pending', tx_hash = NULL, nonce = NULL, submitted_at = NULL WHERE meter_id = ? AND interval = ? AND status = 'submitted'`);
    this.transaction(() => {
      for (const k of keys) stmt.run(k.meterId.toLowerCase(), k.interval);
    });
  }

  counts(): Record<ReadingStatus, number> {
    const out: Record<ReadingStatus, number> = { pending: 0, submitted: 0, confirmed: 0, quarantined: 0 };
    for (const r of this.prepare(`SELECT status, COUNT(*) AS n FROM readings GROUP BY status`).all() as { status: ReadingStatus; n: number }[]) out[r.status] = r.n;
    return out;
  }

  /** Smallest interval still waiting for the chain (pending or submitted), if any. */
  oldestUnconfirmedInterval(): number | undefined {
    const row = this.prepare(`SELECT MIN(interval) AS i FROM readings WHERE status IN ('pending', 'submitted')`).get() as { i: number | null };
    return row.i ?? undefined;
  }

  // ------------------------------------------------------------------ quarantine

  quarantine(r: Refusal): number {
    const res = this.prepare(`INSERT INTO quarantine (source, meter_key, meter_id, interval, field, reason, raw, at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)`)
      .run(r.source as SourceKind, r.meterKey ?? null, r.meterId?.toLowerCase() ?? null, r.interval ?? null, r.field, r.reason, r.raw === undefined ? null : r.raw.slice(0, RAW_LIMIT), this.nowSeconds());
    return Number(res.lastInsertRowid);
  }

  listQuarantine(filter: { since?: number; meterKey?: string; source?: string; limit?: number } = {}): QuarantineEntry[] {
    const where: string[] = [];
    const args: unknown[] = [];
    if (filter.since !== undefined) (where.push("at >= ?"), args.push(filter.since));
    if (filter.meterKey !== undefined) (where.push("meter_key = ?"), args.push(filter.meterKey));
    if (filter.source !== undefined) (where.push("source = ?"), args.push(filter.source));
    const sql = `SELECT * FROM quarantine ${where.length ? "WHERE " + where.join(" AND ") : ""} ORDER BY id DESC LIMIT ?`;
    const rows = this.db.prepare(sql).all(...args, filter.limit ?? 1000) as {
      id: number; source: string; meter_key: string | null; meter_id: string | null; interval: number | null; field: string; reason: string; raw: string | null; at: number;
    }[];
    return rows.map((r) => ({
      id: r.id, source: r.source, meterKey: r.meter_key ?? undefined, meterId: r.meter_id ?? undefined,
      interval: r.interval ?? undefined, field: r.field, reason: r.reason, raw: r.raw ?? undefined, at: r.at,
    }));
  }

  // ------------------------------------------------------------------ cursors

  getCursor(meterId: string): MeterCursor | undefined {
    const key = meterId.toLowerCase();
    const cached = this.cursorCache.get(key);
    if (cached) return cached;
    const row = this.prepare(`SELECT * FROM cursors WHERE meter_id = ?`).get(key) as
      | { meter_id: string; ts: number; import_wh: string; export_wh: string; emitted_through: number }
      | undefined;
    if (!row) return undefined;
    const c: MeterCursor = { meterId: key, timestamp: row.ts, importWhTotal: BigInt(row.import_wh), exportWhTotal: BigInt(row.export_wh), emittedThrough: row.emitted_through, receivedAtMs: 0 };
    this.cursorCache.set(key, c);
    return c;
  }

  allCursors(): MeterCursor[] {
    const rows = this.prepare(`SELECT meter_id FROM cursors`).all() as { meter_id: string }[];
    return rows.map((r) => this.getCursor(r.meter_id)!);
  }

  setCursor(c: MeterCursor): void {
    const key = c.meterId.toLowerCase();
    this.prepare(`INSERT INTO cursors (meter_id, ts, import_wh, export_wh, emitted_through) VALUES (?, ?, ?, ?, ?)
                ON CONFLICT(meter_id) DO UPDATE SET ts = excluded.ts, import_wh = excluded.import_wh, export_wh = excluded.export_wh, emitted_through = excluded.emitted_through`)
      .run(key, c.timestamp, c.importWhTotal.toString(), c.exportWhTotal.toString(), c.emittedThrough);
    this.cursorCache.set(key, { ...c, meterId: key });
  }

  /** Forget cached cursors (after a rolled-back transaction). */
  dropCursorCache(meterId?: string): void {
    if (meterId) this.cursorCache.delete(meterId.toLowerCase());
    else this.cursorCache.clear();
  }
}

/** Lists quarantined payloads from an oracle database file (for `gridledger oracle quarantine`). */
export function listQuarantine(dbPath: string, filter: Parameters<Outbox["listQuarantine"]>[0] = {}): QuarantineEntry[] {
  const outbox = new Outbox(dbPath);
  try {
    return outbox.listQuarantine(filter);
  } finally {
    outbox.close();
  }
}

/** Counts of the outbox by status from a database file (for `gridledger oracle status`). */
export function outboxStatus(dbPath: string): Record<ReadingStatus, number> {
  const outbox = new Outbox(dbPath);
  try {
    return outbox.counts();
  } finally {
    outbox.close();
  }
}
