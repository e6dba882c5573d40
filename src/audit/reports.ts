/**
 * Reports from the rebuilt state: per-member statements (CSV and JSON), the community summary,
 * anomalies, and the interval and meter views behind `audit interval` and `audit meter`.
 *
 * Units: energy in Wh, money in credit base units (6 decimals), prices per kWh in credit base
 * units; integers throughout so that totals are exact. Grid money is rounded in the grid's
 * favour, per member and interval: `gridImportCost` (ceil) and `gridExportRevenue` (floor) from
 * src/sdk/clearing.ts. The gains of trading split (`gainsOfTrade`) comes from `surplusSplit`
 * (src/sdk/surplus.ts), the function the demo prints too.
 *
 * Every statement figure (net cost, grid-only cost, saving) comes from the one SDK function,
 * `statementLine` in `src/sdk/statement.ts`, which also defines the grid-only world.
 */
import { getAddress } from "ethers";
import { surplusSplit, SurplusSplit } from "../sdk/surplus";
import { statementLine, sumStatement, type StatementFigures } from "../sdk/statement";
import { unsettledExportWh } from "../sdk/unsettled";
import {
  AuditState,
  intervalStart,
  IntervalRecord,
  positionsOf,
  readingsOf,
  resolveWallet,
  statusAt,
  walletsOf,
  MemberStatusName,
} from "./state";

export interface StatementTrade {
  interval: number;
  side: "bought" | "sold";
  counterparty: string;
  wh: bigint;
  pricePerKWh: bigint;
  credits: bigint;
}

export interface StatementRow extends StatementFigures {
  interval: number;
  start: string;
  wallet: string;
  clearingPricePerKWh: bigint;
  retailPerKWh: bigint;
  feedInPerKWh: bigint;
  counterparties: string;
}

export type StatementTotals = StatementFigures;

export interface Statement {
  member: string;
  /** The member's kind in the registry: "consumer", "prosumer" or "storage" (a battery, whose import is charging). */
  kind: string;
  wallets: string[];
  fromInterval: number;
  toInterval: number;
  rows: StatementRow[];
  trades: StatementTrade[];
  totals: StatementTotals;
}


/** Registry `MemberKind` names, by value (Storage was appended as 3). */
export const MEMBER_KIND_NAMES = ["none", "consumer", "prosumer", "storage"];

const iso = (unix: number) => new Date(unix * 1000).toISOString();

/** Settled intervals in [from, to], in order. */
function settledIntervals(s: AuditState, from?: number, to?: number): IntervalRecord[] {
  return [...s.intervals.values()]
    .filter((r) => r.settled && r.cleared && (from === undefined || r.interval >= from) && (to === undefined || r.interval <= to))
    .sort((a, b) => a.interval - b.interval);
}

/** The market's next interval to settle: one after the last settled (intervals settle in order). */
function nextUnsettled(s: AuditState): number {
  let next = 0;
  for (const r of s.intervals.values()) if (r.settled && r.interval + 1 > next) next = r.interval + 1;
  return next;
}

