/**
 * The ledger rebuilt from events alone (as the auditor does): readings per interval, the order
 * book, deposits and member status as they stood when each interval was collected, the cleared
 * results, and an independent re-clearing with the project's `clearInterval` (src/sdk/clearing.ts).
 * Wallet migrations are followed for deposits and orders; the CLI auditor (`gridledger audit`)
 * remains the complete check (invariants, tampering, reading signatures).
 */
import { clearInterval, gridExportRevenue, gridImportCost, type ClearingInput, type ClearingOrder, type ClearingResult } from "@sdk/clearing";
import type { MemberSettlement } from "@sdk/settlement";
import { statementLine } from "@sdk/statement";
import type { Ev } from "./chain";

export type Status = "Active" | "Suspended" | "Removed" | "Migrated";
const STATUS_BY_EVENT: Record<string, Status> = { MemberOnboarded: "Active", MemberReinstated: "Active", MemberSuspended: "Suspended", MemberRemoved: "Removed" };

export interface LiveOrder {
  orderId: bigint;
  member: string;
  side: "buy" | "sell";
  limitPricePerKWh: bigint;
  capWhPerInterval: bigint;
  firstInterval: number;
  lastInterval: number;
}

export interface Reading {
  meterId: string;
  /** The meter's owner when the reading was accepted (the registry's events). */
  owner: string;
  /** The member key the energy is booked to (`ReadingAccepted.memberIndex`, `MemberIndexAssigned`). */
  memberKey: string;
  importWh: bigint;
  exportWh: bigint;
  importWhTotal: bigint;
  exportWhTotal: bigint;
  /** Energy beyond one interval's max power (after a gap): settled with the grid, not traded. */
  unbookedImportWh: bigint;
  unbookedExportWh: bigint;
  txHash: string;
}

export interface Cleared {
  pricePerKWh: bigint;
  matchedWh: bigint;
  retailPerKWh: bigint;
  feedInPerKWh: bigint;
  participants: number;
}

export interface Trade {
  seller: string;
  buyer: string;
  wh: bigint;
  pricePerKWh: bigint;
  credits: bigint;
  txHash: string;
}

export type Settlement = MemberSettlement;

export interface IntervalRec {
  interval: number;
  readings: Reading[];
  collected: boolean;
  cleared?: Cleared;
  trades: Trade[];
  settlements: Settlement[];
  settled: boolean;
  /** Member keys of migrated wallets (set by buildLedger). */
  keyOf?: Map<string, string>;
  /** Inputs of the clearing: orders frozen at the interval's end, what each bid could spend, status. */
  atCollect?: { orders: LiveOrder[]; deposits: Map<string, bigint>; status: Map<string, Status> };
}

export interface Verdict {
  state: "ok" | "mismatch" | "not cleared" | "settling";
  problems: string[];
  result?: ClearingResult;
  input?: ClearingInput;
}

export interface Ledger {
  intervals: Map<number, IntervalRec>;
  /** Member key (first wallet) of every wallet that migrated: market accounts and positions use it. */
  keyOf: Map<string, string>;
  status: Map<string, Status>;
  deposits: Map<string, bigint>;
  orders: Map<string, LiveOrder>; // key member|side
  meters: Map<string, { meterId: string; owner: string; zone: number; maxPowerW: number }>;
  /** Member key of every position index (`MemberIndexAssigned`): whom a reading books energy to. */
  keyOfIndex: Map<number, string>;
  /** Member kind per wallet (1 consumer, 2 prosumer, 3 storage), from `MemberOnboarded`. */
  kinds: Map<string, number>;
}

/** MemberKind.Storage in the registry: a battery. */
export const STORAGE_KIND = 3;

const k = (a: string) => a.toLowerCase();

