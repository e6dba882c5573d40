import { ValidationError } from "../sdk/errors";

/**
 * Local wall-clock times of meters (DSMR `YYMMDDhhmmssX`, Tasmota `Time` without a zone) turned
 * into unix seconds with an IANA time zone, through Node's built-in ICU (`Intl`): daylight saving
 * time is right all year and in every country, with no time-zone table of our own.
 */

const formatters = new Map<string, Intl.DateTimeFormat>();

/** Whether `zone` is an IANA time zone Node knows ("Europe/Amsterdam", "UTC"). */
export function isTimeZone(zone: string): boolean {
  try {
    formatter(zone);
    return true;
  } catch {
    return false;
  }
}

function formatter(zone: string): Intl.DateTimeFormat {
  let f = formatters.get(zone);
  if (!f) {
    f = new Intl.DateTimeFormat("en-US", { timeZone: zone, timeZoneName: "longOffset", year: "numeric" });
    formatters.set(zone, f);
  }
  return f;
}

/** The zone's offset from UTC at `utcSeconds`, in minutes (Europe/Amsterdam: 60 in winter, 120 in summer). */
export function zoneOffsetMinutes(zone: string, utcSeconds: number): number {
  const name = formatter(zone).formatToParts(new Date(utcSeconds * 1000)).find((p) => p.type === "timeZoneName")?.value ?? "GMT";
  const m = /GMT(?:([+-])(\d{2}):?(\d{2})?)?/.exec(name);
  if (!m || !m[1]) return 0;
  return (m[1] === "-" ? -1 : 1) * (Number(m[2]) * 60 + Number(m[3] ?? 0));
}

/** Whether the zone is on its summer (daylight saving) offset at `utcSeconds`; undefined for a zone without DST that year. */
export function isSummerTime(zone: string, utcSeconds: number): boolean | undefined {
  const year = new Date(utcSeconds * 1000).getUTCFullYear();
  const jan = zoneOffsetMinutes(zone, Date.UTC(year, 0, 1) / 1000);
  const jul = zoneOffsetMinutes(zone, Date.UTC(year, 6, 1) / 1000);
  if (jan === jul) return undefined;
  return zoneOffsetMinutes(zone, utcSeconds) === Math.max(jan, jul);
}

export interface LocalTime {
  year: number;
  month: number; // 1-12
  day: number;
  hour: number;
  minute: number;
  second: number;
}

/**
 * Unix seconds of a local wall-clock time in `zone`. A time that occurs twice (the hour after
 * the clocks go back) is resolved by `prefer` ("summer": the first, "winter": the second; without
 * it, a ValidationError); a time that does not exist (the hour skipped in spring) is refused.
 */
export function localToUnix(zone: string, t: LocalTime, field: string, prefer?: "summer" | "winter"): number {
  const asUtc = Date.UTC(t.year, t.month - 1, t.day, t.hour, t.minute, t.second) / 1000;
  const back = new Date(asUtc * 1000);
  if (back.getUTCFullYear() !== t.year || back.getUTCMonth() !== t.month - 1 || back.getUTCDate() !== t.day) {
    throw new ValidationError(field, `${t.year}-${t.month}-${t.day} is not a date`);
  }
  const candidates = new Set<number>();
  for (const probe of [asUtc - 86_400, asUtc, asUtc + 86_400]) {
    const off = zoneOffsetMinutes(zone, probe);
    const utc = asUtc - off * 60;
    if (zoneOffsetMinutes(zone, utc) === off) candidates.add(utc);
  }
  const list = [...candidates].sort((a, b) => a - b);
  const text = `${t.year}-${String(t.month).padStart(2, "0")}-${String(t.day).padStart(2, "0")} ${String(t.hour).padStart(2, "0")}:${String(t.minute).padStart(2, "0")}:${String(t.second).padStart(2, "0")}`;
  if (list.length === 0) throw new ValidationError(field, `${text} does not exist in ${zone} (the hour skipped when the clocks go forward)`);
  if (list.length === 1) return list[0];
  if (!prefer) throw new ValidationError(field, `${text} occurs twice in ${zone} (the clocks go back) and nothing says which`);
  return prefer === "summer" ? list[0] : list[list.length - 1];
}