/** The statement of the person behind `member` (all its wallets) for settled intervals in [from, to]. */
export function memberStatement(s: AuditState, member: string, range: { from?: number; to?: number } = {}): Statement {
  const wallets = walletsOf(s, getAddress(member));
  const mine = new Set(wallets);
  const rows: StatementRow[] = [];
  const trades: StatementTrade[] = [];
  const intervals = settledIntervals(s, range.from, range.to);
  for (const rec of intervals) {
    const c = rec.cleared!;
    for (const st of rec.settlements) {
      if (!mine.has(st.member)) continue;
      const figures = statementLine(st, c);
      const parties: string[] = [];
      for (const tr of rec.trades) {
        if (mine.has(tr.buyer)) {
          trades.push({ interval: rec.interval, side: "bought", counterparty: tr.seller, wh: tr.wh, pricePerKWh: tr.pricePerKWh, credits: tr.credits });
          parties.push(`bought ${tr.wh} Wh from ${tr.seller}`);
        } else if (mine.has(tr.seller)) {
          trades.push({ interval: rec.interval, side: "sold", counterparty: tr.buyer, wh: tr.wh, pricePerKWh: tr.pricePerKWh, credits: tr.credits });
          parties.push(`sold ${tr.wh} Wh to ${tr.buyer}`);
        }
      }
      rows.push({
        interval: rec.interval,
        start: iso(intervalStart(s, rec.interval)),
        wallet: st.member,
        ...figures,
        clearingPricePerKWh: c.pricePerKWh,
        retailPerKWh: c.retailPerKWh,
        feedInPerKWh: c.feedInPerKWh,
        counterparties: parties.join("; "),
      });
    }
  }
  const totals: StatementTotals = sumStatement(rows);
  const kindOf = wallets.map((w) => s.members.get(w)?.kind).find((k) => k !== undefined && k !== 0);
  return {
    member: wallets[wallets.length - 1],
    kind: MEMBER_KIND_NAMES[kindOf ?? 0] ?? `#${kindOf}`,
    wallets,
    fromInterval: range.from ?? intervals[0]?.interval ?? 0,
    toInterval: range.to ?? intervals[intervals.length - 1]?.interval ?? 0,
    rows,
    trades,
    totals,
  };
}

const CSV_COLUMNS: [keyof StatementRow, string][] = [
  ["interval", "interval"],
  ["start", "start_utc"],
  ["wallet", "wallet"],
  ["importWh", "import_wh"],
  ["exportWh", "export_wh"],
  ["selfSupplyWh", "self_supply_wh"],
  ["boughtWh", "p2p_bought_wh"],
  ["soldWh", "p2p_sold_wh"],
  ["gridImportWh", "grid_import_wh"],
  ["gridExportWh", "grid_export_wh"],
  ["clearingPricePerKWh", "clearing_price_per_kwh"],
  ["retailPerKWh", "retail_per_kwh"],
  ["feedInPerKWh", "feed_in_per_kwh"],
  ["p2pPaidCredits", "p2p_paid_credits"],
  ["p2pReceivedCredits", "p2p_received_credits"],
  ["gridImportCostCredits", "grid_import_cost_credits"],
  ["gridExportRevenueCredits", "grid_export_revenue_credits"],
  ["netCostCredits", "net_cost_credits"],
  ["gridOnlyCostCredits", "grid_only_cost_credits"],
  ["savingCredits", "saving_credits"],
  ["counterparties", "counterparties"],
];

