/**
 * A battery behind one bidirectional meter (a storage member): capacity, power, round-trip
 * efficiency split into a charge and a discharge efficiency, and the state of charge.
 *
 * Units: energy in Wh (`bigint`), power in W, efficiencies in parts per million (`bigint`).
 * The meter sees the grid side: charging `importWh` stores `floor(importWh * charge)`;
 * exporting `exportWh` takes `ceil(exportWh / discharge)` from the store. Rounding is always
 * in the battery's disfavour, so the state of charge can never be overstated.
 *
 * Limits are never crossed: `charge()` and `discharge()` refuse any amount beyond
 * `maxImportWh()` / `maxExportWh()` (power over the interval, and the room or the energy in
 * store), so the state of charge stays in `[0, capacityWh]` whatever a caller asks.
 *
 * The registers are the meter's cumulative OBIS 1.8.0 (import) and 2.8.0 (export).
 */
import { ValidationError } from "../sdk/errors";

export const PPM = 1_000_000n;

export interface BatterySpec {
  /** Usable capacity in Wh. */
  capacityWh: bigint;
  /** Largest charge or discharge power at the meter, in W. */
  powerW: bigint;
  /** Share of imported energy that ends up in store, in ppm (1_000_000 = lossless). */
  chargeEfficiencyPpm: bigint;
  /** Share of stored energy that reaches the meter when discharging, in ppm. */
  dischargeEfficiencyPpm: bigint;
}

export interface BatteryOptions extends BatterySpec {
  /** Energy in store at the start, Wh (default 0). */
  socWh?: bigint;
  /** Meter registers at the start (default 0 / 0: a new meter). */
  importWhTotal?: bigint;
  exportWhTotal?: bigint;
}

/** Integer square root (floor) of a non-negative bigint. */
function isqrt(n: bigint): bigint {
  if (n < 2n) return n;
  let x = BigInt(Math.floor(Math.sqrt(Number(n))));
  while (x * x > n) x--;
  while ((x + 1n) * (x + 1n) <= n) x++;
  return x;
}

/**
 * Splits a round-trip efficiency (ppm) evenly into charge and discharge efficiencies whose
 * product does not exceed it: `floor(sqrt(roundTrip * 1e6))` each.
 */
export function splitRoundTrip(roundTripPpm: bigint): { chargeEfficiencyPpm: bigint; dischargeEfficiencyPpm: bigint } {
  if (roundTripPpm <= 0n || roundTripPpm > PPM) throw new ValidationError("roundTripEfficiency", `must be in (0, 1], got ${Number(roundTripPpm) / 1e6}`);
  const each = isqrt(roundTripPpm * PPM);
  return { chargeEfficiencyPpm: each, dischargeEfficiencyPpm: each };
}

/** Checks a battery spec; every problem is reported at once. */
export function checkBatterySpec(s: BatterySpec): void {
  const problems: string[] = [];
  if (s.capacityWh <= 0n) problems.push(`capacityWh must be positive, got ${s.capacityWh}`);
  if (s.powerW <= 0n) problems.push(`powerW must be positive, got ${s.powerW}`);
  for (const k of ["chargeEfficiencyPpm", "dischargeEfficiencyPpm"] as const) {
    if (s[k] <= 0n || s[k] > PPM) problems.push(`${k} must be in (0, 1000000], got ${s[k]}`);
  }
  if (problems.length) throw new ValidationError("battery", problems.join("; "));
}

/** Wh the battery can move at `powerW` over an interval of `intervalSeconds`. */
export function powerWhPerInterval(powerW: bigint, intervalSeconds: number): bigint {
  return (powerW * BigInt(intervalSeconds)) / 3600n;
}

/** Largest import (metered Wh) in one interval: power, and the room left (after charge losses). */
export function maxImportWh(spec: BatterySpec, socWh: bigint, intervalSeconds: number): bigint {
  const room = spec.capacityWh - socWh;
  if (room <= 0n) return 0n;
  // Largest x with floor(x * eff / 1e6) <= room.
  const byRoom = ((room + 1n) * PPM - 1n) / spec.chargeEfficiencyPpm;
  const byPower = powerWhPerInterval(spec.powerW, intervalSeconds);
  return byRoom < byPower ? byRoom : byPower;
}

