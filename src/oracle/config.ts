import * as fs from "node:fs";
import { z } from "zod";
import { isAddress, isHexString } from "ethers";
import { ConfigError } from "../sdk/errors";
import { isTimeZone } from "./timezone";

/**
 * The oracle's configuration: one schema, read once from the environment (and `.env`), with
 * command-line flags on top. Every invalid value is reported at once (ConfigError); secrets
 * (keystore password, MQTT password) are never logged: use `redactConfig` to print it.
 */

const address = z.string().refine((s) => isAddress(s), "not an address (0x + 40 hex digits)");
const bytes32 = z.string().refine((s) => isHexString(s, 32), "not a bytes32 meter id (0x + 64 hex digits)");
const int = (min: number, max = Number.MAX_SAFE_INTEGER) => z.coerce.number().int().min(min).max(max);
const timeZone = z.string().refine((s) => isTimeZone(s), "not an IANA time zone Node knows (like Europe/Amsterdam)");
const dstFlag = z.enum(["check", "ignore"]);
/** A bearer token: long enough that guessing it is hopeless. */
const token = z.string().min(16, "a token needs at least 16 characters (e.g. `openssl rand -hex 24`)");

export const meterSchema = z.object({
  /** What a source calls the meter: DSMR equipment id, Tasmota topic, `<shelly>/emdata:0`, GridLedger id. */
  meterKey: z.string().min(1),
  /** Registry id of the meter (bytes32). */
  meterId: bytes32,
  /** Signer to use when the registry cannot be read (the registry's signer wins when it can). */
  signer: address.optional(),
  /** Max power in W when the registry cannot be read (the registry's value wins when it can). */
  maxPowerW: int(1, 2 ** 32 - 1).optional(),
  /** The meter's IANA time zone (its local clock: DSMR, Tasmota); default `timeZone`. */
  timeZone: timeZone.optional(),
  /** DSMR S/W flag: "check" against the zone (default) or "ignore" (a meter whose flag is wrong). */
  dstFlag: dstFlag.optional(),
  /** An exact Tasmota SENSOR topic for this meter, when its FullTopic fits no `mqtt.tasmotaFullTopics` template. */
  topic: z.string().min(1).optional(),
  /** A bearer token that may push this meter's samples over HTTP (and only this meter's). */
  token: token.optional(),
});

export const dsmrPortSchema = z.object({
  /** `/dev/ttyUSB0`, a file, or `tcp://host:port`. */
  port: z.string().min(1),
  meterKey: z.string().min(1).optional(),
  baud: int(300, 4_000_000).optional(),
  /** The zone of the meters on this port (a meter's own `timeZone` wins). */
  timeZone: timeZone.optional(),
  dstFlag: dstFlag.optional(),
});

