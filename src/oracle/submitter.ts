import { Contract, Interface, Provider, Transaction, TransactionReceipt, isError } from "ethers";
import { ContractRevertError, TransientError } from "../sdk/errors";
import type { Logger } from "../sdk/logger";
import { RetryOptions, isTransientError, withRetry } from "../sdk/retry";
import { METER_READINGS_ABI, REJECT_ALREADY_RECORDED, REJECT_REASONS } from "./abi";
import { signedReading } from "../sdk/eip712";
import type { OracleMetrics } from "./metrics";
import type { Outbox, OutboxReading } from "./outbox";
import type { OracleWallet } from "./keystore";

export interface SubmitterOptions {
  outbox: Outbox;
  provider: Provider;
  wallet: OracleWallet;
  readingsAddress: string;
  chainId: bigint;
  batchSize: number;
  confirmations: number;
  maxInFlight: number;
  dropAfterSeconds: number;
  revertBackoffMs: number;
  retry: RetryOptions;
  logger?: Logger;
  metrics?: OracleMetrics;
  signal?: AbortSignal;
  /** Called on every transient chain error before a retry (health and metrics). */
  onChainError?: (e: unknown) => void;
}

const iface = new Interface(METER_READINGS_ABI);

/**
 * Sends pending outbox readings in batches and confirms them from receipts.
 * - Write-ahead: a transaction is signed locally and its hash and nonce stored (rows
 *   `submitted`) before it is broadcast, so a crash at any point leaves a row that can be
 *   checked against the chain.
 * - Nonces are managed here (one account, several transactions in flight), resynchronised
 *   from the node on a nonce race.
 * - Transient errors are retried with backoff; a revert never is: the readings stay pending
 *   and the submitter waits `revertBackoffMs` (a revert means the oracle lost its role or the
 *   contract is paused, not a bad reading: bad readings are rejected by event).
 * - Confirmation after `confirmations` blocks, from the receipt's events: `ReadingAccepted`
 *   and `ReadingRejected(AlreadyRecorded)` mean done, any other reason quarantines the row.
 */
export class Submitter {
  private readonly contract: Contract;
  private nextNonce: number | undefined;
  private pausedUntil = 0;
  private readonly log?: Logger;

  constructor(private readonly o: SubmitterOptions) {
    this.contract = new Contract(o.readingsAddress, METER_READINGS_ABI, o.provider);
    this.log = o.logger;
  }

  private retry<T>(fn: () => Promise<T>, what: string): Promise<T> {
    return withRetry(fn, {
      ...this.o.retry,
      // A nonce race is fixed by re-signing with a fresh nonce, not by resending the same bytes.
      isTransient: (e) => !(e as { nonceRace?: boolean }).nonceRace && isTransientError(e),
      signal: this.o.signal,
      onRetry: (e, attempt, delayMs) => (this.o.onChainError?.(e), this.log?.warn({ what, attempt, delayMs, err: (e as Error).message?.slice(0, 300) }, "transient error, retrying")),
    });
  }

  /** On start: every `submitted` row whose transaction has no receipt is checked with `isRecorded`. */
  async resume(): Promise<void> {
    const byTx = groupByTx(this.o.outbox.submitted());
    for (const [hash, rows] of byTx) {
      const receipt = await this.retry(() => this.o.provider.getTransactionReceipt(hash), "getTransactionReceipt");
      if (receipt) continue; // confirm() handles it
      await this.recheck(rows, `transaction ${hash} has no receipt after restart`);
    }
  }

  /** Readings recorded on chain are done; the others go back to pending. */
  private async recheck(rows: OutboxReading[], why: string): Promise<void> {
    const back: OutboxReading[] = [];
    for (const r of rows) {
      const recorded = (await this.retry(() => this.contract.isRecorded(r.meterId, r.interval), "isRecorded")) as boolean;
      if (recorded) {
        this.o.outbox.markConfirmed(r.meterId, r.interval, "already_recorded");
        this.o.metrics?.confirmed.inc({ outcome: "already_recorded" });
      } else back.push(r);
    }
    if (back.length) this.o.outbox.markPending(back);
    this.log?.info({ why, recorded: rows.length - back.length, resend: back.length }, "re-checked readings against the chain");
  }

  /** One step: confirm what can be confirmed, then send what can be sent. */
  async step(): Promise<{ sent: number; confirmed: number }> {
    const confirmed = await this.confirm();
    let sent = 0;
    if (Date.now() >= this.pausedUntil) {
      while (!this.o.signal?.aborted && this.inFlight() < this.o.maxInFlight) {
        const n = await this.sendBatch();
        if (n === 0) break;
        sent += n;
      }
    }
    return { sent, confirmed };
  }

  private inFlight(): number {
    return groupByTx(this.o.outbox.submitted()).size;
  }

