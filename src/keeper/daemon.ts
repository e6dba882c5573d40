/**
 * The keeper daemon: watches the market's next interval and clears and settles it as soon as
 * it is ready, page by page, catching up on every interval it missed. All progress lives on
 * chain, so a killed keeper resumes where the chain stands and several keepers never conflict
 * (a page another keeper already sent makes ours revert; we re-read and go on).
 */
import { Counter, Gauge, Registry, collectDefaultMetrics } from "prom-client";
import type { KeeperContracts, IntervalOutcome } from "./interval";
import { Phase, settleInterval } from "./interval";
import { componentLogger, Logger } from "../sdk/logger";
import { backoffDelay, isTransientError, sleep } from "../sdk/retry";
import { HttpServerHandle, startHttpServer } from "../oracle/sources/http";
import { ConfigError } from "../sdk/errors";
import { chainClockSkewSeconds, checkDeployment } from "../sdk/preflight";

export interface KeeperOptions {
  contracts: KeeperContracts;
  /** Participants per page (collect and settle). */
  pageSize?: number;
  /** How often to look for a ready interval when idle. */
  pollMs?: number;
  /** Port of /healthz and /metrics on 127.0.0.1 (0 = any free port, undefined = none). */
  httpPort?: number;
  /** Stop after settling this many intervals (one-shot use and tests). */
  maxIntervals?: number;
  logger?: Logger;
  onSettled?: (outcome: IntervalOutcome) => void;
  /** The chain id the records were written for; a node answering another one is refused at start. */
  expectedChainId?: bigint;
}

export interface KeeperHandle {
  httpPort?: number;
  /** Resolves when the loop ends (after `stop()` or `maxIntervals`). */
  done: Promise<void>;
  /** Graceful stop: finishes the page being sent, then ends the loop. */
  stop(): Promise<void>;
  health(): { ok: boolean; [k: string]: unknown };
}

function createKeeperMetrics(defaults: boolean) {
  const registry = new Registry();
  if (defaults) collectDefaultMetrics({ register: registry, prefix: "gridledger_keeper_" });
  return {
    registry,
    settled: new Counter({ name: "gridledger_keeper_intervals_settled_total", help: "Intervals cleared and settled", registers: [registry] }),
    txs: new Counter({ name: "gridledger_keeper_transactions_total", help: "collect and settle transactions sent", labelNames: ["kind"], registers: [registry] }),
    gas: new Counter({ name: "gridledger_keeper_gas_used_total", help: "Gas used by the keeper's transactions", registers: [registry] }),
    failures: new Counter({ name: "gridledger_keeper_loop_failures_total", help: "Loop iterations that failed", labelNames: ["kind"], registers: [registry] }),
    nextInterval: new Gauge({ name: "gridledger_keeper_next_interval", help: "The market's next interval to clear", registers: [registry] }),
    lagIntervals: new Gauge({ name: "gridledger_keeper_lag_intervals", help: "Ended intervals not yet settled", registers: [registry] }),
    clockSkewSeconds: new Gauge({ name: "gridledger_keeper_chain_clock_skew_seconds", help: "Latest block timestamp minus the keeper's clock, in seconds (positive: the chain is ahead)", registers: [registry] }),
  };
}

