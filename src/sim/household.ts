/**
 * Household PV and load profiles for the demo and the benchmarks: a community of prosumers
 * (rooftop PV) and consumers behind one bidirectional meter each.
 *
 * Time: interval `i` covers `[i * intervalSeconds, (i + 1) * intervalSeconds)` seconds after
 * local midnight of the day of the year on which the market starts (`dayOfYear`, default 172,
 * the June solstice). Everything is a pure function of (household, interval index, interval
 * length, start day): any interval can be simulated on its own, in any order, with the same
 * result. Weather (daily cloudiness and passing clouds) is shared by the whole community, as
 * neighbours share the sky; load noise and appliance spikes belong to each household.
 *
 * PV: a bell between sunrise and sunset (06:00-20:00 at midsummer, 09:00-17:00 at midwinter,
 * solar noon 13:00 local summer time), scaled by the season, the system's performance ratio and
 * the clearness of the sky. Load: base load, morning and evening peaks and a small midday bump,
 * scaled so that a year adds up to the household's annual consumption, with noise and the odd
 * kettle or oven. The meter sees the net of the two over the interval: export when PV exceeds
 * load, import otherwise. Power never exceeds the household's `maxPowerW` (its connection rating,
 * which is also the meter's plausibility limit on chain).
 */
import { ValidationError } from "../sdk/errors";
import { createRng, hashSeed, Rng } from "./random";

export type HouseholdKind = "prosumer" | "consumer";

export interface Household {
  /** 0-based position in the community. */
  id: number;
  /** Human label, e.g. "H007". */
  name: string;
  kind: HouseholdKind;
  /** Rated PV peak power in W (3,000-10,000 for prosumers, 0 for consumers). */
  pvPeakW: number;
  /** Typical yearly consumption in kWh (before PV). */
  annualConsumptionKWh: number;
  /** Connection rating in W: no interval's average import or export power exceeds it. */
  maxPowerW: number;
  /** Always-on load in W (fridge, standby, router). */
  baseLoadW: number;
  /** Hour of the morning peak (local time, fractional). */
  morningPeakHour: number;
  /** Hour of the evening peak (local time, fractional). */
  eveningPeakHour: number;
  /** Seed of this household's own noise. */
  seed: number;
  /** Seed of the weather, shared by the whole community. */
  weatherSeed: number;
}

export interface CommunityOptions {
  /** Number of households (1-100,000). */
  households: number;
  /** Integer seed: the same seed gives the same community and the same energy, every run. */
  seed: number;
  /** Share of prosumers in [0, 1], default 0.4; the count is `round(households * share)`. */
  prosumerShare?: number;
}

/** Energy through one household's meter during one interval. */
export interface IntervalEnergy {
  importWh: bigint;
  exportWh: bigint;
  /** PV production behind the meter (not metered separately). */
  pvWh: bigint;
  /** Consumption behind the meter. */
  loadWh: bigint;
}

/** The meter's cumulative registers at the end of an interval and the energy of that interval. */
export interface RegisterReading {
  interval: number;
  /** OBIS 1.8.0 at the end of the interval. */
  importWhTotal: bigint;
  /** OBIS 2.8.0 at the end of the interval. */
  exportWhTotal: bigint;
  importWh: bigint;
  exportWh: bigint;
}

export interface MeterSimulatorOptions {
  /** Default 900. */
  intervalSeconds?: number;
  /** Index of the first interval to simulate, default 0. */
  startInterval?: number;
  /** Day of the year on which interval 0 starts, default 172. */
  dayOfYear?: number;
}

export const DEFAULT_INTERVAL_SECONDS = 900;
export const DEFAULT_DAY_OF_YEAR = 172;
const DEFAULT_PROSUMER_SHARE = 0.4;
const SECONDS_PER_DAY = 86_400;
const DAYS_PER_YEAR = 365;
/** Connection ratings (W): 3-phase 230 V at 16 A, 20 A and 25 A. */
const CONNECTION_RATINGS_W = [11_040, 13_800, 17_250] as const;
/** DC peak to AC output at best: inverter, wiring, temperature and soiling losses. */
const PERFORMANCE_RATIO = 0.8;
/** PV sub-samples per interval, so that sunrise and sunset fall inside intervals smoothly. */
const PV_SAMPLES = 6;

