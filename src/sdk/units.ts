/**
 * Human amounts <-> on-chain integers, `bigint` only (DESIGN.md, "Units"):
 * - energy in Wh: "1500", "1500 Wh", "1.5 kWh", "0.002 MWh" -> 1500n;
 * - credits (CommunityCredit, 6 decimals): "2.50" -> 2_500_000n;
 * - prices in credit base units per kWh: "0.25", "0.25/kWh", "0.25 credits/kWh" -> 250_000n.
 * Every parser throws `ValidationError` naming the field and the reason.
 */
import { ValidationError } from "./errors";

export const CREDIT_DECIMALS = 6;
export const ENERGY_DECIMALS = 3; // EnergyToken: 1 base unit = 1 Wh, 1 token = 1 kWh

const MAX_UINT64 = (1n << 64n) - 1n;
// Digits may be grouped by single underscores between digits ("1_000.5"), nowhere else ("_8", "8_", "1__0" are refused).
const DECIMAL_RE = /^(\d+(?:_\d+)*)(?:\.(\d+(?:_\d+)*))?$/;

/** A non-negative decimal string scaled by 10^decimals; more fraction digits than `decimals` is an error. */
export function parseDecimal(field: string, text: string, decimals: number, unit: string): bigint {
  const t = text.trim();
  const m = DECIMAL_RE.exec(t);
  if (!m) {
    const why = t.startsWith("-") ? "must not be negative" : "is not a number";
    throw new ValidationError(field, `${why}, got "${text}"`);
  }
  const whole = m[1].replace(/_/g, "");
  const frac = (m[2] ?? "").replace(/_/g, "");
  if (frac.length > decimals) {
    throw new ValidationError(
      field,
      decimals === 0
        ? `must be a whole number of ${unit}, got "${text}"`
        : `has more than ${decimals} decimals (the smallest ${unit} step is 0.${"0".repeat(decimals - 1)}1), got "${text}"`,
    );
  }
  return BigInt(whole) * 10n ** BigInt(decimals) + (frac ? BigInt(frac.padEnd(decimals, "0")) : 0n);
}

/** `value / 10^decimals` with at least `minDecimals` and at most `decimals` fraction digits. */
export function formatDecimal(value: bigint, decimals: number, minDecimals = 0): string {
  const neg = value < 0n;
  const v = neg ? -value : value;
  const scale = 10n ** BigInt(decimals);
  let frac = (v % scale).toString().padStart(decimals, "0").replace(/0+$/, "");
  if (frac.length < minDecimals) frac = frac.padEnd(minDecimals, "0");
  return `${neg ? "-" : ""}${v / scale}${frac ? "." + frac : ""}`;
}

const ENERGY_UNITS: Record<string, number> = { wh: 0, kwh: 3, mwh: 6 };

/** Energy to Wh: a bare number is Wh; units Wh, kWh, MWh (any case). Whole Wh only. */
export function parseEnergyWh(text: string, field = "energy", max: bigint = MAX_UINT64): bigint {
  const m = /^\s*([^a-zA-Z\s]+)\s*([a-zA-Z]*)\s*$/.exec(String(text));
  if (!m) throw new ValidationError(field, `expected an energy such as "1500 Wh" or "1.5 kWh", got "${text}"`);
  const unit = (m[2] || "wh").toLowerCase();
  const decimals = ENERGY_UNITS[unit];
  if (decimals === undefined) {
    throw new ValidationError(field, `unknown energy unit "${m[2]}" (use Wh, kWh or MWh), got "${text}"`);
  }
  const wh = parseDecimal(field, m[1], decimals, "Wh");
  if (wh > max) throw new ValidationError(field, `is too large (at most ${max} Wh), got "${text}"`);
  return wh;
}

/** "1.5 kWh" from 1500n; below 1 kWh stays in Wh ("800 Wh"). */
export function formatEnergy(wh: bigint): string {
  const abs = wh < 0n ? -wh : wh;
  return abs < 1000n ? `${wh} Wh` : `${formatDecimal(wh, 3)} kWh`;
}

/** Credits ("2.50", "2.5 credits") to base units (6 decimals). */
export function parseCredits(text: string, field = "amount"): bigint {
  const t = String(text).trim().replace(/\s*credits?$/i, "");
  return parseDecimal(field, t, CREDIT_DECIMALS, "credit");
}

/** 1_200_000n -> "1.20": two decimals at least, up to six when they matter. */
export function formatCredits(baseUnits: bigint): string {
  return formatDecimal(baseUnits, CREDIT_DECIMALS, 2);
}

/** A price per kWh in credits ("0.25", "0.25/kWh", "0.25 credits/kWh") to base units per kWh. */
export function parsePricePerKWh(text: string, field = "price", max: bigint = MAX_UINT64): bigint {
  const t = String(text)
    .trim()
    .replace(/\s*(?:\/|per)\s*kwh$/i, "")
    .replace(/\s*credits?$/i, "");
  const p = parseDecimal(field, t, CREDIT_DECIMALS, "credit per kWh");
  if (p > max) throw new ValidationError(field, `is too large (at most ${formatCredits(max)}/kWh), got "${text}"`);
  return p;
}

/** 250_000n -> "0.25/kWh". */
export function formatPricePerKWh(baseUnitsPerKWh: bigint): string {
  return `${formatCredits(baseUnitsPerKWh)}/kWh`;
}

/** A non-negative whole number that fits in `bits` bits (interval indices, watts, zones). */
export function parseUint(text: string, field: string, bits = 32): bigint {
  const t = String(text).trim();
  if (!/^\d+$/.test(t)) throw new ValidationError(field, `must be a whole number >= 0, got "${text}"`);
  const v = BigInt(t);
  if (v >= 1n << BigInt(bits)) throw new ValidationError(field, `must fit in uint${bits}, got "${text}"`);
  return v;
}
