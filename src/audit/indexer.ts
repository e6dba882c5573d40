/**
 * The auditor's event indexer: every GridLedger event (registry, both tokens, readings, market)
 * from the deployment block on, read with paged `eth_getLogs`, decoded against the published
 * interfaces and stored raw in SQLite (WAL) with a persisted block cursor.
 *
 * - Resume: each page (events, block hashes, cursor) is written in one SQLite transaction, so a
 *   stop at any moment leaves the database at a page boundary; the next run goes on from there.
 * - Reorgs: each run first compares the stored hashes of the last `reorgWindow` blocks with the
 *   chain's; from the lowest block that changed on, everything is deleted and read again.
 * - Signed readings: every `ReadingAccepted` carries the registers as signed and the meter's
 *   signature (r, vs), so the checks run from the stored events alone, however a batch was
 *   submitted (no transaction is fetched).
 *
 * Works with any ethers `Provider`: Hardhat's in-process provider in tests, a JSON-RPC node.
 * Amounts are stored as decimal text (uint256 does not fit SQLite's integer).
 */
import Database from "better-sqlite3";
import * as fs from "node:fs";
import * as path from "node:path";
import { Contract, getAddress, Log, Provider } from "ethers";
import { CONTRACT_KEYS, ContractKey, DEPLOYMENT_NAMES, INTERFACES } from "./abi";
import { ChainMismatchError, GridLedgerError, ValidationError } from "../sdk/errors";
import { componentLogger, Logger } from "../sdk/logger";

export type Addresses = Record<ContractKey, string>;

/** One decoded event as stored. `args` holds every named argument; integers as decimal strings. */
export interface StoredEvent {
  blockNumber: number;
  logIndex: number;
  blockHash: string;
  txHash: string;
  txIndex: number;
  contract: ContractKey;
  address: string;
  name: string;
  args: Record<string, string | boolean>;
}

export interface IndexerOptions {
  provider: Provider;
  /** SQLite file (created with its folder when missing); ":memory:" for a throw-away index. */
  dbPath: string;
  addresses: Addresses;
  /** First block to read (the deployment block). */
  fromBlock: number;
  /** Blocks per `eth_getLogs` call (default 2,000); halved automatically when a node refuses. */
  blockRange?: number;
  /** Blocks re-checked for a reorganisation on every run (default 64). */
  reorgWindow?: number;
  /** Stay this many blocks behind the head (default 0: index to the head). */
  confirmations?: number;
  /** Stop after this block (tests, partial runs). */
  toBlock?: number;
  /** Stop after this many pages (tests: simulate a stop). */
  maxPages?: number;
  /**
   * When the database indexes another chain or deployment (or the deployment block changed):
   * re-index from scratch (default) or refuse with a `ChainMismatchError`.
   */
  rebuild?: boolean;
  logger?: Logger;
}

export interface IndexResult {
  fromBlock: number;
  toBlock: number;
  pages: number;
  events: number;
  /** First block re-read because its stored hash no longer matched the chain, if any. */
  reorgFrom?: number;
  /** The reorganisation reached below the reorg window: everything was re-read from the deployment block. */
  deepReorg?: boolean;
  /** Why the index was wiped and rebuilt from the deployment block (new chain, new deployment...). */
  rebuilt?: string;
  cursor: number;
}

const SCHEMA = `
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS blocks (
  number INTEGER PRIMARY KEY,
  hash TEXT NOT NULL,
  timestamp INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS events (
  block_number INTEGER NOT NULL,
  log_index INTEGER NOT NULL,
  block_hash TEXT NOT NULL,
  tx_hash TEXT NOT NULL,
  tx_index INTEGER NOT NULL,
  contract TEXT NOT NULL,
  address TEXT NOT NULL,
  name TEXT NOT NULL,
  args TEXT NOT NULL,
  PRIMARY KEY (block_number, log_index)
);
CREATE INDEX IF NOT EXISTS events_name ON events (name);
CREATE INDEX IF NOT EXISTS events_tx ON events (tx_hash);
`;