/** Builds a community of households, deterministically from the seed. */
export function createCommunity(options: CommunityOptions): Household[] {
  const { households, seed } = options;
  const prosumerShare = options.prosumerShare ?? DEFAULT_PROSUMER_SHARE;
  if (!Number.isInteger(households) || households < 1 || households > 100_000) {
    throw new ValidationError("households", `must be an integer in [1, 100000], got ${households}`);
  }
  if (!Number.isSafeInteger(seed)) throw new ValidationError("seed", `must be a safe integer, got ${seed}`);
  if (typeof prosumerShare !== "number" || !(prosumerShare >= 0 && prosumerShare <= 1)) {
    throw new ValidationError("prosumerShare", `must be a number in [0, 1], got ${prosumerShare}`);
  }

  const prosumers = Math.round(households * prosumerShare);
  const kinds = createRng(hashSeed(seed, "kinds")).shuffle(
    Array.from({ length: households }, (_, k): HouseholdKind => (k < prosumers ? "prosumer" : "consumer")),
  );
  const weatherSeed = hashSeed(seed, "weather");
  const width = Math.max(3, String(households).length);

  return kinds.map((kind, id) => {
    const hSeed = hashSeed(seed, "household", id);
    const rng = createRng(hSeed);
    const pvPeakW = kind === "prosumer" ? Math.round(rng.float(3_000, 10_000) / 100) * 100 : 0;
    const annualConsumptionKWh = Math.round(kind === "prosumer" ? rng.float(2_500, 6_500) : rng.float(1_500, 5_000));
    const rating = rng.pick(CONNECTION_RATINGS_W);
    return {
      id,
      name: `H${String(id + 1).padStart(width, "0")}`,
      kind,
      pvPeakW,
      annualConsumptionKWh,
      maxPowerW: Math.max(rating, Math.ceil(pvPeakW * 1.1)),
      baseLoadW: Math.round(rng.float(60, 160) * (annualConsumptionKWh / 3_500)),
      morningPeakHour: rng.float(6.3, 8.0),
      eveningPeakHour: rng.float(18.0, 20.5),
      seed: hSeed,
      weatherSeed,
    };
  });
}

/**
 * Energy through a household's meter in one interval (see the file header for the time model).
 * Deterministic: the same arguments always give the same result.
 */
export function simulateInterval(
  household: Household,
  intervalIndex: number,
  intervalSeconds: number = DEFAULT_INTERVAL_SECONDS,
  dayOfYear: number = DEFAULT_DAY_OF_YEAR,
): IntervalEnergy {
  checkTime(intervalIndex, intervalSeconds, dayOfYear);
  const startSecond = intervalIndex * intervalSeconds;
  const hours = intervalSeconds / 3600;

  // PV: community weather x the household's own panels, averaged over sub-samples.
  let pvW = 0;
  if (household.pvPeakW > 0) {
    const ivRng = createRng(hashSeed(household.weatherSeed, "interval", intervalIndex, intervalSeconds));
    const passingCloud = ivRng.next();
    const panelNoise = createRng(hashSeed(household.seed, "pv", intervalIndex, intervalSeconds)).float(0.97, 1.03);
    let sum = 0;
    for (let s = 0; s < PV_SAMPLES; s++) {
      const t = startSecond + ((s + 0.5) * intervalSeconds) / PV_SAMPLES;
      const day = Math.floor(t / SECONDS_PER_DAY);
      const doy = dayOfYearAt(dayOfYear, day);
      const cloudiness = dailyCloudiness(household.weatherSeed, day);
      const clearness = (1 - 0.75 * cloudiness) * (1 - 0.6 * cloudiness * passingCloud);
      sum += household.pvPeakW * PERFORMANCE_RATIO * sunShape((t % SECONDS_PER_DAY) / 3600, doy) * clearness;
    }
    pvW = Math.min((sum / PV_SAMPLES) * panelNoise, household.maxPowerW);
  }

  // Load: the household's daily shape at the middle of the interval, with noise and spikes.
  const rng = createRng(hashSeed(household.seed, "load", intervalIndex, intervalSeconds));
  const mid = startSecond + intervalSeconds / 2;
  const doyMid = dayOfYearAt(dayOfYear, Math.floor(mid / SECONDS_PER_DAY));
  const loadW = Math.min(loadPowerW(household, (mid % SECONDS_PER_DAY) / 3600, doyMid, rng), household.maxPowerW);

  const pvWh = BigInt(Math.round(pvW * hours));
  const loadWh = BigInt(Math.round(loadW * hours));
  return {
    importWh: loadWh > pvWh ? loadWh - pvWh : 0n,
    exportWh: pvWh > loadWh ? pvWh - loadWh : 0n,
    pvWh,
    loadWh,
  };
}