  async confirm(): Promise<number> {
    const byTx = groupByTx(this.o.outbox.submitted());
    if (byTx.size === 0) return 0;
    const head = await this.retry(() => this.o.provider.getBlockNumber(), "getBlockNumber");
    const nowS = Math.floor(Date.now() / 1000);
    let n = 0;
    for (const [hash, rows] of byTx) {
      const receipt = await this.retry(() => this.o.provider.getTransactionReceipt(hash), "getTransactionReceipt");
      if (!receipt) {
        const age = nowS - (rows[0].submittedAt ?? nowS);
        if (age > this.o.dropAfterSeconds) {
          this.nextNonce = undefined;
          await this.recheck(rows, `transaction ${hash} not mined after ${age} s`);
        }
        continue;
      }
      if (head - receipt.blockNumber + 1 < this.o.confirmations) continue;
      n += this.applyReceipt(receipt, rows);
      const unresolved = rows.filter((r) => this.o.outbox.getReading(r.meterId, r.interval)?.status === "submitted");
      if (unresolved.length) await this.recheck(unresolved, `transaction ${hash} ${receipt.status === 0 ? "reverted" : "has no event for them"}`);
      if (receipt.status === 0) {
        this.o.metrics?.txs.inc({ result: "reverted" });
        this.pausedUntil = Date.now() + this.o.revertBackoffMs;
        this.nextNonce = undefined;
      }
    }
    return n;
  }

  private applyReceipt(receipt: TransactionReceipt, rows: OutboxReading[]): number {
    if (receipt.status === 0) return 0;
    const want = new Set(rows.map((r) => `${r.meterId.toLowerCase()}:${r.interval}`));
    let n = 0;
    this.o.outbox.transaction(() => {
      for (const log of receipt.logs) {
        if (log.address.toLowerCase() !== this.o.readingsAddress.toLowerCase()) continue;
        const ev = iface.parseLog(log);
        if (!ev) continue;
        const meterId = (ev.args.meterId as string).toLowerCase();
        const interval = Number(ev.args.interval);
        if (!want.has(`${meterId}:${interval}`)) continue;
        if (ev.name === "ReadingAccepted") {
          this.o.outbox.markConfirmed(meterId, interval, "accepted", receipt.hash);
          this.o.metrics?.confirmed.inc({ outcome: "accepted" });
          n++;
        } else if (ev.name === "ReadingRejected") {
          const reason = Number(ev.args.reason);
          if (reason === REJECT_ALREADY_RECORDED) {
            this.o.outbox.markConfirmed(meterId, interval, "already_recorded", receipt.hash);
            this.o.metrics?.confirmed.inc({ outcome: "already_recorded" });
            n++;
          } else {
            const name = REJECT_REASONS[reason] ?? `reason ${reason}`;
            const row = rows.find((r) => r.meterId.toLowerCase() === meterId && r.interval === interval)!;
            this.o.outbox.markRejected(meterId, interval, name);
            this.o.outbox.quarantine({
              source: "chain", meterKey: row.meterKey, meterId, interval, field: "reading",
              reason: `MeterReadings rejected the reading: ${name} (tx ${receipt.hash})`,
              raw: JSON.stringify({ interval, importWhTotal: row.importWhTotal.toString(), exportWhTotal: row.exportWhTotal.toString() }),
            });
            this.o.metrics?.rejected.inc({ reason: name });
            this.o.metrics?.quarantined.inc({ source: "chain", field: "reading" });
            this.log?.warn({ meterId, meterKey: row.meterKey, interval, reason: name, tx: receipt.hash }, "reading rejected on chain");
          }
        }
      }
    });
    return n;
  }

  private quarantineUnsendable(row: OutboxReading, reason: string): void {
    this.o.outbox.transaction(() => {
      this.o.outbox.markRejected(row.meterId, row.interval, "BadStoredSignature");
      this.o.outbox.quarantine({
        source: "outbox", meterKey: row.meterKey, meterId: row.meterId, interval: row.interval, field: "signature",
        reason, raw: JSON.stringify({ interval: row.interval, importWhTotal: row.importWhTotal.toString(), exportWhTotal: row.exportWhTotal.toString(), signature: row.signature }),
      });
    });
    this.o.metrics?.quarantined.inc({ source: "outbox", field: "signature" });
    this.log?.error({ meterId: row.meterId, meterKey: row.meterKey, interval: row.interval, reason }, "reading not sendable; quarantined");
  }

  private async currentInterval(): Promise<number> {
    return Number(await this.retry(() => this.contract.currentInterval(), "currentInterval"));
  }