/** Largest export (metered Wh) in one interval: power, and the energy in store (after discharge losses). */
export function maxExportWh(spec: BatterySpec, socWh: bigint, intervalSeconds: number): bigint {
  if (socWh <= 0n) return 0n;
  // Largest y with ceil(y * 1e6 / eff) <= soc, i.e. y <= floor(soc * eff / 1e6).
  const byStore = (socWh * spec.dischargeEfficiencyPpm) / PPM;
  const byPower = powerWhPerInterval(spec.powerW, intervalSeconds);
  return byStore < byPower ? byStore : byPower;
}

/** A simulated battery and its meter. */
export class Battery {
  readonly spec: BatterySpec;
  readonly intervalSeconds: number;
  private _socWh: bigint;
  private _importWhTotal: bigint;
  private _exportWhTotal: bigint;
  /** Energy taken from the store by discharging (for equivalent full cycles). */
  private _dischargedFromStoreWh = 0n;

  constructor(options: BatteryOptions, intervalSeconds = 900) {
    const spec: BatterySpec = {
      capacityWh: options.capacityWh,
      powerW: options.powerW,
      chargeEfficiencyPpm: options.chargeEfficiencyPpm,
      dischargeEfficiencyPpm: options.dischargeEfficiencyPpm,
    };
    checkBatterySpec(spec);
    const soc = options.socWh ?? 0n;
    if (soc < 0n || soc > spec.capacityWh) throw new ValidationError("socWh", `must be in [0, ${spec.capacityWh}], got ${soc}`);
    if (!Number.isInteger(intervalSeconds) || intervalSeconds < 1) throw new ValidationError("intervalSeconds", `must be a positive integer, got ${intervalSeconds}`);
    this.spec = spec;
    this.intervalSeconds = intervalSeconds;
    this._socWh = soc;
    this._importWhTotal = options.importWhTotal ?? 0n;
    this._exportWhTotal = options.exportWhTotal ?? 0n;
  }

  get socWh(): bigint {
    return this._socWh;
  }
  get importWhTotal(): bigint {
    return this._importWhTotal;
  }
  get exportWhTotal(): bigint {
    return this._exportWhTotal;
  }
  /** Equivalent full cycles so far, in ppm of one cycle (energy discharged from store / capacity). */
  get cyclesPpm(): bigint {
    return (this._dischargedFromStoreWh * PPM) / this.spec.capacityWh;
  }

  maxImportWh(): bigint {
    return maxImportWh(this.spec, this._socWh, this.intervalSeconds);
  }

  maxExportWh(): bigint {
    return maxExportWh(this.spec, this._socWh, this.intervalSeconds);
  }

  /** Charges `importWh` (metered) during one interval; refuses anything beyond the limits. */
  charge(importWh: bigint): void {
    if (importWh < 0n || importWh > this.maxImportWh()) {
      throw new ValidationError("importWh", `must be in [0, ${this.maxImportWh()}] (power and room at SoC ${this._socWh} Wh), got ${importWh}`);
    }
    this._socWh += (importWh * this.spec.chargeEfficiencyPpm) / PPM;
    this._importWhTotal += importWh;
  }

  /** Discharges `exportWh` (metered) during one interval; refuses anything beyond the limits. */
  discharge(exportWh: bigint): void {
    if (exportWh < 0n || exportWh > this.maxExportWh()) {
      throw new ValidationError("exportWh", `must be in [0, ${this.maxExportWh()}] (power and energy at SoC ${this._socWh} Wh), got ${exportWh}`);
    }
    const fromStore = (exportWh * PPM + this.spec.dischargeEfficiencyPpm - 1n) / this.spec.dischargeEfficiencyPpm;
    this._socWh -= fromStore;
    this._dischargedFromStoreWh += fromStore;
    this._exportWhTotal += exportWh;
  }
}