/** The meter's registers before the first simulated interval: realistic meters do not start at 0. */
export function initialRegisters(household: Household): { importWhTotal: bigint; exportWhTotal: bigint } {
  const rng = createRng(hashSeed(household.seed, "registers"));
  const importWhTotal = BigInt(rng.int(500_000, 40_000_000));
  const exportWhTotal =
    household.kind === "prosumer" ? BigInt(rng.int(100_000, 30_000_000)) : BigInt(rng.chance(0.5) ? 0 : rng.int(0, 2_000));
  return { importWhTotal, exportWhTotal };
}

/** A household's bidirectional meter: yields the cumulative registers at each interval's end. */
export class MeterSimulator {
  readonly household: Household;
  readonly intervalSeconds: number;
  readonly dayOfYear: number;
  private _nextInterval: number;
  private _importWhTotal: bigint;
  private _exportWhTotal: bigint;

  constructor(household: Household, options: MeterSimulatorOptions = {}) {
    this.household = household;
    this.intervalSeconds = options.intervalSeconds ?? DEFAULT_INTERVAL_SECONDS;
    this.dayOfYear = options.dayOfYear ?? DEFAULT_DAY_OF_YEAR;
    this._nextInterval = options.startInterval ?? 0;
    checkTime(this._nextInterval, this.intervalSeconds, this.dayOfYear, "startInterval");
    const initial = initialRegisters(household);
    this._importWhTotal = initial.importWhTotal;
    this._exportWhTotal = initial.exportWhTotal;
  }

  /** Index of the interval the next call to `next()` simulates. */
  get nextInterval(): number {
    return this._nextInterval;
  }

  get importWhTotal(): bigint {
    return this._importWhTotal;
  }

  get exportWhTotal(): bigint {
    return this._exportWhTotal;
  }

  /** Simulates the next interval and returns the registers at its end. */
  next(): RegisterReading {
    const interval = this._nextInterval;
    const { importWh, exportWh } = simulateInterval(this.household, interval, this.intervalSeconds, this.dayOfYear);
    this._importWhTotal += importWh;
    this._exportWhTotal += exportWh;
    this._nextInterval = interval + 1;
    return { interval, importWhTotal: this._importWhTotal, exportWhTotal: this._exportWhTotal, importWh, exportWh };
  }
}

/** The readings of `intervals` consecutive intervals, from the household's initial registers. */
export function cumulativeRegisters(
  household: Household,
  intervals: number,
  options: MeterSimulatorOptions = {},
): RegisterReading[] {
  if (!Number.isInteger(intervals) || intervals < 0) {
    throw new ValidationError("intervals", `must be a non-negative integer, got ${intervals}`);
  }
  const meter = new MeterSimulator(household, options);
  return Array.from({ length: intervals }, () => meter.next());
}

// ---------------------------------------------------------------------------------------------

