import * as fs from "node:fs";
import * as net from "node:net";
import { execFile } from "node:child_process";
import { ValidationError } from "../../sdk/errors";
import type { RawSample, SampleSink, Source } from "../types";
import type { Logger } from "../../sdk/logger";
import { isSummerTime, localToUnix } from "../timezone";

/**
 * DSMR P1 telegrams (DSMR 4 and 5 and their national profiles: Dutch DSMR, Belgian e-MUCS,
 * Luxembourg Smarty, Swedish, Hungarian, Irish...): a header line `/XXX5...`, COSEM lines
 * `OBIS(value*unit)`, and `!` followed by a CRC16 (CRC-16/ARC: polynomial 0xA001 reflected,
 * initial value 0) over everything from `/` through `!`, hex, upper case.
 *
 * Registers: the total `1-0:1.8.0` / `1-0:2.8.0` when the meter sends it, else the sum of the
 * tariff registers `1-0:1.8.1` + `1-0:1.8.2` (+ `.3`, `.4`); channel `1-1:` is read as `1-0:`.
 * Equipment id: `0-0:96.1.1`, else `0-0:42.0.0` (COSEM logical device name), hex-encoded ASCII.
 * DSMR 2.2 and 3.0 telegrams carry no CRC and are refused.
 */

/** CRC-16/ARC over `data` (latin1 bytes). */
export function crc16arc(data: Buffer | string): number {
  const buf = typeof data === "string" ? Buffer.from(data, "latin1") : data;
  let crc = 0;
  for (const byte of buf) {
    crc ^= byte;
    for (let i = 0; i < 8; i++) crc = crc & 1 ? (crc >>> 1) ^ 0xa001 : crc >>> 1;
  }
  return crc & 0xffff;
}

/** Appends `!CRC\r\n` to a telegram body that ends with `!` (for fixtures and simulators). */
export function sealTelegram(bodyThroughBang: string): string {
  return `${bodyThroughBang}${crc16arc(bodyThroughBang).toString(16).toUpperCase().padStart(4, "0")}\r\n`;
}

export interface DsmrTelegram {
  header: string;
  /** Equipment id, decoded from hex to text when printable, else the hex. */
  equipmentId?: string;
  /** Unix seconds. */
  timestamp: number;
  importWhTotal: bigint;
  exportWhTotal: bigint;
  /** Per tariff, Wh (0 when the meter sends only totals). */
  registers: { import1: bigint; import2: bigint; export1: bigint; export2: bigint };
  /** Where the totals came from: the meter's own total registers or the sum of its tariffs. */
  totals: "registers" | "tariffs";
  crc: number;
}

export interface DsmrParseOptions {
  /**
   * The meter's IANA time zone ("Europe/Amsterdam", "Europe/Dublin"): the telegram's local time
   * is converted with it, and its S/W flag is checked against it (see `dstFlag`).
   */
  timeZone?: string;
  /**
   * "check" (default): a flag that contradicts the zone is refused, except in the hour that occurs
   * twice, where the flag says which; "ignore": the zone alone decides (meters whose flag is known
   * to be wrong, e.g. always S).
   */
  dstFlag?: "check" | "ignore";
  /** Without `timeZone`: fixed UTC offsets in minutes for the S and W flags (default +120 / +60). */
  summerOffsetMinutes?: number;
  winterOffsetMinutes?: number;
}

/** `012345.678*kWh` -> Wh. Also accepts `*Wh`. */
export function kWhTextToWh(text: string, field: string): bigint {
  const m = /^(\d+)(?:\.(\d{1,3}))?\*(kWh|Wh)$/.exec(text);
  if (!m) throw new ValidationError(field, `"${text}" is not an energy value like 012345.678*kWh`);
  if (m[3] === "Wh") {
    if (m[2]) throw new ValidationError(field, `"${text}": Wh must be an integer`);
    return BigInt(m[1]);
  }
  return BigInt(m[1]) * 1000n + BigInt((m[2] ?? "").padEnd(3, "0"));
}

