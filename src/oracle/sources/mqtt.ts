import * as fs from "node:fs";
import mqtt, { MqttClient, IClientOptions } from "mqtt";
import { GroupCommit } from "../groupcommit";
import { TransientError, ValidationError } from "../../sdk/errors";
import type { Logger } from "../../sdk/logger";
import { floatWhToWh, kWhToWh, parseTimestamp, parseWh } from "../parse";
import type { RawSample, SampleSink, Source } from "../types";
import { localToUnix } from "../timezone";

/**
 * MQTT meters. Three payload families, told apart by topic:
 * - Tasmota `<FullTopic>SENSOR` (default FullTopic `%prefix%/%topic%/`, so `tele/<topic>/SENSOR`; other
 *   layouts by `tasmotaFullTopics`, or one exact topic per meter): `{"Time": "...", "ENERGY": {"Total": kWh,
 *   "TotalExport"|"ExportActive"|"Export": kWh}}`, meter key `<topic>`. Older firmware sends
 *   `"Total": [total, tariff1, tariff2]`: the first value is the total;
 * - Shelly Gen2 notifications on `<device>/events/rpc`: `{"src", "method": "NotifyStatus"|"NotifyFullStatus",
 *   "params": {"ts", "emdata:N": {"total_act", "total_act_ret"}, "em1data:N": {"total_act_energy", "total_act_ret_energy"}}}` (Wh),
 *   and `<device>/status/emdata:N` status messages; meter key `<src>/emdata:N`; Gen2+ switches and plugs
 *   (`switch:N`, `pm1:N`) with `aenergy.total` / `ret_aenergy.total` (Wh), meter key `<src>/switch:N`;
 * - GridLedger `gridledger/meters/<id>/reading`: `{"importWhTotal", "exportWhTotal", "timestamp"}`, meter key `<id>`.
 */

export const DEFAULT_TOPICS = ["tele/+/SENSOR", "+/events/rpc", "+/status/+", "gridledger/meters/+/reading"];
export const DEFAULT_TASMOTA_FULL_TOPIC = "%prefix%/%topic%/";

/** A Tasmota FullTopic (`%prefix%/%topic%/`, `site/%hostname%/%topic%/%prefix%/`) as a matcher of SENSOR topics. */
export interface TasmotaTopic {
  template: string;
  regex: RegExp;
  /** The MQTT subscription (`+` for every placeholder). */
  subscription: string;
}

export function tasmotaTopic(template: string, telePrefix = "tele"): TasmotaTopic {
  const t = template.endsWith("/") ? template : `${template}/`;
  const parts = t.split(/(%prefix%|%topic%|%hostname%|%id%)/);
  let keyGroup = parts.includes("%topic%") ? "%topic%" : parts.includes("%hostname%") ? "%hostname%" : "%id%";
  if (!parts.includes(keyGroup)) keyGroup = "";
  let re = "^";
  let sub = "";
  for (const p of parts) {
    if (p === "%prefix%") (re += telePrefix.replace(/[.*+?^${}()|[\]\\]/g, "\\$&"), sub += telePrefix);
    else if (p === keyGroup) (re += "(.+)", sub += "+"); // as before: a topic with levels still parses
    else if (p === "%topic%" || p === "%hostname%" || p === "%id%") (re += "[^/]+", sub += "+");
    else (re += p.replace(/[.*+?^${}()|[\]\\]/g, "\\$&"), sub += p);
  }
  return { template, regex: new RegExp(`${re}SENSOR$`), subscription: `${sub}SENSOR` };
}

export interface MqttParseOptions {
  /** Tasmota's `Time` has no zone unless SetOption52 is on: the UTC offset to assume, like "+01:00" (default "+00:00"). */
  tasmotaUtcOffset?: string;
  /** Tasmota FullTopic templates to recognise (default `%prefix%/%topic%/`). */
  tasmotaFullTopics?: TasmotaTopic[];
  /** Exact Tasmota SENSOR topics of meters whose FullTopic fits no template: topic -> meter key. */
  topicMeters?: Map<string, string>;
  /** A meter's IANA time zone (its local `Time`), by meter key; wins over `tasmotaUtcOffset`. */
  meterTime?: (meterKey: string) => { timeZone?: string } | undefined;
  /** Unix seconds for payloads without a time. */
  now?: () => number;
}

export type MqttParseResult = { samples: RawSample[] } | { ignored: string };

function json(payload: string): Record<string, unknown> {
  let v: unknown;
  try {
    v = JSON.parse(payload);
  } catch (e) {
    throw new ValidationError("payload", `malformed JSON: ${(e as Error).message}`);
  }
  if (!v || typeof v !== "object" || Array.isArray(v)) throw new ValidationError("payload", "expected a JSON object");
  return v as Record<string, unknown>;
}