/** Opens (creating when needed) the audit database. */
export function openAuditDb(dbPath: string): Database.Database {
  if (dbPath !== ":memory:") fs.mkdirSync(path.dirname(path.resolve(dbPath)), { recursive: true });
  const db = new Database(dbPath);
  db.pragma("journal_mode = WAL");
  db.pragma("synchronous = NORMAL");
  db.exec(SCHEMA);
  return db;
}

export function getMeta(db: Database.Database, key: string): string | undefined {
  const row = db.prepare("SELECT value FROM meta WHERE key = ?").get(key) as { value: string } | undefined;
  return row?.value;
}

function setMeta(db: Database.Database, key: string, value: string): void {
  db.prepare("INSERT INTO meta (key, value) VALUES (?, ?) ON CONFLICT(key) DO UPDATE SET value = excluded.value").run(key, value);
}

/** Last block fully indexed, or undefined before the first page. */
export function cursorOf(db: Database.Database): number | undefined {
  const v = getMeta(db, "cursor");
  return v === undefined ? undefined : Number(v);
}

/**
 * Reads deployment records (`<dir>/<Name>.json`, hardhat-deploy format) for the five contracts.
 * The first block is the lowest deployment block among them.
 */
export function loadDeployments(dir: string): { addresses: Addresses; fromBlock: number } {
  const addresses = {} as Addresses;
  let fromBlock = Number.MAX_SAFE_INTEGER;
  for (const key of CONTRACT_KEYS) {
    const file = path.join(dir, `${DEPLOYMENT_NAMES[key]}.json`);
    if (!fs.existsSync(file)) {
      throw new GridLedgerError(`deployment record ${file} not found`, {
        details: `deploy first (npx hardhat deploy --network <name>) or pass --deployments <dir>`,
      });
    }
    const rec = JSON.parse(fs.readFileSync(file, "utf8")) as { address: string; receipt?: { blockNumber?: number } };
    addresses[key] = getAddress(rec.address);
    const b = rec.receipt?.blockNumber;
    if (typeof b === "number" && b < fromBlock) fromBlock = b;
  }
  return { addresses, fromBlock: fromBlock === Number.MAX_SAFE_INTEGER ? 0 : fromBlock };
}

function toPlain(value: unknown): string | boolean {
  if (typeof value === "bigint") return value.toString();
  if (typeof value === "boolean") return value;
  if (typeof value === "number") return String(value);
  return String(value);
}

/** Decodes a log against the interface of the contract that emitted it. */
export function decodeLog(log: Log, byAddress: Map<string, ContractKey>): StoredEvent | undefined {
  const contract = byAddress.get(log.address.toLowerCase());
  if (!contract) return undefined;
  const parsed = INTERFACES[contract].parseLog({ topics: [...log.topics], data: log.data });
  if (!parsed) return undefined;
  const args: Record<string, string | boolean> = {};
  parsed.fragment.inputs.forEach((input, i) => {
    args[input.name] = toPlain(parsed.args[i]);
  });
  return {
    blockNumber: log.blockNumber,
    logIndex: log.index,
    blockHash: log.blockHash,
    txHash: log.transactionHash,
    txIndex: log.transactionIndex,
    contract,
    address: getAddress(log.address),
    name: parsed.name,
    args,
  };
}

/** The indexer; one instance per database. */
export class Indexer {
  readonly db: Database.Database;
  private readonly log: Logger;
  private readonly byAddress: Map<string, ContractKey>;
  private readonly blockRange: number;
  private readonly reorgWindow: number;

