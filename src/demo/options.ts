import { ValidationError } from "../sdk/errors";

/** What one demo run simulates. Every field has a flag and an environment variable (see `scripts/demo.ts`). */
export interface DemoOptions {
  /** Households in the community (DEMO_HOUSEHOLDS, `--households`), default 20. */
  households: number;
  /** Settlement intervals to simulate (DEMO_INTERVALS, `--intervals`), default 96: one day of 15 minutes. */
  intervals: number;
  /** Seed of the community, its weather and its orders (DEMO_SEED, `--seed`), default 1. */
  seed: number;
  /**
   * Local hour of the day at which the simulated run starts (DEMO_START_HOUR, `--start-hour`).
   * Default: the run is centred on midday (`defaultStartHour`), so a short run has sun and trades;
   * a whole day (96 intervals) starts at 00:00.
   */
  startHour: number;
  /** Participants per keeper page (`collect` / `settle` transaction), default 200. */
  pageSize: number;
  /** Draw a progress bar on stderr. */
  progress: boolean;
  /**
   * Capacity of a community battery in kWh (DEMO_BATTERY_KWH, `--battery-kwh`), default 0 (none).
   * With a battery the demo runs the same seed twice, without and with it, and compares them.
   */
  batteryKWh: number;
}

export const DEFAULT_OPTIONS: DemoOptions = {
  households: 20,
  intervals: 96,
  seed: 1,
  startHour: 0,
  pageSize: 200,
  progress: true,
  batteryKWh: 0,
};

/** Environment variable of each numeric option. */
export const DEMO_ENV = {
  households: "DEMO_HOUSEHOLDS",
  intervals: "DEMO_INTERVALS",
  seed: "DEMO_SEED",
  startHour: "DEMO_START_HOUR",
  pageSize: "DEMO_PAGE_SIZE",
  batteryKWh: "DEMO_BATTERY_KWH",
} as const;

/** The command-line flag of each numeric option (`scripts/demo.ts`). */
export const DEMO_FLAG: Record<keyof typeof DEMO_ENV, string> = {
  households: "--households",
  intervals: "--intervals",
  seed: "--seed",
  startHour: "--start-hour",
  pageSize: "--page-size",
  batteryKWh: "--battery-kwh",
};

const LIMITS: Record<keyof typeof DEMO_ENV, [number, number]> = {
  households: [1, 1000],
  intervals: [1, 960],
  seed: [0, Number.MAX_SAFE_INTEGER],
  startHour: [0, 23],
  pageSize: [1, 1000],
  batteryKWh: [0, 100_000],
};

/**
 * Options from (lowest first) the defaults, the environment and `flags` (raw strings or numbers).
 * Every invalid value is reported at once, naming the flag and the variable.
 */
export function resolveOptions(
  flags: Partial<Record<keyof DemoOptions, unknown>> = {},
  env: NodeJS.ProcessEnv = process.env,
): DemoOptions {
  const out: DemoOptions = { ...DEFAULT_OPTIONS };
  const problems: string[] = [];
  for (const key of Object.keys(DEMO_ENV) as (keyof typeof DEMO_ENV)[]) {
    const raw = flags[key] ?? env[DEMO_ENV[key]]?.trim();
    if (raw === undefined || raw === "") continue;
    const n = typeof raw === "number" ? raw : /^-?\d+$/.test(String(raw)) ? Number(raw) : NaN;
    const [min, max] = LIMITS[key];
    if (!Number.isSafeInteger(n) || n < min || n > max) {
      problems.push(`${DEMO_FLAG[key]} (${DEMO_ENV[key]}): must be a whole number in [${min}, ${max}], got ${JSON.stringify(raw)}`);
      continue;
    }
    out[key] = n;
  }
  if (flags.progress !== undefined) out.progress = Boolean(flags.progress);
  const startHourGiven = (flags.startHour ?? env[DEMO_ENV.startHour]?.trim()) ?? "";
  if (startHourGiven === "") out.startHour = defaultStartHour(out.intervals, Number(env.GRIDLEDGER_INTERVAL_SECONDS ?? 900) || 900);
  if (problems.length) throw new ValidationError("options", problems.join("; "));
  return out;
}

/**
 * The whole hour at which a run of `intervals` intervals of `intervalSeconds` starts so that it is
 * centred on midday: 8 quarter-hours start at 11:00, 48 at 06:00, a whole day (or more) at 00:00.
 */
export function defaultStartHour(intervals: number, intervalSeconds = 900): number {
  const hours = (intervals * intervalSeconds) / 3600;
  return Math.min(23, Math.max(0, Math.floor(12 - hours / 2)));
}
