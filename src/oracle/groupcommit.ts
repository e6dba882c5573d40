import type { IngestResult, RawSample, SampleSink } from "./types";

/**
 * Group commit for sources that deliver many small messages (MQTT: one message per meter and
 * second). Samples handed in within `maxDelayMs` (or until `maxSamples` are waiting) go to the
 * sink's `sampleBatch` together: one SQLite transaction, one fsync for all of them instead of one
 * each. `push` resolves once its samples are durable (or rejects when the batch could not be
 * stored), so a caller that acknowledges (HTTP) does so only for what is on disk.
 *
 * What a crash can cost: the samples of the batch being collected (at most `maxDelayMs`), which
 * were acknowledged to nobody. No interval reading is lost with them: a reading is derived, in the
 * same transaction, from the meter's last durable sample (the cursor), so after a restart the next
 * sample derives it from that cursor instead.
 */
export class GroupCommit {
  private queue: { samples: RawSample[]; resolve: (r: IngestResult[]) => void; reject: (e: unknown) => void }[] = [];
  private waiting = 0;
  private timer: NodeJS.Timeout | undefined;
  private chain: Promise<void> = Promise.resolve();
  private scheduled = false;
  /** Batches committed and samples in them (for metrics and the bench). */
  commits = 0;
  committedSamples = 0;

  constructor(private readonly sink: SampleSink, private readonly o: { maxDelayMs?: number; maxSamples?: number } = {}) {}

  push(samples: RawSample[]): Promise<IngestResult[]> {
    if (samples.length === 0) return Promise.resolve([]);
    return new Promise((resolve, reject) => {
      this.queue.push({ samples, resolve, reject });
      this.waiting += samples.length;
      if (this.waiting >= (this.o.maxSamples ?? 2000)) void this.flush();
      else if (!this.scheduled) this.timer ??= setTimeout(() => void this.flush(), this.o.maxDelayMs ?? 5);
    });
  }

  /**
   * Commits everything waiting, after any commit still running (one at a time, in order). The
   * batch is taken when its commit starts, not when it is scheduled: while a commit runs (an fsync,
   * the signer threads), everything that arrives meanwhile goes into the next one, so batches grow
   * with the load instead of queueing up behind each other.
   */
  flush(): Promise<void> {
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    if (!this.scheduled) {
      this.scheduled = true;
      this.chain = this.chain.then(() => {
        this.scheduled = false;
        const queue = this.queue;
        this.queue = [];
        this.waiting = 0;
        return queue.length ? this.commit(queue) : undefined;
      });
    }
    return this.chain;
  }

  private async commit(queue: { samples: RawSample[]; resolve: (r: IngestResult[]) => void; reject: (e: unknown) => void }[]): Promise<void> {
    const all = queue.flatMap((q) => q.samples);
    let results: IngestResult[];
    try {
      results = this.sink.sampleBatchAsync ? await this.sink.sampleBatchAsync(all) : this.sink.sampleBatch ? this.sink.sampleBatch(all) : all.map((s) => this.sink.sample(s));
    } catch (e) {
      for (const q of queue) q.reject(e);
      return;
    }
    this.commits++;
    this.committedSamples += all.length;
    let k = 0;
    for (const q of queue) {
      q.resolve(results.slice(k, k + q.samples.length));
      k += q.samples.length;
    }
  }

  /** Commits what is waiting and stops the timer (on shutdown); resolves when everything is committed. */
  close(): Promise<void> {
    return this.flush();
  }
}