function tasmotaTime(value: unknown, offset: string, timeZone?: string): number {
  if (typeof value !== "string") throw new ValidationError("Time", value === undefined ? "missing" : "expected a string");
  const local = /^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2}):(\d{2})$/.exec(value);
  if (local && timeZone) {
    const [, y, mo, d, h, mi, s] = local.map(Number);
    // The hour that occurs twice when the clocks go back: Tasmota says nothing; take the first.
    return localToUnix(timeZone, { year: y, month: mo, day: d, hour: h, minute: mi, second: s }, "Time", "summer");
  }
  const zoned = /(Z|[+-]\d{2}:\d{2})$/.test(value) ? value : `${value}${offset}`;
  const ms = Date.parse(zoned);
  if (Number.isNaN(ms)) throw new ValidationError("Time", `"${value}" is not a time like 2024-05-01T12:00:00`);
  return Math.floor(ms / 1000);
}

/**
 * Parses one MQTT message into samples. Returns `{ignored}` for messages on subscribed
 * topics that carry no energy registers (Shelly status of other components, Tasmota STATE);
 * throws a ValidationError naming the field for malformed ones.
 */
export function parseMqttMessage(topic: string, payload: string, options: MqttParseOptions = {}): MqttParseResult {
  const now = options.now ?? (() => Math.floor(Date.now() / 1000));
  let m: RegExpExecArray | null;

  if ((m = /^gridledger\/meters\/([^/]+)\/reading$/.exec(topic))) {
    const o = json(payload);
    return { samples: [{ source: "mqtt", meterKey: m[1], timestamp: parseTimestamp(o.timestamp), importWhTotal: parseWh(o.importWhTotal, "importWhTotal"), exportWhTotal: parseWh(o.exportWhTotal, "exportWhTotal"), raw: payload }] };
  }

  const tasmotaKey = tasmotaMeterKey(topic, options);
  if (tasmotaKey !== undefined) {
    const o = json(payload);
    const energy = o.ENERGY as Record<string, unknown> | undefined;
    if (!energy || typeof energy !== "object") throw new ValidationError("ENERGY", "missing (no energy monitoring in this SENSOR message)");
    const exportValue = energy.TotalExport ?? energy.ExportActive ?? energy.Export;
    return {
      samples: [{
        source: "mqtt",
        meterKey: tasmotaKey,
        timestamp: tasmotaTime(o.Time, options.tasmotaUtcOffset ?? "+00:00", options.meterTime?.(tasmotaKey)?.timeZone),
        importWhTotal: tasmotaTotal(energy.Total, "ENERGY.Total"),
        exportWhTotal: exportValue === undefined ? 0n : tasmotaTotal(exportValue, "ENERGY.TotalExport"),
        raw: payload,
      }],
    };
  }

  if ((m = /^(.+)\/events\/rpc$/.exec(topic))) {
    const o = json(payload);
    if (o.method !== "NotifyStatus" && o.method !== "NotifyFullStatus") return { ignored: `Shelly method ${String(o.method)}` };
    const params = o.params as Record<string, unknown> | undefined;
    if (!params || typeof params !== "object") throw new ValidationError("params", "missing");
    const device = typeof o.src === "string" ? o.src : m[1];
    const ts = params.ts === undefined ? now() : parseTimestamp(params.ts, "params.ts");
    const samples = shellyComponents(device, params, ts, payload);
    return samples.length ? { samples } : { ignored: "no energy component (emdata, em1data, switch or pm1 with aenergy)" };
  }

  if ((m = /^(.+)\/status\/((?:emdata|em1data|switch|pm1):\d+)$/.exec(topic))) {
    const o = json(payload);
    const samples = shellyComponents(m[1], { [m[2]]: o }, now(), payload);
    return samples.length ? { samples } : { ignored: `Shelly ${m[2]} status without aenergy` };
  }
  if (/\/status\/[^/]+$/.test(topic)) return { ignored: "Shelly status of a non-energy component" };

  return { ignored: `no parser for topic ${topic}` };
}

/** The meter key of a Tasmota SENSOR topic (an exact per-meter topic, else a FullTopic template), if it is one. */
export function tasmotaMeterKey(topic: string, options: MqttParseOptions = {}): string | undefined {
  const exact = options.topicMeters?.get(topic);
  if (exact !== undefined) return exact;
  for (const t of options.tasmotaFullTopics ?? [DEFAULT_TASMOTA]) {
    const m = t.regex.exec(topic);
    if (m) return m[1] ?? topic;
  }
  return undefined;
}
const DEFAULT_TASMOTA = tasmotaTopic(DEFAULT_TASMOTA_FULL_TOPIC);

