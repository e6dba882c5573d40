/**
 * The demo's results, built from the chain's events only (`IntervalCleared`, `Traded`,
 * `MemberSettled`, `IntervalSettled`), and their text rendering: a chart of the clearing price
 * and P2P volume, a table per member with the saving against a grid-only world, and the
 * community totals.
 *
 * Money: the market moves credits for P2P trades only; grid import and export are billed off
 * chain at the interval's tariffs (`IntervalCleared`), per interval, rounded in the grid's favour
 * (`gridImportCost` rounds up, `gridExportRevenue` down; docs/market-rule.md). Grid-only is what
 * the same meter readings would cost with no market: all import at retail, all export at feed-in.
 * The gains of trading (sellers' and buyers' surplus against the tariffs) come from
 * `surplusSplit` (src/sdk/surplus.ts), the function the auditor's summary uses too.
 */
import { gridExportRevenue, gridImportCost } from "../sdk/clearing";
import type { MemberSettlement } from "../sdk/settlement";
import { gainSharePermille, surplusSplit, SurplusSplit } from "../sdk/surplus";
import { statementLine } from "../sdk/statement";

export interface ClearedEvent {
  interval: number;
  pricePerKWh: bigint;
  matchedWh: bigint;
  retailPerKWh: bigint;
  feedInPerKWh: bigint;
  participants: number;
}

export interface TradedEvent {
  interval: number;
  seller: string;
  buyer: string;
  wh: bigint;
  pricePerKWh: bigint;
  credits: bigint;
}

export interface MemberSettledEvent extends MemberSettlement {
  interval: number;
}

export interface ChainEvents {
  cleared: ClearedEvent[];
  traded: TradedEvent[];
  settled: MemberSettledEvent[];
  /** Intervals with an `IntervalSettled` event. */
  intervalsSettled: number[];
}

export interface MemberInfo {
  address: string;
  name: string;
  /** "storage": a battery (a storage member), whose own import is not household demand. */
  kind: "prosumer" | "consumer" | "storage";
  pvPeakW: number;
  ordersBy: "tx" | "signed" | "agent";
  notes: string[];
}

export interface RunInfo {
  households: number;
  seed: number;
  network: string;
  /** Chain interval of the run's first simulated interval; the run covers `intervals` from it. */
  firstInterval: number;
  intervals: number;
  intervalSeconds: number;
  /** Index of the run's first interval in the simulated day (0 = 00:00). */
  startOfDayInterval: number;
}

export interface IntervalRow extends ClearedEvent {
  /** 0-based position in the run. */
  index: number;
  label: string;
  trades: number;
  tradedCredits: bigint;
}

export interface Flows {
  importWh: bigint;
  exportWh: bigint;
  selfSupplyWh: bigint;
  boughtWh: bigint;
  soldWh: bigint;
  gridImportWh: bigint;
  gridExportWh: bigint;
  paidCredits: bigint;
  receivedCredits: bigint;
  /** Grid bill at the tariffs (import cost minus export revenue). */
  gridCredits: bigint;
  /** What the member paid in the end: P2P paid - P2P received + grid bill (negative: earned). */
  costCredits: bigint;
  /** The same readings with no market. */
  gridOnlyCredits: bigint;
  savingCredits: bigint;
}

export interface MemberRow extends MemberInfo, Flows {}

export interface DemoReport {
  run: RunInfo;
  tariffs: { retailPerKWh: bigint; feedInPerKWh: bigint };
  intervals: IntervalRow[];
  /** Households and storage members, in the order given. */
  members: MemberRow[];
  /** The households' totals (storage members are left out: their charging is not demand). */
  totals: Flows & { tradedWh: bigint; tradedCredits: bigint; trades: number; intervalsSettled: number };
  /** How the gains of trading split between sellers and buyers (`surplusSplit`). */
  gains: SurplusSplit;
}

