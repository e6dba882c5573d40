import * as path from "node:path";
import { Contract, FallbackProvider, JsonRpcProvider, Provider, getAddress } from "ethers";
import { FailoverJsonRpcProvider } from "../sdk/network";
import { loadDeployment } from "../sdk/deployments";
import { ConfigError } from "../sdk/errors";
import { readingsDomain } from "../sdk/eip712";
import { componentLogger, Logger } from "../sdk/logger";
import { isTransientError, sleep, withRetry } from "../sdk/retry";
import { chainClockSkewSeconds, checkDeployment, missingRole } from "../sdk/preflight";
import { METER_READINGS_ABI, REGISTRY_ABI } from "./abi";
import { isParsedConfig, loadConfig, OracleConfig, redactConfig } from "./config";
import { loadKeystore, OracleWallet } from "./keystore";
import { createMetrics, OracleMetrics } from "./metrics";
import { Outbox } from "./outbox";
import { MeterInfo, Pipeline } from "./pipeline";
import { csvSource } from "./sources/csv";
import { dsmrSource } from "./sources/dsmr";
import { HttpServerHandle, startHttpServer } from "./sources/http";
import { mqttSource, tasmotaTopic } from "./sources/mqtt";
import { isLoopback } from "./config";
import { Submitter } from "./submitter";
import { SignerPool } from "./signpool";
import { signerKind } from "./signer";
import type { Source } from "./types";

export interface OracleDeps {
  /** A provider to use instead of `rpcUrls` (the in-process Hardhat chain in tests). */
  provider?: Provider;
  /** More sources, for example the household simulator through `iterableSource`. */
  sources?: Source[];
  /** Unix seconds (tests drive the clock with the chain's). */
  now?: () => number;
  logger?: Logger;
}

export interface OracleHandle {
  config: OracleConfig;
  outbox: Outbox;
  pipeline: Pipeline;
  metrics: OracleMetrics;
  /** The HTTP server's bound port (when enabled). */
  httpPort?: number;
  /** One loop iteration now (flush silent meters, confirm, send); resolves when done. */
  tick(): Promise<void>;
  /** Resolves when every finite source (CSV, file, iterable) has delivered everything. */
  sourcesDone(): Promise<void>;
  /**
   * Resolves once every finite source has delivered everything and every reading made from it is
   * confirmed on chain (or quarantined): what a replay (`--csv` only) waits for before exiting.
   */
  drained(): Promise<void>;
  health(): { ok: boolean; [k: string]: unknown };
  /** Graceful stop: stop the sources, finish the current batch, close the server and the database. */
  stop(): Promise<void>;
}

/** The address of `contract` in `<deploymentsDir>/<network>/<contract>.json` (the SDK's reader). */
export function deploymentAddress(deploymentsDir: string, network: string, contract: string): string {
  return getAddress(loadDeployment(network, contract, path.resolve(deploymentsDir)).address);
}

function makeProvider(cfg: OracleConfig): Provider {
  if (cfg.rpcUrls.length === 0) throw new ConfigError([`rpcUrls (GRIDLEDGER_RPC_URL): none configured for network ${cfg.network}`]);
  const opts = cfg.chainId ? { staticNetwork: true } : {};
  if (cfg.rpcUrls.length === 1) return new JsonRpcProvider(cfg.rpcUrls[0], cfg.chainId, { ...opts, pollingInterval: 1000 });
  // Several nodes: one at a time, the next when it cannot be reached (see FailoverJsonRpcProvider).
  return new FailoverJsonRpcProvider(cfg.rpcUrls, cfg.chainId, { ...opts, pollingInterval: 1000 });
}

/**
 * Starts the oracle daemon: keys, chain, outbox, sources, HTTP server and the loop.
 * Accepts a parsed config or raw overrides (merged over the environment and validated).
 */