/** `YYMMDDhhmmssX` (X = S summer time, W winter time) -> unix seconds. */
export function dsmrTimestamp(text: string, options: DsmrParseOptions = {}): number {
  const field = "0-0:1.0.0";
  const m = /^(\d{2})(\d{2})(\d{2})(\d{2})(\d{2})(\d{2})([SW])$/.exec(text);
  if (!m) throw new ValidationError(field, `"${text}" is not a timestamp YYMMDDhhmmssX with X = S or W`);
  const [, yy, mo, dd, hh, mi, ss, flag] = m;
  const month = Number(mo), day = Number(dd), hour = Number(hh), minute = Number(mi), second = Number(ss);
  if (month < 1 || month > 12 || day < 1 || day > 31 || hour > 23 || minute > 59 || second > 59) {
    throw new ValidationError(field, `"${text}" is not a valid date and time (a meter whose clock is not set sends zeros)`);
  }
  const year = 2000 + Number(yy);
  // A meter that has never synchronised its clock counts from 2000-01-01 (a "zero clock"): no real time.
  if (year < 2010) throw new ValidationError(field, `"${text}" is before 2010: the meter's clock is not set (a zero clock), so the reading has no time`);
  if (options.timeZone) {
    const zone = options.timeZone;
    const summer = flag === "S";
    const check = (options.dstFlag ?? "check") === "check";
    const local = { year, month, day, hour, minute, second };
    // The flag only decides in the hour that occurs twice; elsewhere the zone alone says.
    let ts: number;
    try {
      ts = localToUnix(zone, local, field);
    } catch (e) {
      if (!(e instanceof ValidationError) || !/occurs twice/.test(e.shortMessage)) throw e;
      return localToUnix(zone, local, field, summer ? "summer" : "winter");
    }
    const zoneSummer = isSummerTime(zone, ts);
    if (check && zoneSummer !== undefined && zoneSummer !== summer) {
      throw new ValidationError(field, `"${text}" says ${summer ? "summer (S)" : "winter (W)"} time but ${zone} is on ${zoneSummer ? "summer" : "winter"} time then; check the meter's zone, or set dstFlag "ignore" for a meter whose flag is wrong`);
    }
    return ts;
  }
  const offset = flag === "S" ? options.summerOffsetMinutes ?? 120 : options.winterOffsetMinutes ?? 60;
  const localAsUtc = Date.UTC(year, month - 1, day, hour, minute, second) / 1000;
  return localAsUtc - offset * 60;
}

function decodeEquipmentId(hex: string): string {
  if (/^([0-9A-Fa-f]{2})+$/.test(hex)) {
    const text = Buffer.from(hex, "hex").toString("latin1");
    if (/^[\x20-\x7e]+$/.test(text)) return text;
  }
  return hex;
}

/**
 * Parses one complete telegram (from `/` through `!CRC`). Throws a ValidationError naming
 * the field: `crc` when the checksum is wrong or missing, an OBIS code when a value is
 * missing or malformed.
 */