function checkTime(intervalIndex: number, intervalSeconds: number, dayOfYear: number, indexField = "intervalIndex"): void {
  if (!Number.isSafeInteger(intervalIndex) || intervalIndex < 0) {
    throw new ValidationError(indexField, `must be a non-negative integer, got ${intervalIndex}`);
  }
  if (!Number.isInteger(intervalSeconds) || intervalSeconds < 1 || intervalSeconds > SECONDS_PER_DAY) {
    throw new ValidationError("intervalSeconds", `must be an integer in [1, 86400], got ${intervalSeconds}`);
  }
  if (!Number.isInteger(dayOfYear) || dayOfYear < 1 || dayOfYear > 366) {
    throw new ValidationError("dayOfYear", `must be an integer in [1, 366], got ${dayOfYear}`);
  }
}

function dayOfYearAt(startDayOfYear: number, daysSinceStart: number): number {
  return ((startDayOfYear - 1 + daysSinceStart) % DAYS_PER_YEAR) + 1;
}

/** 1 at the June solstice, -1 at the December solstice. */
function season(doy: number): number {
  return Math.cos((2 * Math.PI * (doy - 172)) / DAYS_PER_YEAR);
}

/** Relative PV output (0-1) at a local hour: a bell between sunrise and sunset, scaled by season. */
function sunShape(hour: number, doy: number): number {
  const s = season(doy);
  const halfDayHours = 5.5 + 1.5 * s; // 7 h at midsummer (06:00-20:00), 4 h at midwinter
  const x = (hour - (13 - halfDayHours)) / (2 * halfDayHours);
  if (x <= 0 || x >= 1) return 0;
  const amplitude = 0.65 + 0.35 * s; // low winter sun
  return amplitude * Math.pow(Math.sin(Math.PI * x), 1.3);
}

/** Cloudiness of a day in [0, 0.95]: clear, partly cloudy or overcast, shared by the community. */
function dailyCloudiness(weatherSeed: number, day: number): number {
  const rng: Rng = createRng(hashSeed(weatherSeed, "day", day));
  const kind = rng.next();
  if (kind < 0.4) return rng.float(0, 0.2);
  if (kind < 0.75) return rng.float(0.2, 0.6);
  return rng.float(0.6, 0.95);
}

const gauss = (x: number, mu: number, sd: number) => Math.exp(-0.5 * ((x - mu) / sd) ** 2);

/** Unnormalised daily load shape at a local hour (plus the previous day's evening tail). */
function rawLoadShape(h: Household, hour: number): number {
  return (
    1.0 * gauss(hour, h.morningPeakHour, 1.0) +
    0.4 * gauss(hour, 12.5, 1.5) +
    1.8 * gauss(hour, h.eveningPeakHour, 1.8) +
    1.8 * gauss(hour + 24, h.eveningPeakHour, 1.8) +
    0.15
  );
}

const shapeMeans = new WeakMap<Household, number>();

/** Mean of the load shape over a day, so that the shape carries the daily energy exactly. */
function loadShapeMean(h: Household): number {
  let mean = shapeMeans.get(h);
  if (mean === undefined) {
    let sum = 0;
    const n = 288;
    for (let k = 0; k < n; k++) sum += rawLoadShape(h, ((k + 0.5) * 24) / n);
    mean = sum / n;
    shapeMeans.set(h, mean);
  }
  return mean;
}

/** Load power in W at a local hour. */
function loadPowerW(h: Household, hour: number, doy: number, rng: Rng): number {
  const dailyWh = ((h.annualConsumptionKWh * 1000) / DAYS_PER_YEAR) * (1 - 0.12 * season(doy)); // more in winter
  const variableW = Math.max(0, dailyWh / 24 - h.baseLoadW);
  const shaped = h.baseLoadW + (variableW * rawLoadShape(h, hour)) / loadShapeMean(h);
  const noisy = shaped * Math.exp(rng.normal(-0.03, 0.25));
  // Kettle, oven, washing machine: more likely when people are awake and at home.
  const awake = hour >= 6.5 && hour <= 23;
  const spike = awake && rng.chance(0.06) ? rng.float(1_000, 3_000) * rng.float(0.2, 1) : 0;
  return Math.max(h.baseLoadW * 0.8, noisy + spike);
}