export function buildLedger(events: Ev[]): Ledger {
  const L: Ledger = { intervals: new Map(), keyOf: new Map(), status: new Map(), deposits: new Map(), orders: new Map(), meters: new Map(), keyOfIndex: new Map(), kinds: new Map() };
  // Order versions by member key and side, each in force from an interval on (null: cancelled):
  // an interval clears with the versions in force at its end (frozen inputs).
  const versions = new Map<string, { from: number; o: LiveOrder | null }[]>();
  const walletOfKey = new Map<string, string>();
  const write = (key: string, from: number, o: LiveOrder | null) => {
    const list = versions.get(key) ?? [];
    if (list.length && list[list.length - 1].from === from) list[list.length - 1].o = o;
    else list.push({ from, o });
    versions.set(key, list);
  };
  const frozen = (t: number) => {
    const out: LiveOrder[] = [];
    for (const list of versions.values()) {
      let hit: LiveOrder | null = null;
      for (const v of list) if (v.from <= t) hit = v.o;
      if (hit) out.push(hit);
    }
    return out;
  };
  // Status per member key: the status of its current wallet.
  const keyStatus = () => {
    const out = new Map(L.status);
    for (const [key, wallet] of walletOfKey) out.set(key, L.status.get(wallet) ?? "Active");
    return out;
  };
  const rec = (t: number) => {
    let r = L.intervals.get(t);
    if (!r) L.intervals.set(t, (r = { interval: t, readings: [], collected: false, trades: [], settlements: [], settled: false }));
    return r;
  };
  const add = (m: string, d: bigint) => L.deposits.set(k(m), (L.deposits.get(k(m)) ?? 0n) + d);
  for (const e of events) {
    const a = e.args;
    switch (e.name) {
      case "MemberOnboarded":
        L.kinds.set(k(a.member), Number(a.kind));
        L.status.set(k(a.member), STATUS_BY_EVENT[e.name]);
        break;
      case "MemberSuspended":
      case "MemberReinstated":
      case "MemberRemoved":
        L.status.set(k(a.member), STATUS_BY_EVENT[e.name]);
        break;
      case "MemberMigrated": {
        const key = L.keyOf.get(k(a.oldWallet)) ?? k(a.oldWallet);
        L.keyOf.set(k(a.newWallet), key);
        walletOfKey.set(key, k(a.newWallet));
        L.status.set(k(a.newWallet), L.status.get(k(a.oldWallet)) ?? "Active");
        L.status.set(k(a.oldWallet), "Migrated");
        if (L.kinds.has(k(a.oldWallet))) L.kinds.set(k(a.newWallet), L.kinds.get(k(a.oldWallet))!);
        break;
      }
      case "MeterRegistered":
        L.meters.set(a.meterId, { meterId: a.meterId, owner: a.owner, zone: Number(a.zone), maxPowerW: Number(a.maxPowerW) });
        break;
      case "MeterOwnerChanged": {
        const m = L.meters.get(a.meterId);
        if (m) m.owner = a.newOwner;
        break;
      }
      case "MemberIndexAssigned":
        L.keyOfIndex.set(Number(a.index), a.key);
        break;
      case "ReadingAccepted":
        // The event names the member by its position index; the owner is the registry's record.
        rec(Number(a.interval)).readings.push({
          meterId: a.meterId, owner: L.meters.get(a.meterId)?.owner ?? "", memberKey: L.keyOfIndex.get(Number(a.memberIndex)) ?? "", importWh: a.importWh, exportWh: a.exportWh,
          importWhTotal: a.importWhTotal, exportWhTotal: a.exportWhTotal, unbookedImportWh: a.unbookedImportWh, unbookedExportWh: a.unbookedExportWh, txHash: e.txHash,
        });
        break;
      case "Deposited":
        add(a.member, a.amount);
        break;
      case "Withdrawn":
        add(a.member, -(a.amount as bigint));
        break;
      case "AccountMigrated":
        // The market keys accounts by member key (the first wallet): nothing moves.
        break;
      case "OrderPlaced": {
        const side = Number(a.side) === 0 ? "buy" : "sell";
        const o: LiveOrder = {
          orderId: a.orderId, member: a.member, side, limitPricePerKWh: a.limitPricePerKWh,
          capWhPerInterval: a.capWhPerInterval, firstInterval: Number(a.firstInterval), lastInterval: Number(a.lastInterval),
        };
        L.orders.set(`${k(a.member)}|${side}`, o);
        write(`${k(a.member)}|${side}`, Number(a.fromInterval), o);
        break;
      }
      case "OrderCancelled": {
        const key = `${k(a.member)}|${Number(a.side) === 0 ? "buy" : "sell"}`;
        if (L.orders.get(key)?.orderId === a.orderId) {
          L.orders.delete(key);
          write(key, Number(a.fromInterval), null);
        }
        break;
      }
      case "EntryCollected": {
        const r = rec(Number(a.interval));
        if (!r.collected) {
          r.collected = true;
          r.atCollect = { orders: frozen(r.interval), deposits: new Map(), status: keyStatus() };
        }
        // What the bid could spend in this interval (the deposit minus what was deposited after
        // the interval ended, computed by the contract; the auditor rebuilds it independently).
        r.atCollect!.deposits.set(k(a.member), a.availableCredits);
        break;
      }
      case "IntervalCleared": {
        const r = rec(Number(a.interval));
        // An interval with no participant is cleared without any entry.
        r.atCollect ??= { orders: frozen(r.interval), deposits: new Map(), status: keyStatus() };
        r.cleared = {
          pricePerKWh: a.pricePerKWh, matchedWh: a.matchedWh, retailPerKWh: a.retailPerKWh,
          feedInPerKWh: a.feedInPerKWh, participants: Number(a.participants),
        };
        break;
      }
      case "Traded":
        rec(Number(a.interval)).trades.push({ seller: a.seller, buyer: a.buyer, wh: a.wh, pricePerKWh: a.pricePerKWh, credits: a.credits, txHash: e.txHash });
        break;
      case "MemberSettled":
        add(a.member, (a.receivedCredits as bigint) - (a.paidCredits as bigint));
        rec(Number(a.interval)).settlements.push({
          member: a.member, selfSupplyWh: a.selfSupplyWh, soldWh: a.soldWh, boughtWh: a.boughtWh,
          gridExportWh: a.gridExportWh, gridImportWh: a.gridImportWh, paidCredits: a.paidCredits, receivedCredits: a.receivedCredits,
        });
        break;
      case "IntervalSettled":
        rec(Number(a.interval)).settled = true;
        break;
    }
  }
  for (const r of L.intervals.values()) r.keyOf = L.keyOf;
  return L;
}