const zeroFlows = (): Flows => ({
  importWh: 0n,
  exportWh: 0n,
  selfSupplyWh: 0n,
  boughtWh: 0n,
  soldWh: 0n,
  gridImportWh: 0n,
  gridExportWh: 0n,
  paidCredits: 0n,
  receivedCredits: 0n,
  gridCredits: 0n,
  costCredits: 0n,
  gridOnlyCredits: 0n,
  savingCredits: 0n,
});

const FLOW_KEYS = Object.keys(zeroFlows()) as (keyof Flows)[];

/** "hh:mm" of a run interval in the simulated day. */
export function timeLabel(run: RunInfo, index: number): string {
  const minutes = Math.round(((run.startOfDayInterval + index) * run.intervalSeconds) / 60) % (24 * 60);
  return `${String(Math.floor(minutes / 60)).padStart(2, "0")}:${String(minutes % 60).padStart(2, "0")}`;
}

/** The report of a run from its chain events and the members' names. */
export function buildReport(run: RunInfo, events: ChainEvents, members: MemberInfo[]): DemoReport {
  const inRun = (t: number) => t >= run.firstInterval && t < run.firstInterval + run.intervals;
  const cleared = new Map(events.cleared.filter((e) => inRun(e.interval)).map((e) => [e.interval, e]));
  const byAddress = new Map(members.map((m) => [m.address.toLowerCase(), { ...m, ...zeroFlows() } as MemberRow]));

  const intervals: IntervalRow[] = [];
  for (let i = 0; i < run.intervals; i++) {
    const t = run.firstInterval + i;
    const c = cleared.get(t);
    if (!c) continue;
    const trades = events.traded.filter((e) => e.interval === t);
    intervals.push({
      ...c,
      index: i,
      label: timeLabel(run, i),
      trades: trades.length,
      tradedCredits: trades.reduce((s, e) => s + e.credits, 0n),
    });
  }

  for (const e of events.settled) {
    if (!inRun(e.interval)) continue;
    const tariff = cleared.get(e.interval);
    if (!tariff) throw new Error(`MemberSettled for interval ${e.interval} without IntervalCleared`);
    let row = byAddress.get(e.member.toLowerCase());
    if (!row) {
      row = { address: e.member, name: e.member.slice(0, 8), kind: "consumer", pvPeakW: 0, ordersBy: "tx", notes: ["unknown member"], ...zeroFlows() };
      byAddress.set(e.member.toLowerCase(), row);
    }
    const f = statementLine(e, tariff);
    const add: Flows = {
      importWh: f.importWh,
      exportWh: f.exportWh,
      selfSupplyWh: f.selfSupplyWh,
      boughtWh: f.boughtWh,
      soldWh: f.soldWh,
      gridImportWh: f.gridImportWh,
      gridExportWh: f.gridExportWh,
      paidCredits: f.p2pPaidCredits,
      receivedCredits: f.p2pReceivedCredits,
      gridCredits: f.gridImportCostCredits - f.gridExportRevenueCredits,
      costCredits: f.netCostCredits,
      gridOnlyCredits: f.gridOnlyCostCredits,
      savingCredits: f.savingCredits,
    };
    for (const k of FLOW_KEYS) row[k] += add[k];
  }

  const rows = [...byAddress.values()];
  const totals = { ...zeroFlows(), tradedWh: 0n, tradedCredits: 0n, trades: 0, intervalsSettled: 0 };
  for (const r of rows) if (r.kind !== "storage") for (const k of FLOW_KEYS) totals[k] += r[k];
  for (const e of events.traded) {
    if (!inRun(e.interval)) continue;
    totals.tradedWh += e.wh;
    totals.tradedCredits += e.credits;
    totals.trades++;
  }
  totals.intervalsSettled = new Set(events.intervalsSettled.filter(inRun)).size;
  const first = intervals[0] ?? events.cleared[0];
  return {
    run,
    tariffs: { retailPerKWh: first?.retailPerKWh ?? 0n, feedInPerKWh: first?.feedInPerKWh ?? 0n },
    intervals,
    members: rows,
    totals,
    gains: surplusSplit(
      [...cleared.values()],
      events.settled.filter((e) => inRun(e.interval)),
    ),
  };
}