/**
 * Tasmota's `Total` (kWh): a number, or in older firmware `[total, tariff1, tariff2]`, whose first
 * value is the total (adding them up would count the energy twice). An array whose first value is
 * smaller than another cannot be that (per-phase totals, SetOption129) and is refused.
 */
export function tasmotaTotal(value: unknown, field: string): bigint {
  if (!Array.isArray(value)) return kWhToWh(value, field);
  if (value.length === 0) throw new ValidationError(field, "an empty array");
  const all = value.map((v, i) => kWhToWh(v, `${field}[${i}]`));
  if (all.some((v) => v > all[0])) {
    throw new ValidationError(field, `[${value.join(", ")}] is not [total, tariff1, tariff2] (a later value is larger than the first): per-phase totals (SetOption129) are not supported, turn it off so that Tasmota sends one total`);
  }
  return all[0];
}

function shellyComponents(device: string, params: Record<string, unknown>, ts: number, raw: string): RawSample[] {
  const out: RawSample[] = [];
  for (const [key, value] of Object.entries(params)) {
    if (/^(switch|pm1):\d+$/.test(key)) {
      // Gen2+ switches and plugs: a notification carries only what changed; no aenergy, no sample.
      const c = value as Record<string, unknown>;
      if (!c || typeof c !== "object") throw new ValidationError(key, "expected an object");
      const a = c.aenergy as Record<string, unknown> | undefined;
      if (a === undefined) continue;
      if (!a || typeof a !== "object") throw new ValidationError(`${key}.aenergy`, "expected an object");
      const r = c.ret_aenergy as Record<string, unknown> | undefined;
      if (r !== undefined && (!r || typeof r !== "object")) throw new ValidationError(`${key}.ret_aenergy`, "expected an object");
      out.push({
        source: "mqtt",
        meterKey: `${device}/${key}`,
        timestamp: ts,
        importWhTotal: floatWhToWh(a.total, `${key}.aenergy.total`),
        // Firmware before ret_aenergy (or a device that cannot measure it): nothing returned.
        exportWhTotal: r === undefined ? 0n : floatWhToWh(r.total, `${key}.ret_aenergy.total`),
        raw,
      });
      continue;
    }
    const kind = /^(emdata|em1data):\d+$/.exec(key)?.[1];
    if (!kind) continue;
    const c = value as Record<string, unknown>;
    if (!c || typeof c !== "object") throw new ValidationError(key, "expected an object");
    const [impField, expField] = kind === "emdata" ? ["total_act", "total_act_ret"] : ["total_act_energy", "total_act_ret_energy"];
    out.push({
      source: "mqtt",
      meterKey: `${device}/${key}`,
      timestamp: ts,
      importWhTotal: floatWhToWh(c[impField], `${key}.${impField}`),
      exportWhTotal: floatWhToWh(c[expField], `${key}.${expField}`),
      raw,
    });
  }
  return out;
}

/** The meter key a topic refers to, for the quarantine when the payload is unreadable. */
export function meterKeyOfTopic(topic: string, options: MqttParseOptions = {}): string | undefined {
  return /^gridledger\/meters\/([^/]+)\/reading$/.exec(topic)?.[1] ?? tasmotaMeterKey(topic, options) ?? /^(.+)\/(?:events\/rpc|status\/.+)$/.exec(topic)?.[1];
}

export interface MqttSourceOptions extends MqttParseOptions {
  url: string;
  topics?: string[];
  username?: string;
  password?: string;
  clientId?: string;
  /** TLS: PEM files of the broker's CA, our client certificate and key; check the broker's certificate (default true). */
  ca?: string;
  cert?: string;
  key?: string;
  rejectUnauthorized?: boolean;
  /** Group commit window (default 5 ms, 2,000 samples): many messages, one fsync. */
  groupCommitMs?: number;
  logger?: Logger;
}

/** What the source subscribes to: the given topics, else the defaults with every Tasmota template and exact meter topic. */
export function subscriptions(options: MqttSourceOptions): string[] {
  if (options.topics) return options.topics;
  const tasmota = (options.tasmotaFullTopics ?? []).map((t) => t.subscription);
  const out = new Set([...(tasmota.length ? tasmota : ["tele/+/SENSOR"]), ...DEFAULT_TOPICS.filter((t) => t !== "tele/+/SENSOR"), ...(options.topicMeters?.keys() ?? [])]);
  return [...out];
}

