/**
 * Every figure of a member's statement, computed in one place: the CLI bill, the auditor's
 * member statement, the demo's table and the web app all call `statementLine` /
 * `sumStatement` (pure: no Node-only import, so the web app bundles it).
 *
 * Input per settled interval: the member's `MemberSettled` event and the tariffs the interval
 * was cleared at (`IntervalCleared`). Units: energy in Wh, money in credit base units
 * (6 decimals), prices in credit base units per kWh. Grid money is rounded per interval and
 * per direction in the grid's favour, as the market rule says (docs/market-rule.md):
 * `gridImportCost` = ceil(Wh * retail / 1000), `gridExportRevenue` = floor(Wh * feedIn / 1000).
 *
 * The grid-only world (one definition, used everywhere): the same meter registers billed by
 * the grid alone, the two registers separately, interval by interval: every imported Wh at
 * the retail tariff, every exported Wh at the feed-in tariff. Own export does NOT net own
 * import in the grid-only world: netting within an interval (self-supply) is something the
 * community settlement gives, so it counts in the saving.
 *
 *   importWh          = selfSupplyWh + boughtWh + gridImportWh
 *   exportWh          = selfSupplyWh + soldWh + gridExportWh
 *   netCostCredits    = paid - received + gridImportCost(gridImportWh, retail) - gridExportRevenue(gridExportWh, feedIn)
 *   gridOnlyCostCredits = gridImportCost(importWh, retail) - gridExportRevenue(exportWh, feedIn)
 *   savingCredits     = gridOnlyCostCredits - netCostCredits
 */
import { gridExportRevenue, gridImportCost } from "./clearing";
import type { MemberSettlement } from "./settlement";

/** What one `MemberSettled` says (the member field is optional here). */
export type SettledFigures = Omit<MemberSettlement, "member">;

/** The tariffs an interval was cleared at (`IntervalCleared`). */
export interface IntervalTariffs {
  retailPerKWh: bigint;
  feedInPerKWh: bigint;
}

/** Every figure of one member's statement for one interval (or summed over many). */
export interface StatementFigures {
  importWh: bigint;
  exportWh: bigint;
  selfSupplyWh: bigint;
  boughtWh: bigint;
  soldWh: bigint;
  gridImportWh: bigint;
  gridExportWh: bigint;
  p2pPaidCredits: bigint;
  p2pReceivedCredits: bigint;
  gridImportCostCredits: bigint;
  gridExportRevenueCredits: bigint;
  /** What the member paid in the end (negative: earned). */
  netCostCredits: bigint;
  /** The same registers billed by the grid alone (see the file header). */
  gridOnlyCostCredits: bigint;
  savingCredits: bigint;
}

export const STATEMENT_FIGURES = [
  "importWh",
  "exportWh",
  "selfSupplyWh",
  "boughtWh",
  "soldWh",
  "gridImportWh",
  "gridExportWh",
  "p2pPaidCredits",
  "p2pReceivedCredits",
  "gridImportCostCredits",
  "gridExportRevenueCredits",
  "netCostCredits",
  "gridOnlyCostCredits",
  "savingCredits",
] as const satisfies readonly (keyof StatementFigures)[];

/** Credits for `wh` at `pricePerKWh`, rounded down like the contract. */
export const creditsFor = (wh: bigint, pricePerKWh: bigint): bigint => (wh * pricePerKWh) / 1000n;

/** The statement figures of one settled interval. */
export function statementLine(s: SettledFigures, t: IntervalTariffs): StatementFigures {
  const importWh = s.selfSupplyWh + s.boughtWh + s.gridImportWh;
  const exportWh = s.selfSupplyWh + s.soldWh + s.gridExportWh;
  const gridImportCostCredits = gridImportCost(s.gridImportWh, t.retailPerKWh);
  const gridExportRevenueCredits = gridExportRevenue(s.gridExportWh, t.feedInPerKWh);
  const netCostCredits = s.paidCredits - s.receivedCredits + gridImportCostCredits - gridExportRevenueCredits;
  const gridOnlyCostCredits = gridImportCost(importWh, t.retailPerKWh) - gridExportRevenue(exportWh, t.feedInPerKWh);
  return {
    importWh,
    exportWh,
    selfSupplyWh: s.selfSupplyWh,
    boughtWh: s.boughtWh,
    soldWh: s.soldWh,
    gridImportWh: s.gridImportWh,
    gridExportWh: s.gridExportWh,
    p2pPaidCredits: s.paidCredits,
    p2pReceivedCredits: s.receivedCredits,
    gridImportCostCredits,
    gridExportRevenueCredits,
    netCostCredits,
    gridOnlyCostCredits,
    savingCredits: gridOnlyCostCredits - netCostCredits,
  };
}

/** All zero. */
export function zeroStatement(): StatementFigures {
  return Object.fromEntries(STATEMENT_FIGURES.map((k) => [k, 0n])) as unknown as StatementFigures;
}

/** The sum of several lines (intervals, wallets or members). */
export function sumStatement(lines: Iterable<StatementFigures>): StatementFigures {
  const out = zeroStatement();
  for (const l of lines) for (const k of STATEMENT_FIGURES) out[k] += l[k];
  return out;
}

/** One settled interval of a member as the chain reports it. */
export interface SettledInterval extends SettledFigures, IntervalTariffs {
  interval: number;
}

/** A member's statement over settled intervals: one line per interval and the totals. */
export function memberStatementFigures(settled: Iterable<SettledInterval>): { lines: (StatementFigures & { interval: number })[]; totals: StatementFigures } {
  const lines = [...settled].sort((a, b) => a.interval - b.interval).map((s) => ({ interval: s.interval, ...statementLine(s, s) }));
  return { lines, totals: sumStatement(lines) };
}