// ------------------------------------------------------------------------------ formatting

/** Wh as kWh with one decimal ("12.3"). */
export function kWh(wh: bigint): string {
  const neg = wh < 0n;
  const tenths = ((neg ? -wh : wh) + 50n) / 100n;
  return `${neg ? "-" : ""}${tenths / 10n}.${tenths % 10n}`;
}

/** Credit base units (6 decimals) with two decimals ("-1.25"). */
export function credits(base: bigint): string {
  const neg = base < 0n;
  const cents = ((neg ? -base : base) + 5_000n) / 10_000n;
  return `${neg && cents !== 0n ? "-" : ""}${cents / 100n}.${String(cents % 100n).padStart(2, "0")}`;
}

/** A price per kWh with four decimals ("0.1875"). */
export function price(perKWh: bigint): string {
  const units = (perKWh + 50n) / 100n;
  return `${units / 10_000n}.${String(units % 10_000n).padStart(4, "0")}`;
}

/** "1 trade", "3 trades". */
export const plural = (n: number, word: string) => `${n} ${word}${n === 1 ? "" : "s"}`;

const pct = (part: bigint, whole: bigint) => (whole <= 0n ? "n/a" : `${(Number((part * 10_000n) / whole) / 100).toFixed(1)} %`);

/**
 * Self-sufficiency of the households, in basis points (1/100 %): the share of their metered demand
 * met locally, i.e. their own export netted in the same interval plus what they bought P2P (from
 * neighbours' PV or from a storage member's discharge). A storage member's own import (charging)
 * is not demand and is left out of `totals`. The one function behind every self-sufficiency figure
 * the demo prints.
 */
export function selfSufficiencyBp(t: Pick<Flows, "selfSupplyWh" | "boughtWh" | "importWh">): bigint {
  return t.importWh <= 0n ? 0n : ((t.selfSupplyWh + t.boughtWh) * 10_000n) / t.importWh;
}

/** Net revenue of a storage member: P2P received - P2P paid - its grid bill (= -cost). */
export const storageRevenueCredits = (r: Flows) => -r.costCredits;

/**
 * Two panels over the run: the clearing price (volume-weighted per column) between feed-in and
 * retail, and the P2P volume as bars. One column per interval for short runs, per hour for
 * longer ones (a day: 24 columns, 3 characters each).
 */