  constructor(private readonly options: IndexerOptions, db?: Database.Database) {
    this.db = db ?? openAuditDb(options.dbPath);
    this.log = options.logger ?? componentLogger("audit-indexer");
    this.blockRange = options.blockRange ?? 2000;
    this.reorgWindow = options.reorgWindow ?? 64;
    if (!Number.isInteger(this.blockRange) || this.blockRange <= 0) {
      throw new ValidationError("blockRange", `must be a positive integer, got ${options.blockRange}`);
    }
    if (!Number.isInteger(this.reorgWindow) || this.reorgWindow < 0) {
      throw new ValidationError("reorgWindow", `must be a non-negative integer, got ${options.reorgWindow}`);
    }
    this.byAddress = new Map(CONTRACT_KEYS.map((k) => [options.addresses[k].toLowerCase(), k]));
  }

  /**
   * Ties the database to one chain and one deployment: chain id, genesis hash, the five
   * addresses, the deployment block and its hash. When any differs from what the database
   * holds (a restarted node, a new deployment, a reorganisation below the deployment block) the
   * index is wiped and rebuilt, or refused with `rebuild: false`. Returns why it was rebuilt.
   */
  private async bind(): Promise<string | undefined> {
    const { provider, fromBlock } = this.options;
    const chainId = String((await provider.getNetwork()).chainId);
    const genesis = (await provider.getBlock(0))?.hash ?? "";
    const deployBlock = await provider.getBlock(fromBlock);
    if (!deployBlock?.hash) {
      throw new GridLedgerError(`the deployment block ${fromBlock} is not on this chain (head ${await provider.getBlockNumber()})`, {
        details: "the deployment records belong to another chain: point the auditor at the node that has the deployment, or deploy again",
      });
    }
    const key = CONTRACT_KEYS.map((k) => `${k}=${this.options.addresses[k].toLowerCase()}`).join(",");
    const want: Record<string, string> = { chainId, genesisHash: genesis, addresses: key, fromBlock: String(fromBlock), fromBlockHash: deployBlock.hash };
    const had = Object.fromEntries(Object.keys(want).map((k) => [k, getMeta(this.db, k)]));
    let reason: string | undefined;
    const indexed = getMeta(this.db, "addresses") !== undefined || cursorOf(this.db) !== undefined;
    if (indexed) {
      if (had.chainId !== undefined && had.chainId !== chainId) reason = `a new chain: chain id ${chainId}, the index was of chain id ${had.chainId}`;
      else if (had.genesisHash !== undefined && had.genesisHash !== genesis) {
        reason = `a new chain: genesis block ${genesis}, the index was of ${had.genesisHash} (the node was restarted or reset)`;
      } else if (had.addresses !== key) reason = `a new deployment: ${key}, the index was of ${had.addresses ?? "unknown addresses"}`;
      else if (had.fromBlock !== want.fromBlock || (had.fromBlockHash !== undefined && had.fromBlockHash !== want.fromBlockHash)) {
        reason = `the deployment block changed: block ${fromBlock} is ${deployBlock.hash}, the index had block ${had.fromBlock} as ${had.fromBlockHash} (the chain was reset or reorganised below the deployment)`;
      } else if (had.genesisHash === undefined) reason = "the index was written by an older auditor that did not record its chain";
    }
    if (reason) {
      if (this.options.rebuild === false) {
        throw new ChainMismatchError(`the audit index ${this.options.dbPath} is not of this chain and deployment: ${reason}`, {
          details: `delete the file, or let the auditor rebuild it (omit --no-rebuild); the new index starts at block ${fromBlock}`,
        });
      }
      this.log.warn({ reason }, "audit index rebuilt from the deployment block");
      this.wipe();
    }
    this.db.transaction(() => {
      for (const [k, v] of Object.entries(want)) setMeta(this.db, k, v);
      for (const k of CONTRACT_KEYS) setMeta(this.db, `address.${k}`, getAddress(this.options.addresses[k]));
    })();
    return reason;
  }

  /** Empties every table (a rebuild). */
  private wipe(): void {
    this.db.transaction(() => {
      for (const t of ["meta", "blocks", "events"]) this.db.prepare(`DELETE FROM ${t}`).run();
    })();
  }