export function mqttSource(options: MqttSourceOptions): Source {
  let client: MqttClient | undefined;
  let group: GroupCommit | undefined;
  const log = options.logger;
  const safeUrl = options.url.replace(/\/\/[^@/]+@/, "//[redacted]@");
  let downSince: number | undefined = Date.now();
  let lastProblem: string | undefined = "not connected yet";
  return {
    name: `mqtt:${safeUrl}`,
    status: () => (downSince === undefined ? { up: true } : { up: false, detail: `broker ${safeUrl} unreachable since ${new Date(downSince).toISOString()}${lastProblem ? ` (${lastProblem})` : ""}` }),
    async start(sink: SampleSink) {
      const opts: IClientOptions = {
        username: options.username,
        password: options.password,
        clientId: options.clientId ?? `gridledger-oracle-${process.pid}`,
        reconnectPeriod: 2000,
        connectTimeout: 10_000,
        clean: true,
        ...(options.ca ? { ca: fs.readFileSync(options.ca) } : {}),
        ...(options.cert ? { cert: fs.readFileSync(options.cert) } : {}),
        ...(options.key ? { key: fs.readFileSync(options.key) } : {}),
        rejectUnauthorized: options.rejectUnauthorized ?? true,
      };
      client = mqtt.connect(options.url, opts);
      group = new GroupCommit(sink, { maxDelayMs: options.groupCommitMs ?? 5, maxSamples: 2000 });
      const topics = subscriptions(options);
      const unknownTopics = new Set<string>();
      client.on("connect", () => {
        log?.info({ url: safeUrl, topics }, "MQTT connected");
        client!.subscribe(topics, { qos: 1 }, (err) => {
          if (err) {
            lastProblem = `subscribe failed: ${err.message}`;
            return void log?.error({ err: err.message }, "MQTT subscribe failed");
          }
          // Up only once subscribed: a message published before that would not reach us.
          downSince = undefined;
          lastProblem = undefined;
          client!.emit("gridledger:subscribed" as "connect", undefined as never);
        });
      });
      client.on("error", (e) => {
        lastProblem = e.message;
        log?.warn({ url: safeUrl, err: e.message }, "MQTT error");
      });
      client.on("offline", () => {
        downSince ??= Date.now();
        log?.warn({ url: safeUrl }, "MQTT offline");
      });
      client.on("close", () => void (downSince ??= Date.now()));
      client.on("message", (topic, buf) => {
        const payload = buf.toString("utf8");
        // Nothing may escape this handler: an exception here would end the daemon.
        try {
          try {
            const r = parseMqttMessage(topic, payload, options);
            if ("ignored" in r) {
              // A topic no parser knows (a Tasmota FullTopic that fits no template): say so once, loudly.
              if (r.ignored.startsWith("no parser") && !unknownTopics.has(topic) && unknownTopics.size < 1000) {
                unknownTopics.add(topic);
                log?.warn({ topic }, "MQTT messages on a topic no parser knows are dropped; add its FullTopic to GRIDLEDGER_ORACLE_TASMOTA_FULL_TOPICS or the topic to its meter");
              }
              return void log?.debug({ topic, why: r.ignored }, "MQTT message ignored");
            }
            // Group commit: the messages of a few ms share one durable commit (see GroupCommit).
            group!.push(r.samples).catch((e) => log?.error({ topic, err: (e as Error).message }, "MQTT samples lost: the outbox cannot take them"));
          } catch (e) {
            if (e instanceof TransientError) throw e; // the outbox: handled below
            if (!(e instanceof ValidationError)) {
              log?.error({ topic, err: (e as Error).message }, "MQTT message handling failed");
              sink.refuse({ source: "mqtt", meterKey: meterKeyOfTopic(topic, options), field: "payload", reason: `internal error: ${(e as Error).message}`, raw: payload });
              return;
            }
            sink.refuse({ source: "mqtt", meterKey: meterKeyOfTopic(topic, options), field: e.field, reason: `${e.shortMessage.slice(e.field.length + 2)} (topic ${topic})`, raw: payload });
          }
        } catch (e) {
          log?.error({ topic, err: (e as Error).message }, "MQTT message lost: the outbox cannot take it");
        }
      });
      await new Promise<void>((resolve) => {
        // Do not block start-up on a broker that is down: the client keeps reconnecting.
        const t = setTimeout(resolve, 3000);
        client!.once("gridledger:subscribed" as "connect", () => (clearTimeout(t), resolve()));
      });
    },
    async stop() {
      if (client) await client.endAsync(true);
      await group?.close();
    },
  };
}