export function renderChart(report: DemoReport, width = 72): string {
  const { run, intervals } = report;
  const perHour = Math.max(1, Math.round(3600 / run.intervalSeconds));
  const perColumn = run.intervals > 48 ? perHour : 1;
  const columns = Math.ceil(run.intervals / perColumn);
  const w = Math.max(1, Math.min(3, Math.floor(width / columns)));
  const byIndex = new Map(intervals.map((r) => [r.index, r]));
  const cols = Array.from({ length: columns }, (_, c) => {
    let wh = 0n;
    let value = 0n;
    for (let i = c * perColumn; i < Math.min(run.intervals, (c + 1) * perColumn); i++) {
      const r = byIndex.get(i);
      if (!r || r.matchedWh === 0n) continue;
      wh += r.matchedWh;
      value += r.matchedWh * r.pricePerKWh;
    }
    return { wh, price: wh === 0n ? undefined : value / wh };
  });
  const lo = report.tariffs.feedInPerKWh;
  const hi = report.tariffs.retailPerKWh;
  const priceRows = 7;
  const volRows = 5;
  const maxWh = cols.reduce((m, c) => (c.wh > m ? c.wh : m), 0n);
  const lines: string[] = [];
  const unit = perColumn === 1 ? "interval" : "hour";
  lines.push(`Clearing price (credits/kWh, * = traded) and P2P volume (kWh, #) per ${unit}`);
  for (let row = priceRows - 1; row >= 0; row--) {
    const level = lo + ((hi - lo) * BigInt(row)) / BigInt(priceRows - 1);
    const label = row === priceRows - 1 || row === 0 || row === Math.floor(priceRows / 2) ? price(level) : "";
    const cells = cols.map((c) => {
      if (c.price === undefined || hi === lo) return " ".repeat(w);
      const pos = Number(((c.price - lo) * BigInt(priceRows - 1) * 2n + (hi - lo)) / (2n * (hi - lo)));
      return pos === row ? "*".repeat(w) : " ".repeat(w);
    });
    lines.push(`${label.padStart(8)} |${cells.join("")}`);
  }
  lines.push(`${"".padStart(8)} +${"-".repeat(columns * w)}`);
  for (let row = volRows; row >= 1; row--) {
    const label = row === volRows ? kWh(maxWh) : "";
    const cells = cols.map((c) => {
      if (maxWh === 0n || c.wh === 0n) return " ".repeat(w);
      const h = Number((c.wh * BigInt(volRows) + maxWh - 1n) / maxWh); // at least one row for any volume
      return h >= row ? "#".repeat(w) : " ".repeat(w);
    });
    lines.push(`${label.padStart(8)} |${cells.join("")}`);
  }
  lines.push(`${"0".padStart(8)} +${"-".repeat(columns * w)}`);
  // Time labels every few columns.
  const every = Math.max(1, Math.ceil(6 / w));
  let axis = "";
  for (let c = 0; c < columns; c += every) {
    const l = timeLabel(run, c * perColumn).slice(0, perColumn === 1 ? 5 : 2);
    axis += l.padEnd(every * w).slice(0, every * w);
  }
  lines.push(`${"".padStart(8)}  ${axis.trimEnd()}`);
  return lines.join("\n");
}

function table(header: string[], rows: string[][], alignLeft: Set<number>): string {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i].length)));
  const fmt = (r: string[]) => r.map((c, i) => (alignLeft.has(i) ? c.padEnd(widths[i]) : c.padStart(widths[i]))).join("  ").trimEnd();
  return [fmt(header), widths.map((w) => "-".repeat(w)).join("  "), ...rows.map(fmt)].join("\n");
}

const TOTAL_ROW = "Community";

/** The per-member table (one row per member plus the community row). */
export function renderMembers(report: DemoReport): string {
  const header = ["Member", "Kind", "Orders", "Bought", "Sold", "Grid in", "Grid out", "Cost", "Grid-only", "Saving", "Note"];
  const row = (name: string, kind: string, by: string, f: Flows, note: string) => [
    name,
    kind,
    by,
    kWh(f.boughtWh),
    kWh(f.soldWh),
    kWh(f.gridImportWh),
    kWh(f.gridExportWh),
    credits(f.costCredits),
    credits(f.gridOnlyCredits),
    credits(f.savingCredits),
    note,
  ];
  const rows = report.members.map((m) =>
    row(m.name, m.kind === "prosumer" ? `PV ${(m.pvPeakW / 1000).toFixed(1)} kWp` : m.kind, m.ordersBy, m, m.notes.join("; ")),
  );
  rows.push(row(TOTAL_ROW, "", "", report.totals, ""));
  const t = table(header, rows, new Set([0, 1, 2, 10]));
  const lines = t.split("\n");
  lines.splice(lines.length - 1, 0, lines[1]); // a rule above the totals
  return ["Per member (kWh; credits, negative = earned)", ...lines].join("\n");
}

