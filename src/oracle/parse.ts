import { ValidationError } from "../sdk/errors";
import { UINT64_MAX } from "./types";

/**
 * A register value from JSON: a non-negative integer number (safe range) or a decimal string,
 * at most 2^64-1. Throws a ValidationError naming the field.
 */
export function parseWh(value: unknown, field: string): bigint {
  if (value === undefined || value === null) throw new ValidationError(field, "missing");
  let v: bigint;
  if (typeof value === "number") {
    if (!Number.isFinite(value)) throw new ValidationError(field, `${value} is not a number`);
    if (!Number.isInteger(value)) throw new ValidationError(field, `${value} is not an integer number of Wh`);
    if (!Number.isSafeInteger(value)) throw new ValidationError(field, `${value} is too large for a JSON number; send it as a decimal string`);
    v = BigInt(value);
  } else if (typeof value === "string") {
    if (!/^-?\d+$/.test(value.trim())) throw new ValidationError(field, `"${value.slice(0, 40)}" is not an integer number of Wh`);
    v = BigInt(value.trim());
  } else {
    throw new ValidationError(field, `expected an integer or a decimal string, got ${Array.isArray(value) ? "an array" : typeof value}`);
  }
  if (v < 0n) throw new ValidationError(field, `${v} is negative`);
  if (v > UINT64_MAX) throw new ValidationError(field, `${v} is above 2^64-1 (uint64)`);
  return v;
}

/** A timestamp from JSON: unix seconds (integer, number or string), unix ms (13 digits), or ISO 8601 with a zone. */
export function parseTimestamp(value: unknown, field = "timestamp"): number {
  if (value === undefined || value === null) throw new ValidationError(field, "missing");
  if (typeof value === "number" || (typeof value === "string" && /^\d+(\.\d+)?$/.test(value.trim()))) {
    const n = Number(value);
    if (!Number.isFinite(n) || n < 0) throw new ValidationError(field, `${value} is not a unix time`);
    const seconds = n > 1e12 ? n / 1000 : n; // milliseconds
    if (seconds > 4_102_444_800) throw new ValidationError(field, `${value} is after the year 2100`);
    return Math.floor(seconds);
  }
  if (typeof value === "string") {
    if (!/(Z|[+-]\d{2}:?\d{2})$/.test(value.trim())) throw new ValidationError(field, `"${value.slice(0, 40)}" has no time zone (add Z or +hh:mm)`);
    const ms = Date.parse(value);
    if (Number.isNaN(ms)) throw new ValidationError(field, `"${value.slice(0, 40)}" is not an ISO 8601 time`);
    return Math.floor(ms / 1000);
  }
  throw new ValidationError(field, `expected unix seconds or an ISO 8601 string, got ${typeof value}`);
}

/** kWh from JSON (Tasmota `ENERGY.Total`: a number like 1234.567) -> Wh, without float rounding drift. */
export function kWhToWh(value: unknown, field: string): bigint {
  // Arrays (Tasmota's [total, t1, t2], per-channel totals) are the caller's to interpret: see `tasmotaTotal`.
  if (Array.isArray(value)) throw new ValidationError(field, "expected one kWh number, got an array");
  if (typeof value !== "number" && typeof value !== "string") throw new ValidationError(field, value === undefined ? "missing" : `expected kWh as a number, got ${typeof value}`);
  const n = Number(value);
  if (!Number.isFinite(n)) throw new ValidationError(field, `${value} is not a number`);
  if (n < 0) throw new ValidationError(field, `${value} kWh is negative`);
  const [int, frac = ""] = n.toFixed(3).split(".");
  const wh = BigInt(int) * 1000n + BigInt(frac.padEnd(3, "0"));
  if (wh > UINT64_MAX) throw new ValidationError(field, `${value} kWh is above 2^64-1 Wh`);
  return wh;
}

/** Wh as a JSON float (Shelly `total_act_energy`, e.g. 12345.67) -> whole Wh, rounded down. */
export function floatWhToWh(value: unknown, field: string): bigint {
  if (typeof value !== "number" && typeof value !== "string") throw new ValidationError(field, value === undefined ? "missing" : `expected Wh as a number, got ${typeof value}`);
  const n = Number(value);
  if (!Number.isFinite(n)) throw new ValidationError(field, `${value} is not a number`);
  if (n < 0) throw new ValidationError(field, `${value} Wh is negative`);
  if (n > Number.MAX_SAFE_INTEGER) throw new ValidationError(field, `${value} Wh is out of range`);
  return BigInt(Math.floor(n));
}
