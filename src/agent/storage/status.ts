/**
 * Where the storage agent reads the battery's state of charge and limits: the simulator (the
 * demo and tests), or an MQTT topic a real battery's gateway publishes to, with JSON like
 *
 *   {"socWh": 23500, "capacityWh": 50000, "powerW": 25000,
 *    "chargeEfficiency": 0.95, "dischargeEfficiency": 0.95, "timestamp": 1764370800}
 *
 * (`socPercent` may stand for `socWh`; `roundTripEfficiency` for the two efficiencies, split
 * evenly). A status older than `maxAgeSeconds` is refused: the agent never plans on stale data.
 */
import mqtt, { MqttClient } from "mqtt";
import { TransientError, ValidationError } from "../../sdk/errors";
import type { Logger } from "../../sdk/logger";
import { Battery, BatterySpec, checkBatterySpec, PPM, splitRoundTrip } from "../../sim/battery";

export interface BatteryStatus {
  spec: BatterySpec;
  socWh: bigint;
  /** Unix seconds of the measurement. */
  timestamp: number;
}

export interface StatusSource {
  readonly name: string;
  read(): Promise<BatteryStatus>;
  close(): Promise<void>;
}

/** The simulated battery as it stands (the demo moves it interval by interval). */
export function simulatorStatus(battery: Battery, now: () => number = () => Math.floor(Date.now() / 1000)): StatusSource {
  return {
    name: "simulator",
    read: async () => ({ spec: battery.spec, socWh: battery.socWh, timestamp: now() }),
    close: async () => undefined,
  };
}

function num(o: Record<string, unknown>, k: string, problems: string[]): number | undefined {
  const v = o[k];
  if (v === undefined) return undefined;
  const n = typeof v === "string" && v.trim() !== "" ? Number(v) : v;
  if (typeof n !== "number" || !Number.isFinite(n) || n < 0) {
    problems.push(`${k}: must be a non-negative number, got ${JSON.stringify(v)}`);
    return undefined;
  }
  return n;
}

const ppm = (x: number) => BigInt(Math.round(x * 1e6));

/** Validates one status message; every problem is reported at once, naming the field. */
export function parseStatus(payload: string | Record<string, unknown>, now: () => number = () => Math.floor(Date.now() / 1000)): BatteryStatus {
  let o: Record<string, unknown>;
  if (typeof payload === "string") {
    try {
      o = JSON.parse(payload);
    } catch (e) {
      throw new ValidationError("status", `malformed JSON: ${(e as Error).message}`);
    }
  } else o = payload;
  if (!o || typeof o !== "object" || Array.isArray(o)) throw new ValidationError("status", "expected a JSON object");
  const problems: string[] = [];
  const capacityWh = num(o, "capacityWh", problems);
  const powerW = num(o, "powerW", problems);
  const socWh = num(o, "socWh", problems);
  const socPercent = num(o, "socPercent", problems);
  const ce = num(o, "chargeEfficiency", problems);
  const de = num(o, "dischargeEfficiency", problems);
  const rt = num(o, "roundTripEfficiency", problems);
  const ts = num(o, "timestamp", problems);
  if (capacityWh === undefined) problems.push("capacityWh: missing");
  if (powerW === undefined) problems.push("powerW: missing");
  if (socWh === undefined && socPercent === undefined) problems.push("socWh (or socPercent): missing");
  if (socPercent !== undefined && socPercent > 100) problems.push(`socPercent: must be at most 100, got ${socPercent}`);
  if ((ce === undefined || de === undefined) && rt === undefined) problems.push("chargeEfficiency and dischargeEfficiency (or roundTripEfficiency): missing");
  for (const [k, v] of [["chargeEfficiency", ce], ["dischargeEfficiency", de], ["roundTripEfficiency", rt]] as const) {
    if (v !== undefined && (v <= 0 || v > 1)) problems.push(`${k}: must be in (0, 1], got ${v}`);
  }
  if (problems.length) throw new ValidationError("status", problems.join("; "));
  const eff = ce !== undefined && de !== undefined ? { chargeEfficiencyPpm: ppm(ce), dischargeEfficiencyPpm: ppm(de) } : splitRoundTrip(ppm(rt!));
  const spec: BatterySpec = { capacityWh: BigInt(Math.floor(capacityWh!)), powerW: BigInt(Math.floor(powerW!)), ...eff };
  checkBatterySpec(spec);
  let soc = socWh !== undefined ? BigInt(Math.floor(socWh)) : (spec.capacityWh * ppm(socPercent! / 100)) / PPM;
  if (soc > spec.capacityWh) throw new ValidationError("socWh", `must be at most capacityWh ${spec.capacityWh}, got ${soc}`);
  if (soc < 0n) soc = 0n;
  return { spec, socWh: soc, timestamp: ts !== undefined ? Math.floor(ts) : now() };
}

export interface MqttStatusOptions {
  url: string;
  topic: string;
  /** Refuse a status older than this (default 300 s). */
  maxAgeSeconds?: number;
  logger?: Logger;
  now?: () => number;
}

/** The battery's gateway on MQTT: keeps the latest valid status of `topic`. */
export async function mqttStatus(o: MqttStatusOptions): Promise<StatusSource> {
  const now = o.now ?? (() => Math.floor(Date.now() / 1000));
  const maxAge = o.maxAgeSeconds ?? 300;
  let latest: BatteryStatus | undefined;
  let lastProblem: string | undefined;
  const client: MqttClient = mqtt.connect(o.url, { reconnectPeriod: 2_000, connectTimeout: 10_000 });
  client.on("message", (_topic, payload) => {
    try {
      latest = parseStatus(payload.toString("utf8"), now);
      lastProblem = undefined;
    } catch (e) {
      lastProblem = (e as Error).message;
      o.logger?.warn({ topic: o.topic, err: lastProblem }, "battery status refused");
    }
  });
  client.on("connect", () => client.subscribe(o.topic, { qos: 1 }));
  client.on("error", (e) => o.logger?.warn({ err: e.message }, "MQTT error"));
  return {
    name: `mqtt ${o.topic}`,
    async read() {
      if (!latest) throw new TransientError(`no battery status on ${o.topic} yet${lastProblem ? ` (last message refused: ${lastProblem})` : ""}`);
      if (now() - latest.timestamp > maxAge) throw new TransientError(`the battery status on ${o.topic} is ${now() - latest.timestamp} s old (more than ${maxAge} s)`);
      return latest;
    },
    close: () => new Promise<void>((r) => client.end(false, {}, () => r())),
  };
}

/** A fixed status (`--status-json`): to try the agent, in dry-run, without a device. */
export function fixedStatus(status: BatteryStatus): StatusSource {
  return { name: "fixed", read: async () => ({ ...status, timestamp: Math.floor(Date.now() / 1000) }), close: async () => undefined };
}