/** Community totals: self-sufficiency, P2P share, cost and saving. */
export function renderTotals(report: DemoReport): string {
  const t = report.totals;
  const avg = t.tradedWh === 0n ? "" : `, avg ${price((t.tradedCredits * 1000n) / t.tradedWh)}/kWh`;
  const lines = [
    "Community totals",
    `  Metered demand      ${kWh(t.importWh)} kWh; metered exports ${kWh(t.exportWh)} kWh`,
    `  Self-sufficiency    ${(Number(selfSufficiencyBp(t)) / 100).toFixed(1)} % of demand met locally: ${kWh(t.boughtWh)} kWh P2P + ${kWh(t.selfSupplyWh)} kWh own export netted in the same interval`,
    `  P2P share           ${pct(t.tradedWh, t.exportWh)} of exports sold to neighbours: ${kWh(t.tradedWh)} kWh in ${plural(t.trades, "trade")}, ${credits(t.tradedCredits)} credits${avg}`,
    `  Cost                ${credits(t.costCredits)} credits vs ${credits(t.gridOnlyCredits)} grid-only`,
    `  Saving              ${credits(t.savingCredits)} credits (${pct(t.savingCredits, t.gridOnlyCredits)})`,
    `  Intervals settled   ${t.intervalsSettled}/${report.run.intervals}`,
  ];
  return lines.join("\n");
}

/**
 * The gains of trading against the grid tariffs: what sellers received above the feed-in value of
 * the Wh they sold, and what buyers paid below the retail value of the Wh they bought, for the
 * community and per member (`surplusSplit`).
 */
export function renderGains(report: DemoReport): string {
  const g = report.gains;
  const c = g.community;
  const share = (part: bigint) => `${(Number(gainSharePermille(part, c)) / 10).toFixed(1)} %`;
  const names = new Map(report.members.map((m) => [m.address.toLowerCase(), m.name]));
  const header = ["Member", "Sold", "Received", "Feed-in value", "Seller gain", "Bought", "Paid", "Retail value", "Buyer gain"];
  const row = (name: string, x: typeof c) => [
    name,
    kWh(x.soldWh),
    credits(x.receivedCredits),
    credits(x.feedInValueCredits),
    credits(x.sellerGainCredits),
    kWh(x.boughtWh),
    credits(x.paidCredits),
    credits(x.retailValueCredits),
    credits(x.buyerGainCredits),
  ];
  // In the member table's order.
  const order = new Map(report.members.map((m, i) => [m.address.toLowerCase(), i]));
  const at = (a: string) => order.get(a.toLowerCase()) ?? order.size;
  const rows = [...g.members]
    .sort((a, b) => at(a.member) - at(b.member))
    .map((m) => row(names.get(m.member.toLowerCase()) ?? m.member.slice(0, 8), m));
  rows.push(row(TOTAL_ROW, c));
  const lines = table(header, rows, new Set([0])).split("\n");
  lines.splice(lines.length - 1, 0, lines[1]);
  return [
    "Gains of trading against the grid tariffs (kWh; credits)",
    `  Sellers ${credits(c.sellerGainCredits)} credits (${share(c.sellerGainCredits)}) above feed-in, buyers ${credits(c.buyerGainCredits)} credits (${share(c.buyerGainCredits)}) below retail` +
      `; rounding left with the buyers: ${g.roundingMilliCredits} thousandths of a base unit`,
    ...lines,
  ].join("\n");
}

/** The whole report as printed by `npm run demo`. */
export function renderReport(report: DemoReport, auditLine: string, extra: string[] = []): string {
  const { run } = report;
  const prosumers = report.members.filter((m) => m.kind === "prosumer").length;
  const storage = report.members.filter((m) => m.kind === "storage");
  const head = [
    `GridLedger demo: ${plural(run.households, "household")} (${plural(prosumers, "prosumer")}, ${plural(run.households - prosumers, "consumer")})${storage.length ? ` and ${plural(storage.length, "storage member")}` : ""}, ` +
      `${plural(run.intervals, "interval")} of ${run.intervalSeconds % 60 === 0 ? `${run.intervalSeconds / 60} min` : `${run.intervalSeconds} s`} from ${timeLabel(run, 0)}, seed ${run.seed}, network ${run.network}`,
    `Tariffs: retail ${price(report.tariffs.retailPerKWh)}, feed-in ${price(report.tariffs.feedInPerKWh)} credits/kWh`,
    ...extra,
  ];
  return [head.join("\n"), renderChart(report), renderMembers(report), renderGains(report), renderTotals(report), auditLine].join("\n\n") + "\n";
}