export const configSchema = z.object({
  network: z.string().min(1).default("localhost"),
  /** JSON-RPC URLs; the first that answers is used, the others are fallbacks. Empty: from the network name. */
  rpcUrls: z.array(z.string().url()).default([]),
  deploymentsDir: z.string().default("deployments"),
  /** Override the deployment records. */
  readingsAddress: address.optional(),
  registryAddress: address.optional(),
  dbPath: z.string().min(1).default(".gridledger/oracle.sqlite"),
  keystoreDir: z.string().min(1),
  keystorePassword: z.string().min(1, "empty; set GRIDLEDGER_ORACLE_KEYSTORE_PASSWORD"),
  /** The account that sends transactions (holds ORACLE_ROLE); default: the gateway, else the only key. */
  submitter: address.optional(),
  /** The gateway key that signs for meters without a key of their own. */
  gateway: address.optional(),
  meters: z.array(meterSchema).default([]),
  batchSize: int(1, 1000).default(50),
  confirmations: int(1, 1000).default(1),
  maxInFlight: int(1, 64).default(4),
  pollMs: int(10, 3_600_000).default(1000),
  /** Seconds without a receipt after which a transaction is considered dropped and its readings re-checked. */
  dropAfterSeconds: int(5).default(180),
  /** Wait after a reverted batch (ms); the readings stay pending. */
  revertBackoffMs: int(0).default(30_000),
  registryRefreshSeconds: int(5).default(300),
  maxClockSkewSeconds: int(0).default(30),
  boundaryGraceSeconds: int(0).default(30),
  maxSampleAgeSeconds: int(1).optional(),
  plausibilitySlackWh: int(0).default(10),
  /** Worker threads that sign readings in parallel for MQTT group commits (0: sign on the main thread). */
  signerThreads: int(0, 64).default(2),
  retry: z.object({ retries: int(0, 100).default(5), baseMs: int(1).default(250), maxMs: int(1).default(15_000) }).default({}),
  http: z
    .object({
      enabled: z.boolean().default(true),
      ingest: z.boolean().default(true),
      host: z.string().default("127.0.0.1"),
      port: int(0, 65535).default(8787),
      maxBodyBytes: int(64).default(1_048_576),
      /** Gateway bearer tokens: each may push samples of every mapped meter. */
      tokens: z.array(token).default([]),
    })
    .default({}),
  mqtt: z
    .object({
      url: z.string().regex(/^(mqtts?|wss?|tcp):\/\//, "not an MQTT URL like mqtt://host:1883"),
      topics: z.array(z.string().min(1)).optional(),
      username: z.string().optional(),
      password: z.string().optional(),
      clientId: z.string().optional(),
      /** TLS (mqtts:// or wss://): PEM files of the broker's CA and, for client-certificate login, our certificate and key. */
      ca: z.string().min(1).optional(),
      cert: z.string().min(1).optional(),
      key: z.string().min(1).optional(),
      /** Check the broker's certificate (default true; false only for a test broker). */
      rejectUnauthorized: z.boolean().default(true),
      /** For Tasmota devices without a meter `timeZone`: the UTC offset of their `Time` (like +01:00). */
      tasmotaUtcOffset: z.string().regex(/^[+-]\d{2}:\d{2}$/, "expected +hh:mm").default("+00:00"),
      /** Tasmota FullTopic templates of the devices (`%prefix%`, `%topic%`, `%hostname%`, `%id%`). */
      tasmotaFullTopics: z.array(z.string().min(1).refine((t) => /%(topic|hostname|id)%/.test(t), "needs %topic%, %hostname% or %id%")).default(["%prefix%/%topic%/"]),
      /** Tasmota's telemetry prefix (`%prefix%`, Prefix3). */
      tasmotaPrefix: z.string().min(1).default("tele"),
    })
    .optional(),
  dsmr: z.array(dsmrPortSchema).default([]),
  /** The default IANA time zone of meters' local clocks (DSMR telegrams; Tasmota with a meter zone). */
  timeZone: timeZone.default("Europe/Amsterdam"),
  csv: z.array(z.string().min(1)).default([]),
  /** Market clock overrides (offline use and tests); normally read from the contract. */
  marketStart: int(0).optional(),
  intervalSeconds: int(1).optional(),
  chainId: int(1).optional(),
});

export type OracleConfig = z.infer<typeof configSchema>;
export type OracleConfigInput = z.input<typeof configSchema>;

/** Environment variable of each config path (for error messages and `.env.example`). */
export const ENV: Record<string, string> = {
  network: "GRIDLEDGER_NETWORK",
  rpcUrls: "GRIDLEDGER_RPC_URL",
  deploymentsDir: "GRIDLEDGER_DEPLOYMENTS_DIR",
  readingsAddress: "GRIDLEDGER_READINGS_ADDRESS",
  registryAddress: "GRIDLEDGER_REGISTRY_ADDRESS",
  dbPath: "GRIDLEDGER_ORACLE_DB",
  keystoreDir: "GRIDLEDGER_ORACLE_KEYSTORE_DIR",
  keystorePassword: "GRIDLEDGER_ORACLE_KEYSTORE_PASSWORD",
  submitter: "GRIDLEDGER_ORACLE_SUBMITTER",
  gateway: "GRIDLEDGER_ORACLE_GATEWAY",
  meters: "GRIDLEDGER_ORACLE_METERS",
  batchSize: "GRIDLEDGER_ORACLE_BATCH_SIZE",
  confirmations: "GRIDLEDGER_ORACLE_CONFIRMATIONS",
  maxInFlight: "GRIDLEDGER_ORACLE_MAX_IN_FLIGHT",
  pollMs: "GRIDLEDGER_ORACLE_POLL_MS",
  dropAfterSeconds: "GRIDLEDGER_ORACLE_DROP_AFTER_SECONDS",
  revertBackoffMs: "GRIDLEDGER_ORACLE_REVERT_BACKOFF_MS",
  registryRefreshSeconds: "GRIDLEDGER_ORACLE_REGISTRY_REFRESH_SECONDS",
  maxClockSkewSeconds: "GRIDLEDGER_ORACLE_MAX_CLOCK_SKEW_SECONDS",
  boundaryGraceSeconds: "GRIDLEDGER_ORACLE_BOUNDARY_GRACE_SECONDS",
  maxSampleAgeSeconds: "GRIDLEDGER_ORACLE_MAX_SAMPLE_AGE_SECONDS",
  plausibilitySlackWh: "GRIDLEDGER_ORACLE_PLAUSIBILITY_SLACK_WH",
  signerThreads: "GRIDLEDGER_ORACLE_SIGNER_THREADS",
  "retry.retries": "GRIDLEDGER_ORACLE_RETRIES",
  "retry.baseMs": "GRIDLEDGER_ORACLE_RETRY_BASE_MS",
  "retry.maxMs": "GRIDLEDGER_ORACLE_RETRY_MAX_MS",
  "http.enabled": "GRIDLEDGER_ORACLE_HTTP",
  "http.ingest": "GRIDLEDGER_ORACLE_HTTP_INGEST",
  "http.host": "GRIDLEDGER_ORACLE_HTTP_HOST",
  "http.port": "GRIDLEDGER_ORACLE_HTTP_PORT",
  "http.maxBodyBytes": "GRIDLEDGER_ORACLE_HTTP_MAX_BODY_BYTES",
  "http.tokens": "GRIDLEDGER_ORACLE_HTTP_TOKENS",
  "mqtt.url": "GRIDLEDGER_ORACLE_MQTT_URL",
  "mqtt.topics": "GRIDLEDGER_ORACLE_MQTT_TOPICS",
  "mqtt.username": "GRIDLEDGER_ORACLE_MQTT_USERNAME",
  "mqtt.password": "GRIDLEDGER_ORACLE_MQTT_PASSWORD",
  "mqtt.clientId": "GRIDLEDGER_ORACLE_MQTT_CLIENT_ID",
  "mqtt.ca": "GRIDLEDGER_ORACLE_MQTT_CA",
  "mqtt.cert": "GRIDLEDGER_ORACLE_MQTT_CERT",
  "mqtt.key": "GRIDLEDGER_ORACLE_MQTT_KEY",
  "mqtt.rejectUnauthorized": "GRIDLEDGER_ORACLE_MQTT_REJECT_UNAUTHORIZED",
  "mqtt.tasmotaUtcOffset": "GRIDLEDGER_ORACLE_TASMOTA_UTC_OFFSET",
  "mqtt.tasmotaFullTopics": "GRIDLEDGER_ORACLE_TASMOTA_FULL_TOPICS",
  "mqtt.tasmotaPrefix": "GRIDLEDGER_ORACLE_TASMOTA_PREFIX",
  dsmr: "GRIDLEDGER_ORACLE_DSMR",
  timeZone: "GRIDLEDGER_ORACLE_TIME_ZONE",
  csv: "GRIDLEDGER_ORACLE_CSV",
  marketStart: "GRIDLEDGER_ORACLE_MARKET_START",
  intervalSeconds: "GRIDLEDGER_ORACLE_INTERVAL_SECONDS",
  chainId: "GRIDLEDGER_ORACLE_CHAIN_ID",
};

const list = (s: string) => s.split(",").map((x) => x.trim()).filter(Boolean);
const bool = (s: string) => (/^(1|true|yes|on)$/i.test(s) ? true : /^(0|false|no|off)$/i.test(s) ? false : s);

/**
 * The raw config from environment variables. `GRIDLEDGER_ORACLE_METERS` is JSON (an array of
 * `{meterKey, meterId, signer?, maxPowerW?}`) or `@path/to/meters.json`;
 * `GRIDLEDGER_ORACLE_DSMR` is a comma list of `port[=meterKey]` (`/dev/ttyUSB0=E0003...`, `tcp://10.0.0.5:2001`).
 */
export function configFromEnv(env: NodeJS.ProcessEnv = process.env): { raw: Record<string, unknown>; problems: string[] } {
  const problems: string[] = [];
  const raw: Record<string, unknown> = {};
  const set = (pathStr: string, value: unknown) => {
    const parts = pathStr.split(".");
    let o = raw;
    for (const p of parts.slice(0, -1)) o = (o[p] ??= {}) as Record<string, unknown>;
    o[parts[parts.length - 1]] = value;
  };
  for (const [pathStr, name] of Object.entries(ENV)) {
    const v = env[name]?.trim();
    if (!v) continue;
    switch (pathStr) {
      case "rpcUrls":
      case "csv":
      case "mqtt.topics":
      case "mqtt.tasmotaFullTopics":
      case "http.tokens":
        set(pathStr, list(v));
        break;
      case "http.enabled":
      case "http.ingest":
      case "mqtt.rejectUnauthorized":
        set(pathStr, bool(v));
        break;
      case "meters":
        try {
          const text = v.startsWith("@") ? fs.readFileSync(v.slice(1), "utf8") : v;
          set(pathStr, JSON.parse(text));
        } catch (e) {
          problems.push(`${name}: ${(e as Error).message} (expected a JSON array or @file.json)`);
        }
        break;
      case "dsmr":
        set(
          pathStr,
          list(v).map((item) => {
            const [port, meterKey] = item.split("=");
            return meterKey ? { port, meterKey } : { port };
          }),
        );
        break;
      default:
        set(pathStr, v);
    }
  }
  // The network's RPC URLs as hardhat.config.ts names them, when no oracle-specific one is set.
  if (!raw.rpcUrls) {
    const network = (raw.network as string | undefined) ?? "localhost";
    const fromNetwork = network === "poa" ? env.POA_RPC_URL : network === "localhost" ? env.LOCALHOST_RPC_URL ?? "http://127.0.0.1:8545" : undefined;
    if (fromNetwork) raw.rpcUrls = list(fromNetwork);
  }
  return { raw, problems };
}

function deepMerge(a: Record<string, unknown>, b: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = { ...a };
  for (const [k, v] of Object.entries(b)) {
    if (v === undefined) continue;
    const prev = out[k];
    out[k] = v && typeof v === "object" && !Array.isArray(v) && prev && typeof prev === "object" && !Array.isArray(prev) ? deepMerge(prev as Record<string, unknown>, v as Record<string, unknown>) : v;
  }
  return out;
}

/** Validates a config object (flags over env); throws one ConfigError listing every problem. */
export function parseConfig(input: Record<string, unknown>, envProblems: string[] = []): OracleConfig {
  const r = configSchema.safeParse(input);
  const problems = [...envProblems, ...intakeProblems(input)];
  if (!r.success) {
    for (const issue of r.error.issues) {
      const p = issue.path.join(".");
      const top = issue.path.filter((x) => typeof x === "string").join(".");
      const envName = ENV[top] ?? ENV[String(issue.path[0])];
      problems.push(`${p || "config"}${envName ? ` (${envName})` : ""}: ${issue.message}`);
    }
  }
  if (problems.length) throw new ConfigError(problems);
  const cfg = r.data!;
  const keys = new Set<string>();
  const topics = new Set<string>();
  const tokens = new Set<string>(cfg.http.tokens);
  for (const m of cfg.meters) {
    if (keys.has(m.meterKey)) problems.push(`meters: meterKey "${m.meterKey}" appears twice`);
    keys.add(m.meterKey);
    if (m.topic !== undefined) {
      if (topics.has(m.topic)) problems.push(`meters: topic "${m.topic}" appears twice`);
      topics.add(m.topic);
    }
    if (m.token !== undefined) {
      if (tokens.has(m.token)) problems.push(`meters (${ENV.meters}): meter "${m.meterKey}" has a token that another meter or a gateway token also has; give each its own`);
      tokens.add(m.token);
    }
  }
  if (cfg.mqtt) {
    if ((cfg.mqtt.cert === undefined) !== (cfg.mqtt.key === undefined)) problems.push(`mqtt.cert / mqtt.key (${ENV["mqtt.cert"]}, ${ENV["mqtt.key"]}): a client certificate needs both the certificate and its key`);
    for (const f of ["ca", "cert", "key"] as const) {
      const file = cfg.mqtt[f];
      if (file !== undefined && !fs.existsSync(file)) problems.push(`mqtt.${f} (${ENV[`mqtt.${f}`]}): no file ${file}`);
    }
    if ((cfg.mqtt.ca || cfg.mqtt.cert) && !/^(mqtts|wss):\/\//.test(cfg.mqtt.url)) problems.push(`mqtt.url (${ENV["mqtt.url"]}): TLS files are set but ${cfg.mqtt.url.replace(/\/\/[^@/]+@/, "//[redacted]@")} is not mqtts:// or wss://`);
  }
  if (problems.length) throw new ConfigError(problems);
  // On a chain of several signers (network poa) a reading counts once a second block, sealed by
  // another signer (Clique never lets one seal two in a row), is on top of it: a block that only
  // the signer that sealed it ever had is lost when that node stops (docs/poa.md).
  if (input.confirmations === undefined && cfg.network === "poa") cfg.confirmations = 2;
  PARSED.add(cfg);
  return cfg;
}

/**
 * Intake authentication (issue 14): the HTTP server never listens beyond loopback with ingest on
 * and no token. Judged on the raw input, so that it is reported together with every other problem.
 */
function intakeProblems(input: Record<string, unknown>): string[] {
  const http = (input.http ?? {}) as { enabled?: unknown; ingest?: unknown; host?: unknown; tokens?: unknown };
  const host = typeof http.host === "string" ? http.host : "127.0.0.1";
  if (http.enabled === false || http.ingest === false || isLoopback(host)) return [];
  const gatewayTokens = Array.isArray(http.tokens) ? http.tokens.length : 0;
  const meterTokens = Array.isArray(input.meters) ? input.meters.filter((m) => m && typeof m === "object" && (m as { token?: unknown }).token).length : 0;
  if (gatewayTokens + meterTokens > 0) return [];
  return [`http.host (${ENV["http.host"]}): ${host} is beyond loopback and HTTP ingest has no authentication; set ${ENV["http.tokens"]} (or a token per meter in ${ENV.meters}), or bind 127.0.0.1`];
}

const PARSED = new WeakSet<object>();
/** Whether `c` came out of `parseConfig` (else it is raw overrides to validate). */
export function isParsedConfig(c: object): c is OracleConfig {
  return PARSED.has(c);
}

/** Env, then `overrides` (command-line flags, or a test's config) on top. */
export function loadConfig(overrides: Record<string, unknown> = {}, env: NodeJS.ProcessEnv = process.env): OracleConfig {
  const { raw, problems } = configFromEnv(env);
  return parseConfig(deepMerge(raw, overrides), problems);
}

/** Whether a bind address only reaches this machine. */
export function isLoopback(host: string): boolean {
  const h = host.trim().toLowerCase().replace(/^\[|\]$/g, "");
  return h === "localhost" || h === "::1" || /^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(h) || h === "::ffff:127.0.0.1";
}

/** The config with secrets replaced, for logs. */
export function redactConfig(c: OracleConfig): Record<string, unknown> {
  return {
    ...c,
    keystorePassword: "[redacted]",
    http: { ...c.http, tokens: `${c.http.tokens.length} gateway token(s)` },
    mqtt: c.mqtt ? { ...c.mqtt, url: c.mqtt.url.replace(/\/\/[^@/]+@/, "//[redacted]@"), password: c.mqtt.password ? "[redacted]" : undefined } : undefined,
    rpcUrls: c.rpcUrls.map((u) => u.replace(/\/\/[^@/]+@/, "//[redacted]@")),
    meters: `${c.meters.length} meters`,
  };
}