export async function startOracle(configOrOverrides: OracleConfig | Record<string, unknown>, deps: OracleDeps = {}): Promise<OracleHandle> {
  const cfg = isParsedConfig(configOrOverrides) ? configOrOverrides : loadConfig(configOrOverrides);
  const log = deps.logger ?? componentLogger("oracle");
  log.info({ config: redactConfig(cfg) }, "starting oracle");
  const now = deps.now ?? (() => Math.floor(Date.now() / 1000));
  const metrics = createMetrics({ defaultMetrics: !deps.provider });

  // ---- init: keys, chain, clock, meters
  const keys = await loadKeystore(cfg.keystoreDir, cfg.keystorePassword);
  const problems: string[] = [];
  const pick = (addr: string | undefined, what: string): OracleWallet | undefined => {
    if (!addr) return undefined;
    const w = keys.get(addr.toLowerCase());
    if (!w) problems.push(`${what}: no key for ${addr} in ${cfg.keystoreDir}`);
    return w;
  };
  const gateway = pick(cfg.gateway, "gateway (GRIDLEDGER_ORACLE_GATEWAY)");
  let submitterWallet = pick(cfg.submitter, "submitter (GRIDLEDGER_ORACLE_SUBMITTER)") ?? gateway;
  if (!submitterWallet && !cfg.submitter) {
    if (keys.size === 1) submitterWallet = [...keys.values()][0];
    else problems.push("submitter (GRIDLEDGER_ORACLE_SUBMITTER): several keys in the keystore; name the one that holds ORACLE_ROLE");
  }
  let readingsAddress: string | undefined;
  try {
    readingsAddress = cfg.readingsAddress ?? deploymentAddress(cfg.deploymentsDir, cfg.network, "MeterReadings");
  } catch (e) {
    problems.push(`readingsAddress (GRIDLEDGER_READINGS_ADDRESS): ${(e as Error).message}`);
  }
  let registryAddress: string | undefined;
  try {
    registryAddress = cfg.registryAddress ?? deploymentAddress(cfg.deploymentsDir, cfg.network, "CommunityRegistry");
  } catch {
    log.warn("no CommunityRegistry deployment record: signer and max power come from the meter mapping only");
  }
  if (problems.length) throw new ConfigError(problems);

  const provider = deps.provider ?? makeProvider(cfg);
  const abort = new AbortController();
  // The chain's reachability for /healthz: the last chain error, cleared by the next good submit step.
  let chainError: { since: number; err: string } | undefined;
  const onChainError = (e: unknown) => {
    metrics.chainErrors.inc();
    chainError = { since: chainError?.since ?? Date.now(), err: (e as Error).message?.slice(0, 200) ?? String(e) };
  };
  const retryOpts = { ...cfg.retry, signal: abort.signal, onRetry: (e: unknown, attempt: number, delayMs: number) => (onChainError(e), log.warn({ attempt, delayMs, err: (e as Error).message?.slice(0, 200) }, "chain not reachable yet, retrying")) };
  const readings = new Contract(readingsAddress!, METER_READINGS_ABI, provider);
  // Start-up checks: the node is the chain of the records (chain id, code at every address).
  const deployed = await withRetry(
    () => checkDeployment(provider, { MeterReadings: readingsAddress!, ...(registryAddress ? { CommunityRegistry: registryAddress } : {}) }, cfg.chainId ? BigInt(cfg.chainId) : undefined),
    retryOpts,
  );
  if (deployed.problems.length) throw new ConfigError(deployed.problems);
  const chainId = cfg.chainId ? BigInt(cfg.chainId) : deployed.chainId;
  const marketStart = cfg.marketStart ?? Number(await withRetry(() => readings.marketStart(), retryOpts));
  const intervalSeconds = cfg.intervalSeconds ?? Number(await withRetry(() => readings.intervalSeconds(), retryOpts));
  const registry = registryAddress ? new Contract(registryAddress, REGISTRY_ABI, provider) : undefined;

  let meters = new Map<string, MeterInfo>();
  const refreshMeters = async () => {
    const next = new Map<string, MeterInfo>();
    for (const m of cfg.meters) {
      const info: MeterInfo = { meterKey: m.meterKey, meterId: m.meterId.toLowerCase(), signer: m.signer, maxPowerW: m.maxPowerW, usable: true };
      if (registry) {
        const r = (await withRetry(() => registry.meterOf(m.meterId), retryOpts)) as { signer: string; maxPowerW: bigint; status: bigint };
        const status = Number(r.status);
        if (status === 0) Object.assign(info, { usable: false, unusableReason: `meter ${m.meterId} is not registered in the CommunityRegistry` });
        else if (status === 2) Object.assign(info, { usable: false, unusableReason: `meter ${m.meterId} is retired in the CommunityRegistry` });
        else Object.assign(info, { signer: r.signer, maxPowerW: Number(r.maxPowerW) });
      }
      next.set(m.meterKey, info);
    }
    meters = next;
  };
  await refreshMeters();
  let lastRefresh = Date.now();

  // Whether the submitter may submit (ORACLE_ROLE): checked now, with every registry refresh and,
  // while missing, every loop. Missing is not fatal (the operator may grant it), but /healthz
  // answers 503 with the sentence until it is granted.
  let roleProblem: string | undefined;
  const checkRole = async () => {
    if (!registryAddress) return;
    roleProblem = await withRetry(() => missingRole(provider, registryAddress!, "ORACLE_ROLE", submitterWallet!.address, "the submitter (GRIDLEDGER_ORACLE_SUBMITTER)"), retryOpts);
    metrics.submitterCanSubmit.set(roleProblem ? 0 : 1);
  };
  await checkRole();
  if (roleProblem) log.error({ submitter: submitterWallet!.address }, `readings cannot be submitted: ${roleProblem}`);
  // The chain's clock against ours (latest block timestamp - now), for /healthz and /metrics.
  let clockSkew: number | undefined;
  let lastSkewAt = 0;
  const measureSkew = async () => {
    clockSkew = await chainClockSkewSeconds(provider, now());
    lastSkewAt = Date.now();
    metrics.clockSkewSeconds.set(clockSkew);
    if (Math.abs(clockSkew) > Math.max(10, intervalSeconds / 4)) {
      log.warn({ chainClockSkewSeconds: clockSkew }, "the chain's clock and ours are far apart: readings are stamped by the meters' time and sent once the chain has passed the interval's end");
    }
  };
  await withRetry(measureSkew, retryOpts);

  const outbox = new Outbox(cfg.dbPath, now);
  const signerPool = cfg.signerThreads > 0 && cfg.mqtt ? new SignerPool(keys, { threads: cfg.signerThreads }) : undefined;
  log.info({ signer: signerKind(), signerThreads: signerPool?.size ?? 0 }, "reading signer");
  const pipeline = new Pipeline({
    outbox,
    meters: () => meters,
    timing: { marketStart, intervalSeconds },
    domain: readingsDomain(chainId, readingsAddress!),
    keys,
    gatewayAddress: gateway?.address,
    now,
    maxClockSkewSeconds: cfg.maxClockSkewSeconds,
    maxSampleAgeSeconds: cfg.maxSampleAgeSeconds,
    boundaryGraceSeconds: cfg.boundaryGraceSeconds,
    plausibilitySlackWh: BigInt(cfg.plausibilitySlackWh),
    logger: log.child({ component: "pipeline" }),
    metrics,
    signerPool,
  });
  const submitter = new Submitter({
    outbox, provider, wallet: submitterWallet!, readingsAddress: readingsAddress!, chainId,
    batchSize: cfg.batchSize, confirmations: cfg.confirmations, maxInFlight: cfg.maxInFlight,
    dropAfterSeconds: cfg.dropAfterSeconds, revertBackoffMs: cfg.revertBackoffMs, retry: cfg.retry,
    logger: log.child({ component: "submitter" }), metrics, signal: abort.signal, onChainError,
  });
  await submitter.resume();

  // ---- health and gauges
  let lastLoopOk = Date.now();
  let lastError: string | undefined;
  const updateGauges = () => {
    const c = outbox.counts();
    metrics.outboxDepth.set({ status: "pending" }, c.pending);
    metrics.outboxDepth.set({ status: "submitted" }, c.submitted);
    const oldest = outbox.oldestUnconfirmedInterval();
    metrics.lagSeconds.set(oldest === undefined ? 0 : Math.max(0, now() - (marketStart + (oldest + 1) * intervalSeconds)));
    return c;
  };
  const sourceStatus = () => {
    const out: Record<string, { up: boolean; detail?: string }> = {};
    for (const s of sources) {
      if (!s.status) continue;
      const st = s.status();
      out[s.name] = st;
      metrics.sourceUp.set({ source: s.name }, st.up ? 1 : 0);
    }
    return out;
  };
  // Not ok (503) while the loop is stale, the chain unreachable, a source down or the outbox unable to write.
  const health = () => {
    const staleMs = Date.now() - lastLoopOk;
    const st = sourceStatus();
    const down = Object.entries(st).filter(([, v]) => !v.up).map(([k]) => k);
    const outboxCounts = outbox.db.open ? (() => { try { return outbox.counts(); } catch { return undefined; } })() : undefined;
    const ok = outbox.db.open && staleMs < Math.max(30_000, cfg.pollMs * 10) && !chainError && down.length === 0 && !pipeline.outboxError && !roleProblem;
    return {
      ok, outbox: outboxCounts, lastLoopAgoMs: staleMs, lastError,
      submitterRole: roleProblem ? `readings cannot be submitted: ${roleProblem}` : "ok",
      chainClockSkewSeconds: clockSkew,
      chain: chainError ? `unreachable since ${new Date(chainError.since).toISOString()}: ${chainError.err}` : "ok",
      sources: st,
      ...(pipeline.outboxError ? { outboxError: `the outbox cannot write: ${pipeline.outboxError}` } : {}),
      submitter: submitterWallet!.address, readings: readingsAddress,
    };
  };

  // ---- sources
  const sources: Source[] = [...(deps.sources ?? [])];
  const meterCfg = new Map(cfg.meters.map((m) => [m.meterKey, m]));
  const meterTime = (meterKey: string) => {
    const m = meterCfg.get(meterKey);
    return m ? { timeZone: m.timeZone, dstFlag: m.dstFlag } : undefined;
  };
  if (cfg.mqtt) {
    const topicMeters = new Map(cfg.meters.filter((m) => m.topic).map((m) => [m.topic!, m.meterKey]));
    const tasmotaFullTopics = cfg.mqtt.tasmotaFullTopics.map((t) => tasmotaTopic(t, cfg.mqtt!.tasmotaPrefix));
    sources.push(mqttSource({ ...cfg.mqtt, tasmotaFullTopics, topicMeters, meterTime, now, logger: log.child({ component: "mqtt" }) }));
  }
  for (const d of cfg.dsmr) sources.push(dsmrSource({ ...d, timeZone: d.timeZone ?? cfg.timeZone, meterTime, logger: log.child({ component: "dsmr" }) }));
  for (const f of cfg.csv) sources.push(csvSource(f));

  let http: HttpServerHandle | undefined;
  if (cfg.http.enabled) {
    const meterTokens = new Map(cfg.meters.filter((m) => m.token).map((m) => [m.token!, m.meterKey]));
    if (cfg.http.ingest && cfg.http.tokens.length === 0 && meterTokens.size === 0) {
      // The config refuses this beyond loopback; on loopback every local process can push.
      log.warn({ host: cfg.http.host, loopback: isLoopback(cfg.http.host) }, "HTTP ingest has no bearer token: any local process can push samples; set GRIDLEDGER_ORACLE_HTTP_TOKENS");
    }
    http = await startHttpServer({
      host: cfg.http.host, port: cfg.http.port, maxBodyBytes: cfg.http.maxBodyBytes, ingest: cfg.http.ingest,
      sink: pipeline, auth: { gatewayTokens: cfg.http.tokens, meterTokens }, health,
      metrics: async () => (updateGauges(), { contentType: metrics.registry.contentType, body: await metrics.registry.metrics() }),
      logger: log.child({ component: "http" }),
    });
  }
  for (const s of sources) await s.start(pipeline);

  // ---- loop
  let stopping = false;
  let current: Promise<void> = Promise.resolve();
  const iteration = async () => {
    const steps: [string, () => unknown][] = [
      ["registry", async () => {
        if (Date.now() - lastRefresh >= cfg.registryRefreshSeconds * 1000) {
          lastRefresh = Date.now();
          await refreshMeters();
          await checkRole();
        } else if (roleProblem) await checkRole();
      }],
      ["clock", async () => {
        if (Date.now() - lastSkewAt >= 10_000) await measureSkew();
      }],
      ["flush", () => pipeline.flushSilent()],
      ["submit", async () => {
        await submitter.step();
        chainError = undefined;
      }],
      ["gauges", () => updateGauges()],
    ];
    let ok = true;
    for (const [name, fn] of steps) {
      if (stopping && (name === "flush" || name === "clock")) continue;
      try {
        await fn();
      } catch (e) {
        ok = false;
        lastError = `${name}: ${(e as Error).message?.slice(0, 300)}`;
        metrics.loopFailures.inc({ step: name });
        if (name === "submit" && isTransientError(e)) onChainError(e);
        log.error({ step: name, err: (e as Error).message }, "loop step failed");
      }
    }
    if (ok) lastLoopOk = Date.now();
    metrics.lastLoopSeconds.set(Date.now() / 1000);
  };
  const tick = () => (current = current.then(iteration));
  const loop = (async () => {
    while (!stopping) {
      await tick();
      await sleep(cfg.pollMs, abort.signal);
    }
  })();

  const stop = async () => {
    if (stopping) return;
    stopping = true;
    log.info("stopping: finishing the current batch");
    for (const s of sources) await s.stop().catch((e) => log.warn({ source: s.name, err: (e as Error).message }, "source stop failed"));
    abort.abort();
    await loop;
    await current;
    await http?.close();
    await signerPool?.close();
    // Only a provider the daemon made itself; one passed in belongs to the caller (the demo keeps using it).
    if (!deps.provider && (provider instanceof JsonRpcProvider || provider instanceof FallbackProvider)) provider.destroy();
    outbox.close();
    log.info("stopped");
  };

  log.info({ readings: readingsAddress, chainId: chainId.toString(), marketStart, intervalSeconds, submitter: submitterWallet!.address, httpPort: http?.port, sources: sources.map((s) => s.name) }, "oracle started");
  return {
    config: cfg, outbox, pipeline, metrics, httpPort: http?.port,
    tick: () => tick(),
    sourcesDone: async () => void (await Promise.all(sources.map((s) => s.done ?? Promise.resolve()))),
    drained: async () => {
      await Promise.all(sources.map((s) => s.done ?? Promise.resolve()));
      // Two full iterations after the last sample: silent meters' last intervals are flushed to the outbox.
      await tick();
      await tick();
      for (;;) {
        const c = outbox.counts();
        if (c.pending === 0 && c.submitted === 0) return;
        await sleep(cfg.pollMs, abort.signal);
        if (stopping) return;
        await tick();
      }
    },
    health,
    stop,
  };
}

/** A replay: only finite sources (CSV files), no broker, no P1 port, so the daemon ends when the files are done. */
export function isReplayOnly(cfg: OracleConfig): boolean {
  return cfg.csv.length > 0 && !cfg.mqtt && cfg.dsmr.length === 0;
}
