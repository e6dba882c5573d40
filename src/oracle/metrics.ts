import { Counter, Gauge, Registry, collectDefaultMetrics } from "prom-client";

/** The oracle's Prometheus metrics, on a registry of its own (several daemons can share a process in tests). */
export function createMetrics(options: { defaultMetrics?: boolean } = {}) {
  const registry = new Registry();
  if (options.defaultMetrics) collectDefaultMetrics({ register: registry, prefix: "gridledger_oracle_" });
  const m = {
    registry,
    received: new Counter({ name: "gridledger_oracle_samples_received_total", help: "Samples received from sources", labelNames: ["source"], registers: [registry] }),
    accepted: new Counter({ name: "gridledger_oracle_samples_accepted_total", help: "Samples that passed validation", labelNames: ["source"], registers: [registry] }),
    quarantined: new Counter({ name: "gridledger_oracle_quarantined_total", help: "Payloads, samples and readings refused into the quarantine", labelNames: ["source", "field"], registers: [registry] }),
    readings: new Counter({ name: "gridledger_oracle_readings_queued_total", help: "Signed interval readings written to the outbox", registers: [registry] }),
    submitted: new Counter({ name: "gridledger_oracle_readings_submitted_total", help: "Readings sent in a transaction", registers: [registry] }),
    confirmed: new Counter({ name: "gridledger_oracle_readings_confirmed_total", help: "Readings confirmed on chain (accepted or already recorded)", labelNames: ["outcome"], registers: [registry] }),
    rejected: new Counter({ name: "gridledger_oracle_readings_rejected_total", help: "Readings the contract rejected (ReadingRejected other than AlreadyRecorded)", labelNames: ["reason"], registers: [registry] }),
    txs: new Counter({ name: "gridledger_oracle_transactions_total", help: "Transactions sent", labelNames: ["result"], registers: [registry] }),
    loopFailures: new Counter({ name: "gridledger_oracle_loop_failures_total", help: "Loop iterations that failed", labelNames: ["step"], registers: [registry] }),
    outboxDepth: new Gauge({ name: "gridledger_oracle_outbox_depth", help: "Readings waiting for the chain (pending + submitted)", labelNames: ["status"], registers: [registry] }),
    lagSeconds: new Gauge({ name: "gridledger_oracle_lag_seconds", help: "Seconds since the end of the oldest interval with an unconfirmed reading (0 when none)", registers: [registry] }),
    chainErrors: new Counter({ name: "gridledger_oracle_chain_errors_total", help: "Failed calls to the chain (each retry and each failed submit step)", registers: [registry] }),
    outboxWriteFailures: new Counter({ name: "gridledger_oracle_outbox_write_failures_total", help: "Samples or refusals the outbox could not store (disk full, I/O error)", registers: [registry] }),
    sourceUp: new Gauge({ name: "gridledger_oracle_source_up", help: "1 when the source can receive (broker connected), 0 when not", labelNames: ["source"], registers: [registry] }),
    clockSkewSeconds: new Gauge({ name: "gridledger_oracle_chain_clock_skew_seconds", help: "Latest block timestamp minus the daemon's clock, in seconds (positive: the chain is ahead)", registers: [registry] }),
    submitterCanSubmit: new Gauge({ name: "gridledger_oracle_submitter_can_submit", help: "1 when the submitting account holds ORACLE_ROLE, 0 when not", registers: [registry] }),
    lastLoopSeconds: new Gauge({ name: "gridledger_oracle_last_loop_timestamp_seconds", help: "Unix time of the last completed loop iteration", registers: [registry] }),
  };
  return m;
}

export type OracleMetrics = ReturnType<typeof createMetrics>;
