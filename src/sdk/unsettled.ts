/**
 * A member's unsettled production: the Wh its meters exported in intervals the market has not
 * settled yet (interval >= the market's `nextInterval`). Until issue 16 this was the member's
 * EnergyToken balance (minted at the reading, burnt at settlement); the token is no longer
 * minted, so the web app (balances card), the CLI (`gridledger balance`) and the auditor's member
 * report (`energyBalanceWh`) take the figure from the positions through this one function.
 */
export interface ExportPosition {
  interval: number;
  exportWh: bigint;
}

/** Sum of `exportWh` over the positions of intervals at or after `nextInterval`. */
export function unsettledExportWh(positions: Iterable<ExportPosition>, nextInterval: number): bigint {
  let wh = 0n;
  for (const p of positions) if (p.interval >= nextInterval) wh += p.exportWh;
  return wh;
}

/**
 * The intervals whose positions can hold unsettled production: from the market's next interval
 * to the last one that has ended (`currentInterval - 1`), at most `max` of them (the newest).
 */
export function unsettledIntervals(nextInterval: number, currentInterval: number, max = 96): number[] {
  const from = Math.max(nextInterval, currentInterval - max);
  const out: number[] = [];
  for (let t = from; t < currentInterval; t++) out.push(t);
  return out;
}
