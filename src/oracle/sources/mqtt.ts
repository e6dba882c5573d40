import mqtt, { MqttClient, IClientOptions } from "mqtt";
import { TransientError, ValidationError } from "../../sdk/errors";
import type { Logger } from "../../sdk/logger";
import { floatWhToWh, kWhToWh, parseTimestamp, parseWh } from "../parse";
import type { RawSample, SampleSink, Source } from "../types";

/**
 * MQTT meters. Three payload families, told apart by topic:
 * - Tasmota `tele/<topic>/SENSOR`: `{"Time": "...", "ENERGY": {"Total": kWh, "TotalExport"|"ExportActive"|"Export": kWh}}`,
 *   meter key `<topic>`;
 * - Shelly Gen2 notifications on `<device>/events/rpc`: `{"src", "method": "NotifyStatus"|"NotifyFullStatus",
 *   "params": {"ts", "emdata:N": {"total_act", "total_act_ret"}, "em1data:N": {"total_act_energy", "total_act_ret_energy"}}}` (Wh),
 *   and `<device>/status/emdata:N` status messages; meter key `<src>/emdata:N`;
 * - GridLedger `gridledger/meters/<id>/reading`: `{"importWhTotal", "exportWhTotal", "timestamp"}`, meter key `<id>`.
 */

export const DEFAULT_TOPICS = ["tele/+/SENSOR", "+/events/rpc", "+/status/+", "gridledger/meters/+/reading"];

export interface MqttParseOptions {
  /** Tasmota's `Time` has no zone unless SetOption52 is on: the UTC offset to assume, like "+01:00" (default "+00:00"). */
  tasmotaUtcOffset?: string;
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

function tasmotaTime(value: unknown, offset: string): number {
  if (typeof value !== "string") throw new ValidationError("Time", value === undefined ? "missing" : "expected a string");
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

  if ((m = /^tele\/(.+)\/SENSOR$/.exec(topic))) {
    const o = json(payload);
    const energy = o.ENERGY as Record<string, unknown> | undefined;
    if (!energy || typeof energy !== "object") throw new ValidationError("ENERGY", "missing (no energy monitoring in this SENSOR message)");
    const exportValue = energy.TotalExport ?? energy.ExportActive ?? energy.Export;
    return {
      samples: [{
        source: "mqtt",
        meterKey: m[1],
        timestamp: tasmotaTime(o.Time, options.tasmotaUtcOffset ?? "+00:00"),
        importWhTotal: kWhToWh(energy.Total, "ENERGY.Total"),
        exportWhTotal: exportValue === undefined ? 0n : kWhToWh(exportValue, "ENERGY.TotalExport"),
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
    return samples.length ? { samples } : { ignored: "no emdata/em1data component" };
  }

  if ((m = /^(.+)\/status\/((?:emdata|em1data):\d+)$/.exec(topic))) {
    const o = json(payload);
    return { samples: shellyComponents(m[1], { [m[2]]: o }, now(), payload) };
  }
  if (/\/status\/[^/]+$/.test(topic)) return { ignored: "Shelly status of a non-energy component" };

  return { ignored: `no parser for topic ${topic}` };
}

function shellyComponents(device: string, params: Record<string, unknown>, ts: number, raw: string): RawSample[] {
  const out: RawSample[] = [];
  for (const [key, value] of Object.entries(params)) {
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
export function meterKeyOfTopic(topic: string): string | undefined {
  return /^gridledger\/meters\/([^/]+)\/reading$/.exec(topic)?.[1] ?? /^tele\/(.+)\/SENSOR$/.exec(topic)?.[1] ?? /^(.+)\/(?:events\/rpc|status\/.+)$/.exec(topic)?.[1];
}

export interface MqttSourceOptions extends MqttParseOptions {
  url: string;
  topics?: string[];
  username?: string;
  password?: string;
  clientId?: string;
  logger?: Logger;
}

export function mqttSource(options: MqttSourceOptions): Source {
  let client: MqttClient | undefined;
  const log = options.logger;
  let downSince: number | undefined = Date.now();
  let lastProblem: string | undefined = "not connected yet";
  return {
    name: `mqtt:${options.url}`,
    status: () => (downSince === undefined ? { up: true } : { up: false, detail: `broker ${options.url} unreachable since ${new Date(downSince).toISOString()}${lastProblem ? ` (${lastProblem})` : ""}` }),
    async start(sink: SampleSink) {
      const opts: IClientOptions = {
        username: options.username,
        password: options.password,
        clientId: options.clientId ?? `gridledger-oracle-${process.pid}`,
        reconnectPeriod: 2000,
        connectTimeout: 10_000,
        clean: true,
      };
      client = mqtt.connect(options.url, opts);
      const topics = options.topics ?? DEFAULT_TOPICS;
      client.on("connect", () => {
        log?.info({ url: options.url, topics }, "MQTT connected");
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
        log?.warn({ url: options.url, err: e.message }, "MQTT error");
      });
      client.on("offline", () => {
        downSince ??= Date.now();
        log?.warn({ url: options.url }, "MQTT offline");
      });
      client.on("close", () => void (downSince ??= Date.now()));
      client.on("message", (topic, buf) => {
        const payload = buf.toString("utf8");
        // Nothing may escape this handler: an exception here would end the daemon.
        try {
          try {
            const r = parseMqttMessage(topic, payload, options);
            if ("ignored" in r) return void log?.debug({ topic, why: r.ignored }, "MQTT message ignored");
            // One message's samples: one durable commit (before the handler returns, so before the ack).
            if (sink.sampleBatch) sink.sampleBatch(r.samples);
            else for (const s of r.samples) sink.sample(s);
          } catch (e) {
            if (e instanceof TransientError) throw e; // the outbox: handled below
            if (!(e instanceof ValidationError)) {
              log?.error({ topic, err: (e as Error).message }, "MQTT message handling failed");
              sink.refuse({ source: "mqtt", meterKey: meterKeyOfTopic(topic), field: "payload", reason: `internal error: ${(e as Error).message}`, raw: payload });
              return;
            }
            sink.refuse({ source: "mqtt", meterKey: meterKeyOfTopic(topic), field: e.field, reason: `${e.shortMessage.slice(e.field.length + 2)} (topic ${topic})`, raw: payload });
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
    },
  };
}