  /** Clock constants of the readings contract (immutables: not in events), read once. */
  private async ensureClock(): Promise<void> {
    if (getMeta(this.db, "marketStart") !== undefined) return;
    const readings = new Contract(this.options.addresses.readings, INTERFACES.readings, this.options.provider);
    const [start, len] = await Promise.all([readings.marketStart(), readings.intervalSeconds()]);
    const chainId = (await this.options.provider.getNetwork()).chainId;
    this.db.transaction(() => {
      setMeta(this.db, "marketStart", String(start));
      setMeta(this.db, "intervalSeconds", String(len));
      setMeta(this.db, "chainId", String(chainId));
    })();
  }

  /** One run: check for a reorg, then index from the cursor to the head (or `toBlock`). */
  async run(): Promise<IndexResult> {
    const { provider } = this.options;
    const rebuilt = await this.bind();
    await this.ensureClock();
    const head = await provider.getBlockNumber();
    let target = head - (this.options.confirmations ?? 0);
    if (this.options.toBlock !== undefined) target = Math.min(target, this.options.toBlock);

    let reorgFrom: number | undefined;
    let deepReorg = false;
    const stored = cursorOf(this.db);
    if (stored !== undefined) {
      const r = await this.findReorg(stored, head);
      reorgFrom = r?.from;
      deepReorg = r?.deep ?? false;
    }
    if (reorgFrom !== undefined) {
      if (deepReorg) this.log.warn({ reorgFrom, cursor: stored, window: this.reorgWindow }, "chain reorganised deeper than the reorg window: re-indexing from the deployment block");
      else this.log.warn({ reorgFrom, cursor: stored }, "chain reorganised: re-indexing");
      this.rollback(reorgFrom);
    }

    let cursor = cursorOf(this.db) ?? this.options.fromBlock - 1;
    const startedAt = cursor + 1;
    let pages = 0;
    let events = 0;
    let range = this.blockRange;
    while (cursor < target) {
      if (this.options.maxPages !== undefined && pages >= this.options.maxPages) break;
      const from = cursor + 1;
      const to = Math.min(target, from + range - 1);
      let logs: Log[];
      try {
        logs = await provider.getLogs({ address: CONTRACT_KEYS.map((k) => this.options.addresses[k]), fromBlock: from, toBlock: to });
      } catch (e) {
        if (to > from) {
          range = Math.max(1, Math.floor((to - from + 1) / 2));
          this.log.warn({ from, to, range, err: String(e) }, "getLogs refused: smaller range");
          continue;
        }
        throw e;
      }
      events += await this.storePage(from, to, logs);
      cursor = to;
      pages++;
    }
    return { fromBlock: startedAt, toBlock: cursor, pages, events, reorgFrom, deepReorg: deepReorg || undefined, rebuilt, cursor };
  }

  /**
   * The lowest block whose stored hash no longer matches the chain, within the reorg window
   * below the cursor (or undefined). The cursor block's hash is always stored, so any change
   * below it shows there.
   */
  private async findReorg(cursor: number, head: number): Promise<{ from: number; deep: boolean } | undefined> {
    const low = Math.max(this.options.fromBlock, cursor - this.reorgWindow + 1);
    const rows = this.db
      .prepare("SELECT number, hash FROM blocks WHERE number >= ? AND number <= ? ORDER BY number DESC")
      .all(low, cursor) as { number: number; hash: string }[];
    let fork: number | undefined;
    let matched = false;
    for (const row of rows) {
      const block = row.number <= head ? await this.options.provider.getBlock(row.number) : null;
      if (block && block.hash === row.hash) {
        matched = true;
        break; // everything below is unchanged
      }
      fork = row.number;
    }
    if (fork === undefined) return undefined;
    // Nothing in the window still matches: the fork is deeper than the window. The deployment
    // block is unchanged (checked by \`bind\`), so re-read everything from there.
    const storedBelow = this.db.prepare("SELECT COUNT(*) AS n FROM blocks WHERE number < ?").get(low) as { n: number };
    if (!matched && storedBelow.n > 0) return { from: this.options.fromBlock, deep: true };
    // Blocks between the highest matching stored block and `fork` have no stored hash (no
    // events): re-read them too.
    const below = this.db
      .prepare("SELECT MAX(number) AS n FROM blocks WHERE number < ? AND number >= ?")
      .get(fork, low) as { n: number | null };
    return { from: below.n === null ? low : below.n + 1, deep: false };
  }