  /** Sends one batch of pending readings of ended intervals. Returns how many readings were sent. */
  async sendBatch(): Promise<number> {
    const current = await this.currentInterval();
    const pending = this.o.outbox.pending(this.o.batchSize, current);
    // The contract takes the compact (r, vs) form of the stored 65-byte signature; a stored
    // signature that cannot be read (a damaged outbox row) is quarantined, not sent for ever.
    const rows: OutboxReading[] = [];
    const batch: ReturnType<typeof signedReading>[] = [];
    for (const r of pending) {
      try {
        batch.push(signedReading(r, r.signature));
        rows.push(r);
      } catch (e) {
        this.quarantineUnsendable(r, `the stored signature cannot be read: ${(e as Error).message}`);
      }
    }
    if (rows.length === 0) return 0;
    const data = iface.encodeFunctionData("submitReadings", [batch]);
    const from = this.o.wallet.address;
    const to = this.o.readingsAddress;

    let gasLimit: bigint;
    try {
      gasLimit = await this.retry(() => this.o.provider.estimateGas({ from, to, data }), "estimateGas");
    } catch (e) {
      if (isError(e, "CALL_EXCEPTION")) {
        const err = decodeRevert(e);
        this.o.metrics?.txs.inc({ result: "revert" });
        this.pausedUntil = Date.now() + this.o.revertBackoffMs;
        this.log?.error({ err: err.shortMessage, errorName: err.errorName, readings: rows.length, backoffMs: this.o.revertBackoffMs }, "batch would revert; readings stay pending");
        return 0;
      }
      throw e;
    }
    gasLimit = (gasLimit * 12n) / 10n + 10_000n;

    if (this.nextNonce === undefined) {
      this.nextNonce = await this.retry(() => this.o.provider.getTransactionCount(from, "pending"), "getTransactionCount");
    }
    const nonce = this.nextNonce;
    const fee = await this.retry(() => this.o.provider.getFeeData(), "getFeeData");
    const tx = Transaction.from({
      to, data, nonce, gasLimit, chainId: this.o.chainId,
      ...(fee.maxFeePerGas !== null
        ? { type: 2, maxFeePerGas: fee.maxFeePerGas, maxPriorityFeePerGas: fee.maxPriorityFeePerGas ?? 0n }
        : { type: 0, gasPrice: fee.gasPrice ?? 0n }),
    });
    const signed = await this.o.wallet.signTransaction(tx);
    const hash = Transaction.from(signed).hash!;

    // Write-ahead: the rows name their transaction before it leaves this process.
    this.o.outbox.markSubmitted(rows, hash, nonce);
    try {
      await this.retry(async () => {
        try {
          await this.o.provider.broadcastTransaction(signed);
        } catch (e) {
          const msg = String((e as Error).message ?? "");
          if (/already known|known transaction/i.test(msg)) return; // our own resend: fine
          if (/nonce (is )?too low|nonce has already been used/i.test(msg) || isError(e, "NONCE_EXPIRED")) {
            throw Object.assign(new Error(msg), { nonceRace: true });
          }
          throw e;
        }
      }, "broadcastTransaction");
    } catch (e) {
      this.nextNonce = undefined;
      this.o.metrics?.txs.inc({ result: "send_failed" });
      if ((e as { nonceRace?: boolean }).nonceRace) {
        // Another transaction took the nonce (restart, a second process): check what landed, resend the rest.
        await this.recheck(rows, "nonce already used");
        return 0;
      }
      this.o.outbox.markPending(rows);
      throw new TransientError(`sending a batch of ${rows.length} readings failed`, { cause: e, details: (e as Error).message });
    }
    this.nextNonce = nonce + 1;
    this.o.metrics?.txs.inc({ result: "sent" });
    this.o.metrics?.submitted.inc(rows.length);
    this.log?.info({ tx: hash, nonce, readings: rows.length, firstInterval: rows[0].interval }, "batch sent");
    return rows.length;
  }
}

function groupByTx(rows: OutboxReading[]): Map<string, OutboxReading[]> {
  const m = new Map<string, OutboxReading[]>();
  for (const r of rows) {
    if (!r.txHash) continue;
    const list = m.get(r.txHash) ?? [];
    list.push(r);
    m.set(r.txHash, list);
  }
  return m;
}

const ERROR_ABI = new Interface([
  "error AccessControlUnauthorizedAccount(address account, bytes32 neededRole)",
  "error EnforcedPause()",
  "error ReadingsInvalidIntervalSeconds(uint32 intervalSeconds)",
]);

/** A CALL_EXCEPTION as a ContractRevertError with the custom error's name and arguments when known. */
export function decodeRevert(e: unknown): ContractRevertError {
  const data = (e as { data?: string }).data;
  if (data && data !== "0x") {
    try {
      const parsed = ERROR_ABI.parseError(data);
      if (parsed) {
        const args: Record<string, unknown> = {};
        parsed.fragment.inputs.forEach((inp, i) => (args[inp.name] = parsed.args[i]));
        return new ContractRevertError(parsed.name, args, `submitReadings reverted with ${parsed.name}`, { cause: e });
      }
    } catch {
      /* unknown error selector */
    }
  }
  return new ContractRevertError("unknown", { data }, `submitReadings reverted: ${(e as Error).message?.slice(0, 200)}`, { cause: e });
}