export function parseTelegram(telegram: string, options: DsmrParseOptions = {}): DsmrTelegram {
  const start = telegram.indexOf("/");
  const bang = telegram.lastIndexOf("!");
  if (start < 0) throw new ValidationError("header", "no telegram header starting with '/'");
  if (bang < start) throw new ValidationError("crc", "no '!' terminator");
  const crcText = telegram.slice(bang + 1).trim();
  if (crcText === "") {
    throw new ValidationError("crc", "no CRC after '!': a DSMR 2.2/3.0 (or other CRC-less) telegram, not supported; DSMR 4 and 5 meters end each telegram with 4 hex digits");
  }
  if (!/^[0-9A-Fa-f]{4}$/.test(crcText)) {
    throw new ValidationError("crc", `missing or malformed CRC after '!' ("${crcText.slice(0, 20)}"); DSMR 4/5 telegrams end with 4 hex digits`);
  }
  const body = telegram.slice(start, bang + 1);
  const expected = crc16arc(body);
  const got = parseInt(crcText, 16);
  if (expected !== got) {
    throw new ValidationError("crc", `checksum mismatch: telegram says ${crcText.toUpperCase()}, content gives ${expected.toString(16).toUpperCase().padStart(4, "0")}`);
  }
  const lines = body.split(/\r?\n/);
  const header = lines[0].trim();
  if (!/^\/[A-Za-z]{3}\d/.test(header)) throw new ValidationError("header", `"${header}" is not a DSMR header like /ISK5\\2M550T-1012`);
  const values = new Map<string, string>();
  for (const line of lines.slice(1)) {
    const m = /^(\d+)-(\d+):(\d+\.\d+\.\d+)\((.*?)\)/.exec(line.trim());
    if (!m) continue;
    // Channel 1 of the electricity meter (`1-1:1.8.1`, Swiss and Czech meters) is its only channel.
    const key = m[1] === "1" && m[2] === "1" ? `1-0:${m[3]}` : `${m[1]}-${m[2]}:${m[3]}`;
    if (!values.has(key)) values.set(key, m[4]);
  }
  const energy = (obis: string): bigint | undefined => {
    const v = values.get(obis);
    return v === undefined ? undefined : kWhTextToWh(v, obis);
  };
  const register = (dir: "1" | "2", what: string): { total: bigint; t1: bigint; t2: bigint; from: "registers" | "tariffs" } => {
    const t1 = energy(`1-0:${dir}.8.1`);
    const t2 = energy(`1-0:${dir}.8.2`);
    const total = energy(`1-0:${dir}.8.0`);
    if (total !== undefined) return { total, t1: t1 ?? 0n, t2: t2 ?? 0n, from: "registers" };
    if (t1 === undefined && t2 === undefined) {
      throw new ValidationError(`1-0:${dir}.8.0`, `missing (${what}: neither the total 1-0:${dir}.8.0 nor the tariff registers 1-0:${dir}.8.1 and 1-0:${dir}.8.2)`);
    }
    if (t1 === undefined) throw new ValidationError(`1-0:${dir}.8.1`, `missing (${what}, tariff 1)`);
    if (t2 === undefined) throw new ValidationError(`1-0:${dir}.8.2`, `missing (${what}, tariff 2)`);
    const more = (energy(`1-0:${dir}.8.3`) ?? 0n) + (energy(`1-0:${dir}.8.4`) ?? 0n);
    return { total: t1 + t2 + more, t1, t2, from: "tariffs" };
  };
  const imp = register("1", "import");
  const exp = register("2", "export");
  const timeText = values.get("0-0:1.0.0");
  if (timeText === undefined) throw new ValidationError("0-0:1.0.0", "missing (timestamp)");
  const timestamp = dsmrTimestamp(timeText, options);
  const eq = values.get("0-0:96.1.1") || values.get("0-0:42.0.0");
  return {
    header,
    equipmentId: eq ? decodeEquipmentId(eq) : undefined,
    timestamp,
    importWhTotal: imp.total,
    exportWhTotal: exp.total,
    registers: { import1: imp.t1, import2: imp.t2, export1: exp.t1, export2: exp.t2 },
    totals: imp.from,
    crc: got,
  };
}

/**
 * Cuts a byte stream into telegrams: from a `/` to `!` + 4 hex digits + line end. Bytes
 * before the first `/` (joining a stream mid-telegram) are skipped and counted.
 */
export class TelegramSplitter {
  private buf = "";
  skippedBytes = 0;
  constructor(private readonly maxTelegramBytes = 16_384) {}

  /** Feeds a chunk; returns the complete telegrams and any overlong fragments. */
  push(chunk: Buffer | string): { telegrams: string[]; overlong: string[] } {
    this.buf += typeof chunk === "string" ? chunk : chunk.toString("latin1");
    const telegrams: string[] = [];
    const overlong: string[] = [];
    for (;;) {
      const start = this.buf.indexOf("/");
      if (start < 0) {
        this.skippedBytes += this.buf.length;
        this.buf = "";
        break;
      }
      if (start > 0) {
        this.skippedBytes += start;
        this.buf = this.buf.slice(start);
      }
      // A telegram ends at its '!' line whatever follows the '!' (the parser refuses a bad CRC):
      // a corrupt CRC must not swallow the next telegram.
      const end = /![^\r\n]{0,16}\r?\n/.exec(this.buf);
      if (!end) {
        if (this.buf.length > this.maxTelegramBytes) {
          overlong.push(this.buf.slice(0, 2000));
          this.buf = this.buf.slice(1);
          continue;
        }
        break;
      }
      const stop = end.index + end[0].length;
      telegrams.push(this.buf.slice(0, stop));
      this.buf = this.buf.slice(stop);
    }
    return { telegrams, overlong };
  }

  /** What is left at the end of a finite stream (an unterminated telegram), if anything. */
  rest(): string {
    const r = this.buf;
    this.buf = "";
    return r;
  }