/** Storage members' (batteries') charge (metered import) and discharge (metered export) in interval `r`. */
export function storageFlows(L: Ledger, r: IntervalRec): { chargeWh: bigint; dischargeWh: bigint } {
  let chargeWh = 0n;
  let dischargeWh = 0n;
  for (const x of r.readings) {
    if (L.kinds.get(k(x.owner)) !== STORAGE_KIND) continue;
    chargeWh += x.importWh;
    dischargeWh += x.exportWh;
  }
  return { chargeWh, dischargeWh };
}

/**
 * Energy per member in interval `t` (summed over meters), members with no energy left out, keyed
 * by member key (the first wallet: a migration between two readings leaves one position).
 */
export function positions(r: IntervalRec): Map<string, { member: string; importWh: bigint; exportWh: bigint }> {
  const out = new Map<string, { member: string; importWh: bigint; exportWh: bigint }>();
  for (const x of r.readings) {
    if (x.importWh === 0n && x.exportWh === 0n) continue;
    const member = x.memberKey || (r.keyOf?.get(k(x.owner)) ?? x.owner);
    const key = k(member);
    const p = out.get(key) ?? { member, importWh: 0n, exportWh: 0n };
    p.importWh += x.importWh;
    p.exportWh += x.exportWh;
    out.set(key, p);
  }
  return out;
}

/** Re-clears interval `r` from the events and compares with what the contract emitted. */
export function verify(r: IntervalRec): Verdict {
  if (!r.cleared || !r.atCollect) return { state: "not cleared", problems: [] };
  const c = r.cleared;
  const at = r.atCollect;
  const members: ClearingInput["members"] = [];
  const orders: ClearingOrder[] = [];
  for (const p of positions(r).values()) {
    const active = at.status.get(k(p.member)) === "Active";
    members.push({ member: p.member, importWh: p.importWh, exportWh: p.exportWh, active, availableCredits: at.deposits.get(k(p.member)) ?? 0n });
    for (const o of at.orders) {
      if (k(o.member) === k(p.member) && o.firstInterval <= r.interval && r.interval <= o.lastInterval) {
        orders.push({ orderId: o.orderId, member: p.member, side: o.side, limitPricePerKWh: o.limitPricePerKWh, capWhPerInterval: o.capWhPerInterval });
      }
    }
  }
  orders.sort((a, b) => (a.orderId < b.orderId ? -1 : a.orderId > b.orderId ? 1 : 0));
  const input: ClearingInput = { interval: r.interval, retailTariffPerKWh: c.retailPerKWh, feedInTariffPerKWh: c.feedInPerKWh, members, orders };
  const problems: string[] = [];
  let result: ClearingResult;
  try {
    result = clearInterval(input);
  } catch (e) {
    return { state: "mismatch", problems: [`cannot re-clear from the events: ${(e as Error).message}`], input };
  }
  const cmp = (what: string, chain: unknown, again: unknown) => {
    if (String(chain) !== String(again)) problems.push(`${what}: the chain says ${chain}, the re-clearing says ${again}`);
  };
  cmp("clearing price per kWh", c.pricePerKWh, result.pricePerKWh);
  cmp("matched Wh", c.matchedWh, result.matchedWh);
  cmp("participants", c.participants, members.length);
  if (!r.settled) return { state: problems.length ? "mismatch" : "settling", problems, result, input };
  const key = (f: { seller: string; buyer: string; wh: bigint; credits: bigint }) => `${k(f.seller)}>${k(f.buyer)}:${f.wh}:${f.credits}`;
  const chainFills = r.trades.map(key).sort().join(" ");
  const againFills = result.fills.map((f) => key({ ...f, credits: f.costCredits })).sort().join(" ");
  if (chainFills !== againFills) problems.push(`fills differ: chain [${chainFills || "none"}], re-clearing [${againFills || "none"}]`);
  const settledBy = new Map(r.settlements.map((s) => [k(s.member), s]));
  for (const m of result.members) {
    const s = settledBy.get(k(m.member));
    if (!s) {
      problems.push(`${m.member}: metered energy but no MemberSettled event`);
      continue;
    }
    for (const f of ["selfSupplyWh", "soldWh", "boughtWh", "gridExportWh", "gridImportWh", "paidCredits", "receivedCredits"] as const) {
      cmp(`${m.member} ${f}`, s[f], m[f]);
    }
  }
  return { state: problems.length ? "mismatch" : "ok", problems, result, input };
}

