/**
 * Price and volume forecast from the market's own history: for each coming interval, the
 * average over the last `days` days of the intervals at the same time of day of
 *  - the clearing price (`IntervalCleared`, intervals that matched something),
 *  - the community's unsold surplus (sum of `MemberSettled.gridExportWh`): what a battery could
 *    have bought,
 *  - the community's unmet demand (sum of `MemberSettled.gridImportWh`): what it could have sold.
 * The storage member's own flows are left out (they are the battery's doing, not the
 * community's). A slot with no history has no price (the strategy falls back to the tariffs).
 */
export interface IntervalHistory {
  interval: number;
  /** 0n when nothing matched. */
  pricePerKWh: bigint;
  matchedWh: bigint;
  /** Community grid export and import in the interval, without the storage member. */
  surplusWh: bigint;
  deficitWh: bigint;
}

export interface SlotForecast {
  interval: number;
  /** Average clearing price of the same slot on past days; undefined without history. */
  pricePerKWh?: bigint;
  surplusWh: bigint;
  deficitWh: bigint;
  /** Past days that contributed. */
  samples: number;
}

export interface ForecastOptions {
  /** First interval to forecast. */
  from: number;
  /** Intervals to forecast. */
  horizon: number;
  intervalsPerDay: number;
  /** Past days to average over (default 7). */
  days?: number;
}

/** Same-time-of-day averages over the last days (see the file header). */
export function forecast(history: IntervalHistory[], o: ForecastOptions): SlotForecast[] {
  const days = o.days ?? 7;
  const byInterval = new Map(history.map((h) => [h.interval, h]));
  const out: SlotForecast[] = [];
  for (let k = 0; k < o.horizon; k++) {
    const t = o.from + k;
    let n = 0;
    let priced = 0n;
    let priceSum = 0n;
    let surplus = 0n;
    let deficit = 0n;
    for (let d = 1; d <= days; d++) {
      // The most recent past occurrence of this slot that has already happened.
      const past = t - d * o.intervalsPerDay;
      if (past >= o.from) continue;
      const h = byInterval.get(past);
      if (!h) continue;
      n++;
      surplus += h.surplusWh;
      deficit += h.deficitWh;
      if (h.matchedWh > 0n) {
        priced++;
        priceSum += h.pricePerKWh;
      }
    }
    out.push({
      interval: t,
      pricePerKWh: priced > 0n ? priceSum / priced : undefined,
      surplusWh: n ? surplus / BigInt(n) : 0n,
      deficitWh: n ? deficit / BigInt(n) : 0n,
      samples: n,
    });
  }
  return out;
}