function csvCell(v: unknown): string {
  const s = String(v ?? "");
  return /[",\r\n;]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s;
}

/**
 * RFC 4180 CSV: a header, one row per settled interval (and wallet), a `TOTAL` row. Energy in
 * Wh, money in credit base units (1,000,000 = 1 credit), prices per kWh in base units.
 */
export function statementCsv(st: Statement): string {
  const lines = [CSV_COLUMNS.map(([, h]) => h).join(",")];
  for (const r of st.rows) lines.push(CSV_COLUMNS.map(([k]) => csvCell(r[k])).join(","));
  const total: Record<string, unknown> = { interval: "TOTAL", wallet: st.member, ...st.totals };
  lines.push(CSV_COLUMNS.map(([k]) => csvCell(total[k] ?? "")).join(","));
  return lines.join("\r\n") + "\r\n";
}

/** JSON-safe copy: bigints as decimal strings. */
export function toJson(value: unknown): unknown {
  return JSON.parse(JSON.stringify(value, (_k, v) => (typeof v === "bigint" ? v.toString() : v instanceof Map ? Object.fromEntries(v) : v instanceof Set ? [...v] : v)));
}

// ---------------------------------------------------------------- community summary

export interface IntervalSummary {
  interval: number;
  start: string;
  participants: number;
  pricePerKWh: bigint;
  matchedWh: bigint;
  retailPerKWh: bigint;
  feedInPerKWh: bigint;
  importWh: bigint;
  exportWh: bigint;
  selfSupplyWh: bigint;
  gridImportWh: bigint;
  gridExportWh: bigint;
}

export interface CommunitySummary {
  intervals: number;
  fromInterval?: number;
  toInterval?: number;
  members: number;
  activeMembers: number;
  meters: number;
  consumptionWh: bigint;
  productionWh: bigint;
  selfSupplyWh: bigint;
  p2pWh: bigint;
  gridImportWh: bigint;
  gridExportWh: bigint;
  p2pCredits: bigint;
  /** Volume-weighted mean of the clearing prices over matched Wh (0 without trades). */
  averagePricePerKWh: bigint;
  /** (self-supply + P2P) / consumption, in parts per million. */
  selfSufficiencyPpm: bigint;
  /** Sum of every member's saving against grid-only. */
  savingCredits: bigint;
  /** Sellers' and buyers' gains of trading against the tariffs, community and per member. */
  gainsOfTrade: SurplusSplit;
  perInterval: IntervalSummary[];
}

export function communitySummary(s: AuditState, range: { from?: number; to?: number } = {}): CommunitySummary {
  const perInterval: IntervalSummary[] = [];
  let saving = 0n;
  let p2pCredits = 0n;
  const sum = { importWh: 0n, exportWh: 0n, selfSupplyWh: 0n, p2pWh: 0n, gridImportWh: 0n, gridExportWh: 0n, weighted: 0n };
  const intervals = settledIntervals(s, range.from, range.to);
  for (const rec of intervals) {
    const c = rec.cleared!;
    const row: IntervalSummary = {
      interval: rec.interval,
      start: iso(intervalStart(s, rec.interval)),
      participants: c.participants,
      pricePerKWh: c.pricePerKWh,
      matchedWh: c.matchedWh,
      retailPerKWh: c.retailPerKWh,
      feedInPerKWh: c.feedInPerKWh,
      importWh: 0n,
      exportWh: 0n,
      selfSupplyWh: 0n,
      gridImportWh: 0n,
      gridExportWh: 0n,
    };
    for (const st of rec.settlements) {
      const f = statementLine(st, c);
      row.importWh += f.importWh;
      row.exportWh += f.exportWh;
      row.selfSupplyWh += st.selfSupplyWh;
      row.gridImportWh += st.gridImportWh;
      row.gridExportWh += st.gridExportWh;
      saving += f.savingCredits;
      p2pCredits += st.paidCredits;
    }
    sum.importWh += row.importWh;
    sum.exportWh += row.exportWh;
    sum.selfSupplyWh += row.selfSupplyWh;
    sum.p2pWh += c.matchedWh;
    sum.gridImportWh += row.gridImportWh;
    sum.gridExportWh += row.gridExportWh;
    sum.weighted += c.matchedWh * c.pricePerKWh;
    perInterval.push(row);
  }
  const members = [...s.members.values()];
  return {
    intervals: intervals.length,
    fromInterval: intervals[0]?.interval,
    toInterval: intervals[intervals.length - 1]?.interval,
    members: members.filter((m) => m.status !== "Migrated").length,
    activeMembers: members.filter((m) => m.status === "Active").length,
    meters: [...s.meters.values()].filter((m) => m.status === "Active").length,
    consumptionWh: sum.importWh,
    productionWh: sum.exportWh,
    selfSupplyWh: sum.selfSupplyWh,
    p2pWh: sum.p2pWh,
    gridImportWh: sum.gridImportWh,
    gridExportWh: sum.gridExportWh,
    p2pCredits,
    averagePricePerKWh: sum.p2pWh === 0n ? 0n : sum.weighted / sum.p2pWh,
    selfSufficiencyPpm: sum.importWh === 0n ? 0n : ((sum.selfSupplyWh + sum.p2pWh) * 1_000_000n) / sum.importWh,
    savingCredits: saving,
    gainsOfTrade: surplusSplit(
      intervals.map((r) => ({ interval: r.interval, ...r.cleared! })),
      intervals.flatMap((r) => r.settlements.map((st) => ({ ...st, interval: r.interval }))),
    ),
    perInterval,
  };
}

// ---------------------------------------------------------------- anomalies

export interface Anomalies {
  /** Active meters that had no accepted reading when the interval was closed. */
  missing: { interval: number; meterId: string; owner: string }[];
  /** Readings refused by the chain, with the reason (IntervalClosed = arrived too late). */
  rejected: { interval: number; meterId: string; reason: string; blockNumber: number; txHash: string; late: boolean }[];
  /** Readings that cover more than one interval (the meter missed the ones in between). */
  gaps: { meterId: string; fromInterval: number; toInterval: number }[];
  /** Suspensions, with the intervals they covered (open-ended when still suspended). */
  suspensions: { member: string; fromBlock: number; toBlock?: number; status: MemberStatusName }[];
  /** Participants that were not active when their interval was collected (no trading). */
  suspendedParticipants: { interval: number; member: string; status: MemberStatusName }[];
}

export function anomalies(s: AuditState): Anomalies {
  const out: Anomalies = { missing: [], rejected: [], gaps: [], suspensions: [], suspendedParticipants: [] };
  for (const rec of [...s.intervals.values()].sort((a, b) => a.interval - b.interval)) {
    const at = rec.closed?.pos ?? rec.collectStart;
    if (at === undefined) continue;
    const reported = new Set(readingsOf(s, rec.interval).map((r) => r.meterId));
    for (const m of s.meters.values()) {
      if (m.registered.pos > at || (m.retired && m.retired.pos < at)) continue;
      if (!reported.has(m.meterId)) {
        let owner = m.owners[0].owner;
        for (const o of m.owners) if (o.pos <= at) owner = o.owner;
        out.missing.push({ interval: rec.interval, meterId: m.meterId, owner });
      }
    }
    for (const e of rec.entries) {
      if (e.statusAtCollect !== "Active") out.suspendedParticipants.push({ interval: rec.interval, member: e.member, status: e.statusAtCollect });
    }
  }
  for (const r of s.rejected) {
    out.rejected.push({ interval: r.interval, meterId: r.meterId, reason: r.reason, blockNumber: r.blockNumber, txHash: r.txHash, late: r.reason === "IntervalClosed" });
  }
  const last = new Map<string, number>();
  for (const r of s.readings) {
    const prev = last.get(r.meterId);
    if (prev !== undefined && r.interval - prev > 1) out.gaps.push({ meterId: r.meterId, fromInterval: prev + 1, toInterval: r.interval - 1 });
    last.set(r.meterId, r.interval);
  }
  for (const m of s.members.values()) {
    let open: { fromBlock: number } | undefined;
    for (const h of m.history) {
      if (h.status === "Suspended" && !open) open = { fromBlock: h.blockNumber };
      else if (h.status !== "Suspended" && open) {
        out.suspensions.push({ member: m.address, fromBlock: open.fromBlock, toBlock: h.blockNumber, status: h.status });
        open = undefined;
      }
    }
    if (open) out.suspensions.push({ member: m.address, fromBlock: open.fromBlock, status: "Suspended" });
  }
  return out;
}

// ---------------------------------------------------------------- queries

/** Everything about one interval: readings, entries, clearing, fills, settlements. */
export function intervalReport(s: AuditState, t: number) {
  const rec = s.intervals.get(t);
  return {
    interval: t,
    start: iso(intervalStart(s, t)),
    positions: [...positionsOf(s, t)].map(([member, p]) => ({ member, ...p })),
    readings: readingsOf(s, t).map((r) => ({ meterId: r.meterId, owner: r.owner, importWhTotal: r.importWhTotal, exportWhTotal: r.exportWhTotal, importWh: r.importWh, exportWh: r.exportWh, unbookedImportWh: r.unbookedImportWh, unbookedExportWh: r.unbookedExportWh, blockNumber: r.blockNumber })),
    rejected: s.rejected.filter((r) => r.interval === t).map((r) => ({ meterId: r.meterId, reason: r.reason, blockNumber: r.blockNumber })),
    phase: !rec?.collectStart ? "open" : !rec.cleared ? "collecting" : !rec.settled ? "settling" : "settled",
    cleared: rec?.cleared && { ...rec.cleared },
    entries: (rec?.entries ?? []).map((e) => ({ member: e.member, tag: e.tag, orderId: e.orderId, qtyWh: e.qtyWh, pricePerKWh: e.pricePerKWh, importWh: e.importWh, exportWh: e.exportWh, availableCredits: e.availableCredits, status: e.statusAtCollect })),
    trades: (rec?.trades ?? []).map((x) => ({ seller: x.seller, buyer: x.buyer, wh: x.wh, pricePerKWh: x.pricePerKWh, credits: x.credits })),
    settlements: (rec?.settlements ?? []).map((x) => ({ member: x.member, selfSupplyWh: x.selfSupplyWh, soldWh: x.soldWh, boughtWh: x.boughtWh, gridExportWh: x.gridExportWh, gridImportWh: x.gridImportWh, paidCredits: x.paidCredits, receivedCredits: x.receivedCredits })),
  };
}

/** One meter: registration, signer and owner history, every reading and refusal. */
export function meterReport(s: AuditState, meterId: string) {
  const id = meterId.toLowerCase();
  const m = s.meters.get(id);
  return {
    meterId: id,
    known: !!m,
    owner: m?.owner,
    status: m?.status,
    maxPowerW: m?.maxPowerW,
    zone: m?.zone,
    registeredAtBlock: m?.registered.blockNumber,
    retiredAtBlock: m?.retired?.blockNumber,
    signers: (m?.signers ?? []).map((x) => ({ fromBlock: Math.floor(x.pos / 1_000_000), signer: x.signer })),
    owners: (m?.owners ?? []).map((x) => ({ fromBlock: Math.floor(x.pos / 1_000_000), owner: x.owner })),
    readings: s.readings.filter((r) => r.meterId === id).map((r) => ({ interval: r.interval, importWhTotal: r.importWhTotal, exportWhTotal: r.exportWhTotal, importWh: r.importWh, exportWh: r.exportWh, unbookedImportWh: r.unbookedImportWh, unbookedExportWh: r.unbookedExportWh, owner: r.owner, blockNumber: r.blockNumber })),
    rejected: s.rejected.filter((r) => r.meterId === id).map((r) => ({ interval: r.interval, reason: r.reason, blockNumber: r.blockNumber })),
  };
}

/** A member's record, wallets, current balances and orders. */
export function memberReport(s: AuditState, member: string) {
  const wallets = walletsOf(s, getAddress(member));
  const current = resolveWallet(s.marketSuccessor, wallets[wallets.length - 1]);
  const rec = s.members.get(current);
  return {
    member: current,
    wallets,
    status: rec?.status ?? "None",
    kind: rec?.kind,
    deposit: s.deposits.balances.get(wallets[0]) ?? 0n, // market accounts are keyed by the first wallet
    // Unsettled production (issue 16: no energy token is minted; the positions carry it).
    energyBalanceWh: unsettledExportWh(
      s.readings.filter((r) => wallets.includes(r.owner) || r.owner === current).map((r) => ({ interval: r.interval, exportWh: r.exportWh })),
      nextUnsettled(s),
    ),
    creditBalance: s.credit.balances.get(current) ?? 0n,
    meters: [...s.meters.values()].filter((m) => m.owner === current).map((m) => ({ meterId: m.meterId, status: m.status })),
    orders: [...s.orders.values()].filter((o) => wallets.includes(o.member) || o.member === current).map((o) => ({ orderId: o.orderId, side: o.side, limitPricePerKWh: o.limitPricePerKWh, capWhPerInterval: o.capWhPerInterval, firstInterval: o.firstInterval, lastInterval: o.lastInterval, cancelled: !!o.cancelled })),
    statusNow: statusAt(s, current, Number.MAX_SAFE_INTEGER),
  };
}