/** A member's bill line for one interval, and what grid-only supply would have cost. */
export interface BillLine {
  interval: number;
  pricePerKWh: bigint;
  importWh: bigint;
  exportWh: bigint;
  selfSupplyWh: bigint;
  soldWh: bigint;
  boughtWh: bigint;
  gridImportWh: bigint;
  gridExportWh: bigint;
  paidCredits: bigint;
  receivedCredits: bigint;
  gridImportCredits: bigint;
  gridExportCredits: bigint;
  /** Net cost: paid + grid import - received - grid export credit. */
  netCredits: bigint;
  /** Everything imported at retail, everything exported at feed-in. */
  gridOnlyCredits: bigint;
  savingCredits: bigint;
  soldTo: string[];
  boughtFrom: string[];
}

export function billOf(L: Ledger, member: string): BillLine[] {
  const out: BillLine[] = [];
  for (const r of [...L.intervals.values()].sort((a, b) => a.interval - b.interval)) {
    const s = r.settlements.find((x) => k(x.member) === k(member));
    if (!s || !r.cleared) continue;
    // Every figure from the SDK's one statement function (src/sdk/statement.ts).
    const f = statementLine(s, r.cleared);
    out.push({
      interval: r.interval, pricePerKWh: r.cleared.pricePerKWh, importWh: f.importWh, exportWh: f.exportWh,
      selfSupplyWh: f.selfSupplyWh, soldWh: f.soldWh, boughtWh: f.boughtWh, gridImportWh: f.gridImportWh, gridExportWh: f.gridExportWh,
      paidCredits: f.p2pPaidCredits, receivedCredits: f.p2pReceivedCredits, gridImportCredits: f.gridImportCostCredits, gridExportCredits: f.gridExportRevenueCredits,
      netCredits: f.netCostCredits, gridOnlyCredits: f.gridOnlyCostCredits, savingCredits: f.savingCredits,
      soldTo: r.trades.filter((t) => k(t.seller) === k(member)).map((t) => `${t.buyer} ${t.wh} Wh`),
      boughtFrom: r.trades.filter((t) => k(t.buyer) === k(member)).map((t) => `${t.seller} ${t.wh} Wh`),
    });
  }
  return out;
}

export const BILL_HEADER = ["interval", "member", "price_per_kwh", "import_wh", "export_wh", "self_supply_wh", "sold_wh", "bought_wh", "grid_import_wh", "grid_export_wh", "paid_credits", "received_credits", "grid_import_credits", "grid_export_credits", "net_credits", "grid_only_credits", "saving_credits", "sold_to", "bought_from"];

export function billRow(member: string, b: BillLine): (string | bigint | number)[] {
  return [b.interval, member, b.pricePerKWh, b.importWh, b.exportWh, b.selfSupplyWh, b.soldWh, b.boughtWh, b.gridImportWh, b.gridExportWh, b.paidCredits, b.receivedCredits, b.gridImportCredits, b.gridExportCredits, b.netCredits, b.gridOnlyCredits, b.savingCredits, b.soldTo.join("; "), b.boughtFrom.join("; ")];
}