export async function startKeeper(options: KeeperOptions): Promise<KeeperHandle> {
  const log = options.logger ?? componentLogger("keeper");
  const { contracts } = options;
  const pollMs = options.pollMs ?? 5000;
  const metrics = createKeeperMetrics(options.httpPort !== undefined);
  let stopping = false;
  let lastOk = Math.floor(Date.now() / 1000);
  let lastError: string | undefined;
  let settledCount = 0;
  let wake: (() => void) | undefined;
  let failuresInARow = 0;
  const abort = new AbortController();

  // Start-up checks: the node is the chain of the records, the contracts are there, the account
  // that sends pays for gas. Everything missing is reported at once.
  const provider = contracts.market.runner?.provider;
  if (!provider) throw new ConfigError(["the keeper's market contract has no provider"]);
  const addresses = {
    EnergyMarket: await contracts.market.getAddress(),
    MeterReadings: await contracts.readings.getAddress(),
    CommunityRegistry: await contracts.registry.getAddress(),
  };
  const { problems } = await checkDeployment(provider, addresses, options.expectedChainId);
  const sender = contracts.market.runner && "getAddress" in contracts.market.runner ? await (contracts.market.runner as { getAddress(): Promise<string> }).getAddress() : undefined;
  if (!sender) problems.push("wallet: the keeper sends collect and settle transactions: pass --wallet NAME|ADDRESS or set GRIDLEDGER_WALLET");
  else if (problems.length === 0 && (await provider.getBalance(sender)) === 0n && ((await provider.getFeeData()).gasPrice ?? 0n) > 0n) {
    problems.push(`wallet: the keeper's account ${sender} has no gas money (on a local node: gridledger -w operator wallet fund ${sender} 1)`);
  }
  if (problems.length) throw new ConfigError(problems);
  let clockSkew: number | undefined;
  const measureSkew = async () => {
    clockSkew = await chainClockSkewSeconds(provider, Math.floor(Date.now() / 1000));
    metrics.clockSkewSeconds.set(clockSkew);
  };
  // Measured once before /healthz and /metrics are served, so they never answer without it.
  await measureSkew();

  // Not ok (503) while the latest iteration failed (chain unreachable, a revert): reported at once.
  const health = () => ({
    ok: lastError === undefined,
    account: sender,
    chainClockSkewSeconds: clockSkew,
    failuresInARow,
    lastOkUnix: lastOk,
    lastError,
    settled: settledCount,
  });
  let http: HttpServerHandle | undefined;
  if (options.httpPort !== undefined) {
    http = await startHttpServer({
      port: options.httpPort,
      ingest: false,
      health,
      metrics: async () => ({ contentType: metrics.registry.contentType, body: await metrics.registry.metrics() }),
      logger: log,
    });
    log.info({ url: http.url }, "health and metrics served");
  }

  log.info({ pageSize: options.pageSize ?? 200, pollMs }, "keeper started");
  const loop = async () => {
    while (!stopping) {
      try {
        await measureSkew();
        const next = Number(await contracts.market.nextInterval());
        metrics.nextInterval.set(next);
        const current = Number(await contracts.readings.currentInterval());
        metrics.lagIntervals.set(Math.max(0, current - next));
        const phase = Number((await contracts.market.intervalState(next)).phase);
        const ready = phase !== Phase.Open || (await contracts.readings.isReady(next));
        if (!ready) {
          // The chain answered and nothing is due: whatever failed before is over.
          lastError = undefined;
          failuresInARow = 0;
          await new Promise<void>((resolve) => {
            wake = resolve;
            setTimeout(resolve, pollMs);
          });
          continue;
        }
        const outcome = await settleInterval(contracts, next, {
          pageSize: options.pageSize,
          onTx: (kind, r) => {
            metrics.txs.inc({ kind });
            metrics.gas.inc(Number(r.gasUsed));
          },
        });
        settledCount++;
        failuresInARow = 0;
        metrics.settled.inc();
        lastOk = Math.floor(Date.now() / 1000);
        lastError = undefined;
        log.info(
          {
            interval: outcome.interval,
            pricePerKWh: outcome.pricePerKWh.toString(),
            matchedWh: outcome.matchedWh.toString(),
            participants: outcome.participants,
            txs: outcome.collectTxs + outcome.settleTxs,
            gas: outcome.gasUsed.toString(),
          },
          "interval settled",
        );
        options.onSettled?.(outcome);
        if (options.maxIntervals !== undefined && settledCount >= options.maxIntervals) break;
      } catch (e) {
        // Another process sending from the same account took our nonce: nothing of ours landed
        // twice (every step re-reads the interval's pages from the chain), so go again at once.
        const nonceRace = /nonce (is )?too low|nonce has already been used|already known|replacement transaction underpriced/i.test((e as Error).message ?? "");
        const transient = nonceRace || isTransientError(e);
        metrics.failures.inc({ kind: transient ? "transient" : "revert" });
        lastError = (e as Error).message?.slice(0, 300);
        failuresInARow++;
        // Exponential backoff with jitter from pollMs up to 30 s (a revert waits at least 10 s).
        const delayMs = nonceRace ? Math.min(pollMs, 1000) : Math.max(backoffDelay(failuresInARow, pollMs, 30_000), transient ? 0 : 10_000);
        log.warn({ err: lastError, transient, failuresInARow, delayMs }, "keeper step failed; retrying after a pause");
        await sleep(delayMs, abort.signal);
      }
    }
  };
  const done = loop().finally(async () => {
    await http?.close();
  });

  return {
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