  private rollback(fromBlock: number): void {
    this.db.transaction(() => {
      this.db.prepare("DELETE FROM events WHERE block_number >= ?").run(fromBlock);
      this.db.prepare("DELETE FROM blocks WHERE number >= ?").run(fromBlock);
      setMeta(this.db, "cursor", String(fromBlock - 1));
    })();
  }

  private async storePage(from: number, to: number, logs: Log[]): Promise<number> {
    const { provider } = this.options;
    const decoded: StoredEvent[] = [];
    for (const log of logs) {
      if (log.removed) continue;
      const ev = decodeLog(log, this.byAddress);
      if (ev) decoded.push(ev);
    }
    // Block hashes and times: every block with an event, and the page's last block.
    const numbers = new Set(decoded.map((e) => e.blockNumber));
    numbers.add(to);
    const blocks = new Map<number, { hash: string; timestamp: number }>();
    for (const n of numbers) {
      const b = await provider.getBlock(n);
      if (!b || !b.hash) throw new GridLedgerError(`block ${n} not found while indexing`, { details: "the node may be syncing" });
      blocks.set(n, { hash: b.hash, timestamp: b.timestamp });
    }
    // A log whose block hash differs from the block we just read: the chain moved under us.
    for (const e of decoded) {
      if (blocks.get(e.blockNumber)!.hash !== e.blockHash) {
        throw new GridLedgerError(`block ${e.blockNumber} changed while indexing`, { details: "re-run the indexer" });
      }
    }
    const insertEvent = this.db.prepare(
      `INSERT OR REPLACE INTO events (block_number, log_index, block_hash, tx_hash, tx_index, contract, address, name, args)
       VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`,
    );
    const insertBlock = this.db.prepare("INSERT OR REPLACE INTO blocks (number, hash, timestamp) VALUES (?, ?, ?)");
    this.db.transaction(() => {
      for (const e of decoded) {
        insertEvent.run(e.blockNumber, e.logIndex, e.blockHash, e.txHash, e.txIndex, e.contract, e.address, e.name, JSON.stringify(e.args));
      }
      for (const [n, b] of blocks) insertBlock.run(n, b.hash, b.timestamp);
      setMeta(this.db, "cursor", String(to));
    })();
    this.log.debug({ from, to, events: decoded.length }, "indexed page");
    return decoded.length;
  }

  close(): void {
    this.db.close();
  }
}

/** Every stored event in chain order. */
export function loadEvents(db: Database.Database): StoredEvent[] {
  const rows = db
    .prepare("SELECT * FROM events ORDER BY block_number, log_index")
    .all() as {
    block_number: number;
    log_index: number;
    block_hash: string;
    tx_hash: string;
    tx_index: number;
    contract: ContractKey;
    address: string;
    name: string;
    args: string;
  }[];
  return rows.map((r) => ({
    blockNumber: r.block_number,
    logIndex: r.log_index,
    blockHash: r.block_hash,
    txHash: r.tx_hash,
    txIndex: r.tx_index,
    contract: r.contract,
    address: r.address,
    name: r.name,
    args: JSON.parse(r.args),
  }));
}

/** Block timestamps by number (blocks with events and page ends). */
export function loadBlockTimes(db: Database.Database): Map<number, number> {
  const rows = db.prepare("SELECT number, timestamp FROM blocks").all() as { number: number; timestamp: number }[];
  return new Map(rows.map((r) => [r.number, r.timestamp]));
}
