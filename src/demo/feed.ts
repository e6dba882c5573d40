/**
 * The simulator's meters fed through the real oracle daemon (`startOracle`): an in-memory
 * queue of register samples as an `iterableSource`, the daemon's SQLite outbox in a temporary
 * directory, EIP-712 signing with the gateway key from an encrypted keystore, and batched
 * submission. The demo drives the daemon's loop with `tick()` instead of its timer, so that
 * every interval's readings are on chain before the keeper clears it.
 */
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { Provider, Wallet } from "ethers";
import pino from "pino";
import { startOracle, OracleHandle } from "../oracle/daemon";
import { parseConfig } from "../oracle/config";
import { writeKeystore } from "../oracle/keystore";
import { iterableSource } from "../oracle/sources/iterable";
import type { RawSample, Source } from "../oracle/types";
import { GridLedgerError } from "../sdk/errors";

type Sample = Omit<RawSample, "source">;

/** An async iterable fed by `push`; `drained()` resolves once the consumer has taken everything. */
export class SampleQueue implements AsyncIterable<Sample> {
  private items: Sample[] = [];
  private waiting?: (r: IteratorResult<Sample>) => void;
  private idle: (() => void)[] = [];
  private closed = false;

  push(...samples: Sample[]): void {
    this.items.push(...samples);
    this.wake();
  }

  close(): void {
    this.closed = true;
    this.wake();
  }

  /** Resolves when every pushed sample was handed to the consumer and it asked for the next. */
  drained(): Promise<void> {
    if (this.items.length === 0 && this.waiting) return Promise.resolve();
    return new Promise((r) => this.idle.push(r));
  }

  private wake(): void {
    const w = this.waiting;
    if (!w) return;
    if (this.items.length) {
      this.waiting = undefined;
      w({ value: this.items.shift()!, done: false });
    } else if (this.closed) {
      this.waiting = undefined;
      w({ value: undefined, done: true });
    }
  }

  [Symbol.asyncIterator](): AsyncIterator<Sample> {
    return {
      next: () => {
        if (this.items.length) return Promise.resolve({ value: this.items.shift()!, done: false });
        if (this.closed) return Promise.resolve({ value: undefined, done: true });
        const p = new Promise<IteratorResult<Sample>>((r) => (this.waiting = r));
        for (const r of this.idle.splice(0)) r();
        return p;
      },
    };
  }
}

export interface FeedOptions {
  /** The chain as the daemon sees it (the demo's provider). */
  provider: Provider;
  network: string;
  readingsAddress: string;
  registryAddress: string;
  /** Holds ORACLE_ROLE and sends the batches. */
  submitter: Wallet;
  /** The meters' registered signer. */
  gateway: Wallet;
  meters: { meterKey: string; meterId: string }[];
  /** Unix seconds as the chain sees them. */
  now: () => number;
  /** Log level of the daemon (its JSON lines go to stderr); default silent. */
  logLevel?: string;
}

const PASSWORD = "gridledger-demo-only";

function isWritable(dir: string): boolean {
  try {
    fs.accessSync(dir, fs.constants.W_OK);
    return true;
  } catch {
    return false;
  }
}

/** The oracle daemon with a sample queue as its only source. */
export class OracleFeed {
  readonly dir: string;
  private handle?: OracleHandle;
  private queue?: SampleQueue;
  private source?: Source;
  restarts = 0;

  private constructor(private readonly o: FeedOptions, dir: string) {
    this.dir = dir;
  }

  static async create(o: FeedOptions): Promise<OracleFeed> {
    // The outbox is durable (fsync on every commit); in memory-backed /dev/shm that costs nothing.
    const tmp = fs.existsSync("/dev/shm") && isWritable("/dev/shm") ? "/dev/shm" : os.tmpdir();
    const dir = fs.mkdtempSync(path.join(tmp, "gridledger-demo-"));
    const feed = new OracleFeed(o, dir);
    await writeKeystore(path.join(dir, "keys"), o.submitter, PASSWORD, true);
    await writeKeystore(path.join(dir, "keys"), o.gateway, PASSWORD, true);
    await feed.start();
    return feed;
  }

  get outbox() {
    return this.handle!.outbox;
  }

  private async start(): Promise<void> {
    const config = parseConfig({
      network: this.o.network,
      keystoreDir: path.join(this.dir, "keys"),
      keystorePassword: PASSWORD,
      submitter: this.o.submitter.address,
      gateway: this.o.gateway.address,
      readingsAddress: this.o.readingsAddress,
      registryAddress: this.o.registryAddress,
      dbPath: path.join(this.dir, "oracle.sqlite"),
      meters: this.o.meters,
      batchSize: 50,
      maxInFlight: 4,
      // The demo drives the loop with tick(); the timer only backs it up.
      pollMs: 3_600_000,
      registryRefreshSeconds: 3_600,
      boundaryGraceSeconds: 0,
      revertBackoffMs: 200,
      retry: { retries: 3, baseMs: 50, maxMs: 500 },
      http: { enabled: false },
    });
    this.queue = new SampleQueue();
    this.source = iterableSource("household-simulator", this.queue);
    this.handle = await startOracle(config, {
      provider: this.o.provider,
      sources: [this.source],
      now: this.o.now,
      logger: pino({ level: this.o.logLevel ?? "silent" }, pino.destination(2)),
    });
  }

  /**
   * Restarts the daemon on the same outbox: how an operator makes it re-read the registry after
   * registering a meter (the daemon also refreshes on its own every `registryRefreshSeconds`).
   */
  async restart(): Promise<void> {
    await this.stop();
    await this.start();
    this.restarts++;
  }

  /** Hands samples to the pipeline and waits until it has taken them all. */
  async push(samples: Sample[]): Promise<void> {
    this.queue!.push(...samples);
    const stopped = this.source!.done!.then(() => {
      throw new GridLedgerError("the oracle's simulator source stopped");
    });
    await Promise.race([this.queue!.drained(), stopped]);
  }

  /** Runs the daemon's loop until no reading is pending or in flight. */
  async land(timeoutMs = 120_000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    for (let i = 0; Date.now() < deadline; i++) {
      await this.handle!.tick();
      const c = this.handle!.outbox.counts();
      if (c.pending === 0 && c.submitted === 0) return;
      if (i > 2) await new Promise((r) => setTimeout(r, 20));
    }
    throw new GridLedgerError("the oracle did not land its readings", { details: JSON.stringify(this.handle!.outbox.counts()) });
  }

  async stop(): Promise<void> {
    this.queue?.close();
    await this.handle?.stop();
    this.handle = undefined;
  }

  /** Stops the daemon and removes its temporary directory. */
  async close(): Promise<void> {
    await this.stop();
    fs.rmSync(this.dir, { recursive: true, force: true });
  }
}
