/**
 * The storage agent daemon: `init` (state file, status source), a loop that runs the agent's
 * step every `pollMs` (each iteration catches and counts its own failures, with backoff), a
 * graceful stop on SIGTERM that finishes the current step, and `/healthz` and `/metrics` on
 * 127.0.0.1. Health is 503 while the latest step failed or while the running interval has not
 * been decided yet for longer than `pollMs * 3` (its orders would freeze without the agent).
 */
import { Counter, Gauge, Registry, collectDefaultMetrics } from "prom-client";
import { componentLogger, Logger } from "../../sdk/logger";
import { backoffDelay, isTransientError, sleep } from "../../sdk/retry";
import { HttpServerHandle, startHttpServer } from "../../oracle/sources/http";
import { StorageAgent, StorageAgentOptions, StepResult } from "./agent";

export interface StorageDaemonOptions extends StorageAgentOptions {
  /** How often to look for a new interval (default 15 s). */
  pollMs?: number;
  /** Port of /healthz and /metrics on 127.0.0.1 (0 = any free port, undefined = none). */
  httpPort?: number;
  /** Stop after this many decisions (tests). */
  maxDecisions?: number;
  onStep?: (r: StepResult) => void;
}

export interface StorageDaemonHandle {
  agent: StorageAgent;
  httpPort?: number;
  done: Promise<void>;
  stop(): Promise<void>;
  health(): { ok: boolean; [k: string]: unknown };
}

export async function startStorageAgent(o: StorageDaemonOptions): Promise<StorageDaemonHandle> {
  const log: Logger = o.logger ?? componentLogger("agent-storage");
  const agent = new StorageAgent({ ...o, logger: log });
  const pollMs = o.pollMs ?? 15_000;
  const registry = new Registry();
  if (o.httpPort !== undefined) collectDefaultMetrics({ register: registry, prefix: "gridledger_agent_storage_" });
  const m = {
    decisions: new Counter({ name: "gridledger_agent_storage_decisions_total", help: "Intervals decided", registers: [registry] }),
    orders: new Counter({ name: "gridledger_agent_storage_order_transactions_total", help: "Order transactions sent", labelNames: ["side", "action"], registers: [registry] }),
    failures: new Counter({ name: "gridledger_agent_storage_loop_failures_total", help: "Loop iterations that failed", labelNames: ["kind"], registers: [registry] }),
    soc: new Gauge({ name: "gridledger_agent_storage_soc_wh", help: "Battery energy in store at the last decision (Wh)", registers: [registry] }),
    buyLimit: new Gauge({ name: "gridledger_agent_storage_buy_limit_per_kwh", help: "Buy limit of the last decision (0 = no buy order)", registers: [registry] }),
    sellLimit: new Gauge({ name: "gridledger_agent_storage_sell_limit_per_kwh", help: "Sell limit of the last decision (0 = no sell order)", registers: [registry] }),
    buyCap: new Gauge({ name: "gridledger_agent_storage_buy_cap_wh", help: "Buy cap of the last decision (Wh per interval)", registers: [registry] }),
    sellCap: new Gauge({ name: "gridledger_agent_storage_sell_cap_wh", help: "Sell cap of the last decision (Wh per interval)", registers: [registry] }),
    interval: new Gauge({ name: "gridledger_agent_storage_decided_interval", help: "Last interval decided", registers: [registry] }),
  };
  let stopping = false;
  let lastError: string | undefined;
  let failuresInARow = 0;
  let decisions = 0;
  let lastDecided = -1;
  let lastDecidedAt = Date.now();
  const abort = new AbortController();
  let wake: (() => void) | undefined;

  const health = () => {
    const late = Date.now() - lastDecidedAt > Math.max(3 * pollMs, 60_000) && lastError !== undefined;
    return { ok: lastError === undefined && !late, failuresInARow, lastError, lastDecidedInterval: lastDecided, decisions, dryRun: Boolean(o.dryRun), source: o.source.name };
  };
  let http: HttpServerHandle | undefined;
  if (o.httpPort !== undefined) {
    http = await startHttpServer({
      port: o.httpPort,
      ingest: false,
      health,
      metrics: async () => ({ contentType: registry.contentType, body: await registry.metrics() }),
      logger: log,
    });
    log.info({ url: http.url }, "health and metrics served");
  }
  log.info({ member: o.member, source: o.source.name, dryRun: Boolean(o.dryRun), pollMs, config: Object.fromEntries(Object.entries(agent.config).map(([k, v]) => [k, String(v)])) }, "storage agent started");

  const loop = async () => {
    while (!stopping) {
      try {
        const r = await agent.step();
        failuresInARow = 0;
        lastError = undefined;
        if (!r.skipped) {
          decisions++;
          lastDecided = r.interval;
          lastDecidedAt = Date.now();
          m.decisions.inc();
          m.interval.set(r.interval);
          const d = r.decision!;
          m.soc.set(Number(d.basis.socWh));
          m.buyLimit.set(Number(d.buy?.limitPricePerKWh ?? 0n));
          m.sellLimit.set(Number(d.sell?.limitPricePerKWh ?? 0n));
          m.buyCap.set(Number(d.buy?.capWhPerInterval ?? 0n));
          m.sellCap.set(Number(d.sell?.capWhPerInterval ?? 0n));
          if (!r.dryRun) for (const side of ["buy", "sell"] as const) if (r.actions[side] !== "none") m.orders.inc({ side, action: r.actions[side] });
          o.onStep?.(r);
          if (o.maxDecisions !== undefined && decisions >= o.maxDecisions) break;
        }
        await new Promise<void>((resolve) => {
          wake = resolve;
          setTimeout(resolve, pollMs);
        });
      } catch (e) {
        const transient = isTransientError(e);
        m.failures.inc({ kind: transient ? "transient" : "error" });
        lastError = (e as Error).message?.slice(0, 300);
        failuresInARow++;
        // Orders must be in before the interval ends: retry soon, at most every pollMs.
        const delayMs = backoffDelay(failuresInARow, Math.min(1_000, pollMs), pollMs);
        log.warn({ err: lastError, transient, failuresInARow, delayMs }, "storage agent step failed; retrying");
        await sleep(delayMs, abort.signal);
      }
    }
  };
  const done = loop().finally(async () => {
    await o.source.close();
    await http?.close();
  });
  return {
    agent,
    httpPort: http?.port,
    done,
    health,
    async stop() {
      stopping = true;
      wake?.();
      abort.abort();
      await done;
    },
  };
}