  /**
   * At the end of a finite stream: a last telegram that ends at `!CRC` without a line break is
   * complete (returned in `telegrams`); anything else left over is `rest`.
   */
  end(): { telegrams: string[]; rest: string } {
    const r = this.rest();
    const start = r.indexOf("/");
    if (start >= 0 && /!([0-9A-Fa-f]{4})?\s*$/.test(r)) return { telegrams: [r.slice(start)], rest: "" };
    return { telegrams: [], rest: r };
  }
}

export interface DsmrSourceOptions extends DsmrParseOptions {
  /** The time zone and flag rule of a meter by its key (the meters file); else `timeZone` / `dstFlag` of the port. */
  meterTime?: (meterKey: string) => { timeZone?: string; dstFlag?: "check" | "ignore" } | undefined;
  /** A serial device (`/dev/ttyUSB0`), a file of telegrams, or `tcp://host:port` (ser2net, P1 dongle). */
  port: string;
  /** Use this meter key instead of the telegram's equipment id (one P1 port = one meter). */
  meterKey?: string;
  /** For a serial device: set the line with `stty` first (115200 for DSMR 4/5). */
  baud?: number;
  /** Set for a file of recorded telegrams (replayed after a restart). */
  replay?: boolean;
  /** Reconnect delay for TCP (ms). */
  reconnectMs?: number;
  logger?: Logger;
}

/** The equipment id a telegram names (`0-0:96.1.1`, else `0-0:42.0.0`), decoded, read without parsing the rest. */
export function telegramEquipmentId(telegram: string): string | undefined {
  const eq = /0-0:96\.1\.1\(([0-9A-Fa-f]+)\)/.exec(telegram) ?? /0-0:42\.0\.0\(([0-9A-Fa-f]+)\)/.exec(telegram);
  return eq ? decodeEquipmentId(eq[1]) : undefined;
}

/** Turns one telegram into a sample or a refusal for the sink. */
export function ingestTelegram(sink: SampleSink, telegram: string, options: DsmrSourceOptions): void {
  const key = options.meterKey ?? telegramEquipmentId(telegram);
  try {
    const perMeter = key !== undefined ? options.meterTime?.(key) : undefined;
    const t = parseTelegram(telegram, { ...options, timeZone: perMeter?.timeZone ?? options.timeZone, dstFlag: perMeter?.dstFlag ?? options.dstFlag });
    const meterKey = options.meterKey ?? t.equipmentId;
    if (!meterKey) {
      sink.refuse({ source: "dsmr", field: "0-0:96.1.1", reason: "no equipment id in the telegram (0-0:96.1.1 or 0-0:42.0.0) and no meterKey configured for this port", raw: telegram });
      return;
    }
    sink.sample({ source: "dsmr", meterKey, timestamp: t.timestamp, importWhTotal: t.importWhTotal, exportWhTotal: t.exportWhTotal, raw: telegram, replay: options.replay });
  } catch (e) {
    if (!(e instanceof ValidationError)) throw e;
    sink.refuse({ source: "dsmr", meterKey: key, field: e.field, reason: e.shortMessage.slice(e.field.length + 2), raw: telegram });
  }
}

/** P1 source: a serial device, a TCP socket or a file. */
export function dsmrSource(options: DsmrSourceOptions): Source {
  const splitter = new TelegramSplitter();
  let stopped = false;
  let stream: NodeJS.ReadableStream & { destroy?: () => void } | undefined;
  let socket: net.Socket | undefined;
  let reconnectTimer: NodeJS.Timeout | undefined;
  let resolveDone: () => void = () => {};
  const done = new Promise<void>((r) => (resolveDone = r));
  const log = options.logger;

  const feed = (sink: SampleSink, chunk: Buffer | string) => {
    const { telegrams, overlong } = splitter.push(chunk);
    for (const t of telegrams) ingestTelegram(sink, t, options);
    for (const o of overlong) sink.refuse({ source: "dsmr", meterKey: options.meterKey, field: "telegram", reason: "no '!CRC' terminator within 16 KiB", raw: o });
  };
  const finish = (sink: SampleSink) => {
    const { telegrams, rest } = splitter.end();
    for (const t of telegrams) ingestTelegram(sink, t, options);
    if (rest.trim()) sink.refuse({ source: "dsmr", meterKey: options.meterKey, field: "telegram", reason: "stream ended inside a telegram (no '!CRC' terminator)", raw: rest });
    resolveDone();
  };

  const tcp = /^tcp:\/\/([^:/]+):(\d+)\/?$/.exec(options.port);

  return {
    name: `dsmr:${options.port}`,
    done,
    async start(sink) {
      if (tcp) {
        const connect = () => {
          if (stopped) return;
          socket = net.connect({ host: tcp[1], port: Number(tcp[2]) });
          socket.on("connect", () => log?.info({ port: options.port }, "P1 socket connected"));
          socket.on("data", (chunk) => feed(sink, chunk));
          socket.on("error", (e) => log?.warn({ port: options.port, err: e.message }, "P1 socket error"));
          socket.on("close", () => {
            splitter.rest();
            if (stopped) return resolveDone();
            reconnectTimer = setTimeout(connect, options.reconnectMs ?? 2000);
          });
        };
        connect();
        return;
      }
      const isDevice = options.port.startsWith("/dev/");
      if (isDevice && options.baud) {
        await new Promise<void>((resolve, reject) =>
          execFile("stty", ["-F", options.port, String(options.baud), "raw", "-echo", "cs8", "-cstopb", "-parenb"], (err) =>
            err ? reject(new ValidationError("dsmr.port", `stty on ${options.port} failed: ${err.message}`)) : resolve(),
          ),
        );
      }
      if (!isDevice) options = { ...options, replay: true };
      stream = fs.createReadStream(options.port);
      stream.on("data", (chunk) => feed(sink, chunk as Buffer));
      stream.on("error", (e: Error) => {
        log?.error({ port: options.port, err: e.message }, "P1 port read error");
        sink.refuse({ source: "dsmr", meterKey: options.meterKey, field: "dsmr.port", reason: `read error: ${e.message}` });
        resolveDone();
      });
      stream.on("end", () => finish(sink));
    },
    async stop() {
      stopped = true;
      if (reconnectTimer) clearTimeout(reconnectTimer);
      socket?.destroy();
      stream?.destroy?.();
      resolveDone();
    },
  };
}

/** A helper for fixtures and simulators: a DSMR 5.0 telegram with a correct CRC. */
export function makeTelegram(p: {
  equipmentId: string;
  time: string; // YYMMDDhhmmssX
  import1Wh: bigint;
  import2Wh: bigint;
  export1Wh: bigint;
  export2Wh: bigint;
  powerW?: number;
}): string {
  const kwh = (wh: bigint) => `${(wh / 1000n).toString().padStart(6, "0")}.${(wh % 1000n).toString().padStart(3, "0")}*kWh`;
  const lines = [
    "/ISK5\\2M550T-1012",
    "",
    "1-3:0.2.8(50)",
    `0-0:1.0.0(${p.time})`,
    `0-0:96.1.1(${Buffer.from(p.equipmentId, "latin1").toString("hex").toUpperCase()})`,
    `1-0:1.8.1(${kwh(p.import1Wh)})`,
    `1-0:1.8.2(${kwh(p.import2Wh)})`,
    `1-0:2.8.1(${kwh(p.export1Wh)})`,
    `1-0:2.8.2(${kwh(p.export2Wh)})`,
    "0-0:96.14.0(0001)",
    `1-0:1.7.0(${((p.powerW ?? 0) / 1000).toFixed(3).padStart(6, "0")}*kW)`,
    "1-0:2.7.0(00.000*kW)",
    "0-0:96.7.21(00010)",
    "0-0:96.7.9(00002)",
    "1-0:99.97.0(1)(0-0:96.7.19)(180621091200S)(0000000240*s)",
    "1-0:32.32.0(00002)",
    "1-0:32.36.0(00000)",
    "0-0:96.13.0()",
    "1-0:32.7.0(230.1*V)",
    "1-0:31.7.0(001*A)",
    "1-0:21.7.0(00.191*kW)",
    "1-0:22.7.0(00.000*kW)",
    "0-1:24.1.0(003)",
    "0-1:96.1.0(4730303339303031373030323936363137)",
    "0-1:24.2.1(190102123000W)(01234.567*m3)",
    "!",
  ];
  return sealTelegram(lines.join("\r\n"));
}
