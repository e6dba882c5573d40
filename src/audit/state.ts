/**
 * The ledger rebuilt from stored events alone: members and
 * meters over time, readings, orders, deposits, tariffs, clearings, fills, settlements and both
 * token ledgers. Events are replayed in chain order; where a check needs "the state at that
 * moment" (a member's status when its entry was collected, the orders live then, the deposit it
 * could spend, a meter's signer when a reading was accepted) the replay takes a snapshot there.
 *
 * A position `pos` orders everything: `blockNumber * 1e6 + logIndex`.
 */
import type { MemberSettlement } from "../sdk/settlement";
import type Database from "better-sqlite3";
import { getAddress } from "ethers";
import { ContractKey, REJECT_REASONS, ZERO_ADDRESS } from "./abi";
import {
  getMeta,
  loadBlockTimes,
  loadEvents,
  StoredEvent,
  cursorOf,
  Addresses,
} from "./indexer";

export const MEMBER_STATUS = ["None", "Active", "Suspended", "Removed", "Migrated"] as const;
export type MemberStatusName = (typeof MEMBER_STATUS)[number];
export const TAG_NAMES = ["None", "Ask", "Bid"] as const;
export type TagName = (typeof TAG_NAMES)[number];

export const posOf = (e: { blockNumber: number; logIndex: number }): number => e.blockNumber * 1_000_000 + e.logIndex;

export interface Where {
  pos: number;
  blockNumber: number;
  txHash: string;
}

export interface MemberRecord {
  address: string;
  kind: number;
  identityHash: string;
  status: MemberStatusName;
  /** Every status change, in order (the first is the onboarding or the migration in). */
  history: { pos: number; blockNumber: number; status: MemberStatusName }[];
  /** Registry migration: the wallet this one moved to / came from. */
  migratedTo?: string;
  migratedFrom?: string;
}

export interface MeterRecord {
  meterId: string;
  owner: string;
  signer: string;
  maxPowerW: number;
  zone: number;
  status: "Active" | "Retired";
  registered: Where;
  retired?: Where;
  signers: { pos: number; signer: string }[];
  /** The registers the meter's next reading is measured from: at registration, then every reset. */
  registers: { pos: number; importWhTotal: bigint; exportWhTotal: bigint }[];
  owners: { pos: number; owner: string }[];
}

export interface ReadingRecord extends Where {
  meterId: string;
  interval: number;
  /** The meter's owner when the reading was accepted (the registry's events; "" for a meter they never registered). */
  owner: string;
  /** The position index the event names (`ReadingAccepted.memberIndex`). */
  memberIndex: number;
  /** Its member key (`MemberIndexAssigned`; "" if no event assigned the index). */
  memberKey: string;
  /** The signature as the event carries it (EIP-2098 compact form). */
  r: string;
  vs: string;
  importWhTotal: bigint;
  exportWhTotal: bigint;
  importWh: bigint;
  exportWh: bigint;
  /** Energy beyond one interval's max power: settled with the grid, not on the market. */
  unbookedImportWh: bigint;
  unbookedExportWh: bigint;
  timestamp: number;
}

export interface RejectedReading extends Where {
  meterId: string;
  interval: number;
  reasonCode: number;
  reason: string;
  timestamp: number;
}

export interface OrderRecord {
  orderId: bigint;
  /** The wallet that holds the order now (follows migrations). */
  member: string;
  placedBy: string;
  side: "buy" | "sell";
  limitPricePerKWh: bigint;
  capWhPerInterval: bigint;
  firstInterval: number;
  lastInterval: number;
  placed: Where;
  cancelled?: Where;
}

export interface TariffRecord {
  fromInterval: number;
  retailPerKWh: bigint;
  feedInPerKWh: bigint;
  pos: number;
}

export interface EntryRecord extends Where {
  interval: number;
  member: string;
  tag: TagName;
  orderId: bigint;
  qtyWh: bigint;
  pricePerKWh: bigint;
  importWh: bigint;
  exportWh: bigint;
  availableCredits: bigint;
  /** Snapshot when the entry was collected: the member's registry status. */
  statusAtCollect: MemberStatusName;
  /** Snapshot: the member's orders live for the interval (copies). */
  liveOrders: OrderRecord[];
  /** Snapshot: the member's deposit in the market as rebuilt from events. */
  depositAtCollect: bigint;
}

export interface TradeRecord extends Where {
  interval: number;
  seller: string;
  buyer: string;
  wh: bigint;
  pricePerKWh: bigint;
  credits: bigint;
}

export interface SettlementRecord extends Where, MemberSettlement {
  interval: number;
}

export interface ClearedRecord extends Where {
  pricePerKWh: bigint;
  matchedWh: bigint;
  retailPerKWh: bigint;
  feedInPerKWh: bigint;
  participants: number;
}

export interface IntervalRecord {
  interval: number;
  /** Where pass 1 started (first EntryCollected, or IntervalCleared with no participant). */
  collectStart?: number;
  closed?: Where;
  entries: EntryRecord[];
  cleared?: ClearedRecord;
  /** More than one IntervalCleared for this interval: a violation in itself. */
  clearedAgain: ClearedRecord[];
  /** Tariff in force by the rebuilt schedule at collection. */
  scheduledTariff?: TariffRecord;
  /** Market successor map at collection (old wallet -> new wallet). */
  successorsAtCollect: Map<string, string>;
  trades: TradeRecord[];
  settlements: SettlementRecord[];
  settled?: Where;
  /** Energy retired by this interval's `MemberSettled` events (self-supply + sold + grid
   *  export), per member key: the market retires by event, no token is burnt (issue 16). */
  retiredWh: Map<string, bigint>;
  settleTxs: Set<string>;
}

export interface TokenLedger {
  balances: Map<string, bigint>;
  minted: bigint;
  burned: bigint;
  /** Accounts whose rebuilt balance went below zero (impossible on a sound token). */
  negative: { account: string; pos: number; balance: bigint }[];
  /** Energy-token burns: the market rule burns none since issue 16 (it mints none either). */
  strayBurns: { account: string; wh: bigint; txHash: string }[];
}

export interface DepositLedger {
  balances: Map<string, bigint>;
  deposited: bigint;
  withdrawn: bigint;
  negative: { account: string; pos: number; balance: bigint; interval?: number }[];
  /** AccountMigrated whose `deposit` differs from the rebuilt balance of the old wallet. */
  migrationMismatches: { oldWallet: string; newWallet: string; event: bigint; rebuilt: bigint; pos: number }[];
  history: { pos: number; member: string; kind: "deposit" | "withdrawal" | "migration-in" | "migration-out" | "settlement"; amount: bigint; interval?: number }[];
}

export interface AuditState {
  addresses: Addresses;
  chainId: bigint;
  marketStart: number;
  intervalSeconds: number;
  fromBlock: number;
  cursor: number;
  events: number;
  members: Map<string, MemberRecord>;
  meters: Map<string, MeterRecord>;
  readings: ReadingRecord[];
  rejected: RejectedReading[];
  orders: Map<bigint, OrderRecord>;
  tariffs: TariffRecord[];
  deposits: DepositLedger;
  /**
   * Market wallet successors. The market keys accounts by member key (the first wallet) and its
   * events name the key, so no market account ever moves: this stays empty (kept for readers).
   */
  marketSuccessor: Map<string, string>;
  /** Member key (first wallet) of every wallet that migrated (registry.MemberMigrated). */
  memberKey: Map<string, string>;
  /** Current wallet of every member key whose member migrated. */
  walletOfKey: Map<string, string>;
  /** Member key of every position index (readings.MemberIndexAssigned). */
  keyOfIndex: Map<number, string>;
  /** The order book as the market holds it now: the latest order id per member key and side. */
  book: Map<string, { buy?: bigint; sell?: bigint }>;
  /**
   * Credits that reached the market's address, per transaction, beside what `Deposited` events
   * in the same transaction account for (`unaccounted` > 0: a transfer or mint to the market
   * that is no deposit — a donation, or a mistake).
   */
  creditInflows: { txHash: string; blockNumber: number; from: string[]; received: bigint; deposited: bigint }[];
  intervals: Map<number, IntervalRecord>;
  energy: TokenLedger;
  credit: TokenLedger;
  blockTimes: Map<number, number>;
}

const big = (v: string | boolean): bigint => BigInt(v as string);
const num = (v: string | boolean): number => Number(v as string);
const addr = (v: string | boolean): string => getAddress(v as string);

function emptyLedger(): TokenLedger {
  return { balances: new Map(), minted: 0n, burned: 0n, negative: [], strayBurns: [] };
}

/** Follows `successor` links from `account` to the last wallet. */
export function resolveWallet(successor: Map<string, string>, account: string): string {
  let current = account;
  for (let guard = 0; guard < 1000; guard++) {
    const next = successor.get(current);
    if (!next) return current;
    current = next;
  }
  return current;
}

/** The member key (first wallet) of `wallet` (`CommunityRegistry.memberKeyOf`). */
export function memberKeyOf(s: AuditState, wallet: string): string {
  return s.memberKey.get(wallet) ?? wallet;
}

/** The current wallet of the member with key `key` (`CommunityRegistry.walletOf`). */
export function walletOfKey(s: AuditState, key: string): string {
  return s.walletOfKey.get(key) ?? key;
}

/** Rebuilds the state from an indexed database. */
export function buildState(db: Database.Database): AuditState {
  const events = loadEvents(db);
  const addresses = {} as Addresses;
  for (const k of ["registry", "energy", "credit", "readings", "market"] as ContractKey[]) {
    addresses[k] = getMeta(db, `address.${k}`) ?? ZERO_ADDRESS;
  }
  const blockTimes = loadBlockTimes(db);
  const s: AuditState = {
    addresses,
    chainId: BigInt(getMeta(db, "chainId") ?? "0"),
    marketStart: Number(getMeta(db, "marketStart") ?? "0"),
    intervalSeconds: Number(getMeta(db, "intervalSeconds") ?? "900"),
    fromBlock: Number(getMeta(db, "fromBlock") ?? "0"),
    cursor: cursorOf(db) ?? -1,
    events: events.length,
    members: new Map(),
    meters: new Map(),
    readings: [],
    rejected: [],
    orders: new Map(),
    tariffs: [],
    deposits: { balances: new Map(), deposited: 0n, withdrawn: 0n, negative: [], migrationMismatches: [], history: [] },
    marketSuccessor: new Map(),
    memberKey: new Map(),
    walletOfKey: new Map(),
    keyOfIndex: new Map(),
    book: new Map(),
    creditInflows: [],
    intervals: new Map(),
    energy: emptyLedger(),
    credit: emptyLedger(),
    blockTimes,
  };
  replay(s, events);
  return s;
}

function intervalOf(s: AuditState, t: number): IntervalRecord {
  let rec = s.intervals.get(t);
  if (!rec) {
    rec = {
      interval: t,
      entries: [],
      clearedAgain: [],
      successorsAtCollect: new Map(),
      trades: [],
      settlements: [],
      retiredWh: new Map(),
      settleTxs: new Set(),
    };
    s.intervals.set(t, rec);
  }
  return rec;
}

/** The tariff the rebuilt schedule puts in force for `t`. */
export function tariffAt(tariffs: TariffRecord[], t: number): TariffRecord | undefined {
  let hit: TariffRecord | undefined;
  for (const x of tariffs) if (x.fromInterval <= t && (!hit || x.fromInterval >= hit.fromInterval)) hit = x;
  return hit;
}

function replay(s: AuditState, events: StoredEvent[]): void {
  // Orders by (member key, side): the book as the market sees it, every version with the
  // interval it applies from (id undefined: cancelled), oldest first.
  const book = new Map<string, { buy: { from: number; id?: bigint }[]; sell: { from: number; id?: bigint }[] }>();
  const versions = (member: string) => {
    let v = book.get(member);
    if (!v) book.set(member, (v = { buy: [], sell: [] }));
    return v;
  };
  const writeVersion = (list: { from: number; id?: bigint }[], from: number, id?: bigint) => {
    if (list.length && list[list.length - 1].from === from) list[list.length - 1].id = id;
    else list.push({ from, id });
  };
  // Cumulative deposits per member key by the interval they apply from (withdrawals not counted).
  const deposited = new Map<string, { from: number; cum: bigint }[]>();
  const intervalAtTime = (t: number) => (t < s.marketStart ? 0 : Math.floor((t - s.marketStart) / s.intervalSeconds));
  const inflowOf = (e: StoredEvent) => {
    let last = s.creditInflows[s.creditInflows.length - 1];
    if (!last || last.txHash !== e.txHash) s.creditInflows.push((last = { txHash: e.txHash, blockNumber: e.blockNumber, from: [], received: 0n, deposited: 0n }));
    return last;
  };
  const where = (e: StoredEvent): Where => ({ pos: posOf(e), blockNumber: e.blockNumber, txHash: e.txHash });
  const time = (e: StoredEvent) => s.blockTimes.get(e.blockNumber) ?? 0;

  const setStatus = (account: string, status: MemberStatusName, e: StoredEvent) => {
    const m = s.members.get(account);
    if (!m) return;
    m.status = status;
    m.history.push({ pos: posOf(e), blockNumber: e.blockNumber, status });
  };
  const depositAdd = (
    account: string,
    amount: bigint,
    e: StoredEvent,
    kind: DepositLedger["history"][number]["kind"],
    interval?: number,
  ) => {
    const d = s.deposits;
    const next = (d.balances.get(account) ?? 0n) + amount;
    d.balances.set(account, next);
    if (amount !== 0n) d.history.push({ pos: posOf(e), member: account, kind, amount, interval });
    if (next < 0n) d.negative.push({ account, pos: posOf(e), balance: next, interval });
  };
  const tokenMove = (ledger: TokenLedger, from: string, to: string, value: bigint, e: StoredEvent, energy: boolean) => {
    if (from === ZERO_ADDRESS) ledger.minted += value;
    else {
      const b = (ledger.balances.get(from) ?? 0n) - value;
      ledger.balances.set(from, b);
      if (b < 0n) ledger.negative.push({ account: from, pos: posOf(e), balance: b });
    }
    if (to === ZERO_ADDRESS) {
      ledger.burned += value;
      if (energy) ledger.strayBurns.push({ account: from, wh: value, txHash: e.txHash });
    } else ledger.balances.set(to, (ledger.balances.get(to) ?? 0n) + value);
  };

  for (const e of events) {
    const a = e.args;
    switch (`${e.contract}.${e.name}`) {
      // ------------------------------------------------------------ registry
      case "registry.MemberOnboarded": {
        const m = addr(a.member);
        s.members.set(m, {
          address: m,
          kind: num(a.kind),
          identityHash: a.identityHash as string,
          status: "Active",
          history: [{ pos: posOf(e), blockNumber: e.blockNumber, status: "Active" }],
        });
        break;
      }
      case "registry.MemberSuspended":
        setStatus(addr(a.member), "Suspended", e);
        break;
      case "registry.MemberReinstated":
        setStatus(addr(a.member), "Active", e);
        break;
      case "registry.MemberRemoved":
        setStatus(addr(a.member), "Removed", e);
        break;
      case "registry.MemberMigrated": {
        const oldW = addr(a.oldWallet);
        const newW = addr(a.newWallet);
        const old = s.members.get(oldW);
        const carried = old?.status ?? "Active";
        s.members.set(newW, {
          address: newW,
          kind: old?.kind ?? 0,
          identityHash: old?.identityHash ?? "",
          status: carried,
          history: [{ pos: posOf(e), blockNumber: e.blockNumber, status: carried }],
          migratedFrom: oldW,
        });
        if (old) old.migratedTo = newW;
        setStatus(oldW, "Migrated", e);
        const key = s.memberKey.get(oldW) ?? oldW;
        s.memberKey.set(newW, key);
        s.walletOfKey.set(key, newW);
        break;
      }
      case "registry.MeterRegistered": {
        const id = (a.meterId as string).toLowerCase();
        const owner = addr(a.owner);
        const signer = addr(a.signer);
        s.meters.set(id, {
          meterId: id,
          owner,
          signer,
          maxPowerW: num(a.maxPowerW),
          zone: num(a.zone),
          status: "Active",
          registered: where(e),
          signers: [{ pos: posOf(e), signer }],
          owners: [{ pos: posOf(e), owner }],
          registers: [{ pos: posOf(e), importWhTotal: big(a.importWhTotal), exportWhTotal: big(a.exportWhTotal) }],
        });
        break;
      }
      case "readings.MeterRegistersReset": {
        const m = s.meters.get((a.meterId as string).toLowerCase());
        if (m) m.registers.push({ pos: posOf(e), importWhTotal: big(a.importWhTotal), exportWhTotal: big(a.exportWhTotal) });
        break;
      }
      case "registry.MeterSignerRebound": {
        const m = s.meters.get((a.meterId as string).toLowerCase());
        if (m) {
          m.signer = addr(a.newSigner);
          m.signers.push({ pos: posOf(e), signer: m.signer });
        }
        break;
      }
      case "registry.MeterOwnerChanged": {
        const m = s.meters.get((a.meterId as string).toLowerCase());
        if (m) {
          m.owner = addr(a.newOwner);
          m.owners.push({ pos: posOf(e), owner: m.owner });
        }
        break;
      }
      case "registry.MeterRetired": {
        const m = s.meters.get((a.meterId as string).toLowerCase());
        if (m) {
          m.status = "Retired";
          m.retired = where(e);
        }
        break;
      }

      // ------------------------------------------------------------ tokens
      case "energy.Transfer":
        tokenMove(s.energy, addr(a.from), addr(a.to), big(a.value), e, true);
        break;
      case "credit.Transfer":
        tokenMove(s.credit, addr(a.from), addr(a.to), big(a.value), e, false);
        if (addr(a.to) === s.addresses.market) {
          const f = inflowOf(e);
          f.received += big(a.value);
          if (!f.from.includes(addr(a.from))) f.from.push(addr(a.from));
        }
        break;

      // ------------------------------------------------------------ readings
      case "readings.MemberIndexAssigned":
        s.keyOfIndex.set(num(a.index), addr(a.key));
        break;
      case "readings.ReadingAccepted": {
        const meterId = (a.meterId as string).toLowerCase();
        const memberIndex = num(a.memberIndex);
        s.readings.push({
          ...where(e),
          meterId,
          interval: num(a.interval),
          // The event names the member by its index; the owner is the registry's record.
          owner: s.meters.get(meterId)?.owner ?? "",
          memberIndex,
          memberKey: s.keyOfIndex.get(memberIndex) ?? "",
          r: a.r as string,
          vs: a.vs as string,
          importWhTotal: big(a.importWhTotal),
          exportWhTotal: big(a.exportWhTotal),
          importWh: big(a.importWh),
          exportWh: big(a.exportWh),
          unbookedImportWh: big(a.unbookedImportWh),
          unbookedExportWh: big(a.unbookedExportWh),
          timestamp: time(e),
        });
        break;
      }
      case "readings.ReadingRejected": {
        const code = num(a.reason);
        s.rejected.push({
          ...where(e),
          meterId: (a.meterId as string).toLowerCase(),
          interval: num(a.interval),
          reasonCode: code,
          reason: REJECT_REASONS[code] ?? `reason ${code}`,
          timestamp: time(e),
        });
        break;
      }
      case "readings.IntervalClosed":
        intervalOf(s, num(a.interval)).closed = where(e);
        break;

      // ------------------------------------------------------------ market
      case "market.Deposited": {
        inflowOf(e).deposited += big(a.amount);
        s.deposits.deposited += big(a.amount);
        depositAdd(addr(a.member), big(a.amount), e, "deposit");
        const list = deposited.get(addr(a.member)) ?? [];
        const from = intervalAtTime(time(e));
        const cum = (list.length ? list[list.length - 1].cum : 0n) + big(a.amount);
        if (list.length && list[list.length - 1].from === from) list[list.length - 1].cum = cum;
        else list.push({ from, cum });
        deposited.set(addr(a.member), list);
        break;
      }
      case "market.Withdrawn":
        s.deposits.withdrawn += big(a.amount);
        depositAdd(addr(a.member), -big(a.amount), e, "withdrawal");
        break;
      case "market.OrderPlaced": {
        const member = addr(a.member);
        const side = num(a.side) === 0 ? "buy" : "sell";
        const id = big(a.orderId);
        s.orders.set(id, {
          orderId: id,
          member,
          placedBy: member,
          side,
          limitPricePerKWh: big(a.limitPricePerKWh),
          capWhPerInterval: big(a.capWhPerInterval),
          firstInterval: num(a.firstInterval),
          lastInterval: num(a.lastInterval),
          placed: where(e),
        });
        writeVersion(versions(member)[side], num(a.fromInterval), id);
        break;
      }
      case "market.OrderCancelled": {
        const member = addr(a.member);
        const side = num(a.side) === 0 ? "buy" : "sell";
        const id = big(a.orderId);
        const o = s.orders.get(id);
        if (o) o.cancelled = where(e);
        const list = versions(member)[side];
        // A replacement's cancel is followed by the new version in the same interval.
        if (list.length && list[list.length - 1].id === id) writeVersion(list, num(a.fromInterval), undefined);
        break;
      }
      case "market.TariffScheduled": {
        const from = num(a.fromInterval);
        const rec: TariffRecord = { fromInterval: from, retailPerKWh: big(a.retailPerKWh), feedInPerKWh: big(a.feedInPerKWh), pos: posOf(e) };
        const i = s.tariffs.findIndex((x) => x.fromInterval === from);
        if (i >= 0) s.tariffs[i] = rec;
        else s.tariffs.push(rec);
        break;
      }
      case "market.AccountMigrated": {
        // The market's accounts are keyed by member key: nothing moves; the event reports the
        // member's deposit, which must match the rebuilt one.
        const oldW = addr(a.oldWallet);
        const newW = addr(a.newWallet);
        const amount = big(a.deposit);
        const key = memberKeyOf(s, newW);
        const rebuilt = s.deposits.balances.get(key) ?? 0n;
        if (rebuilt !== amount) {
          s.deposits.migrationMismatches.push({ oldWallet: oldW, newWallet: newW, event: amount, rebuilt, pos: posOf(e) });
        }
        break;
      }
      case "market.EntryCollected": {
        const t = num(a.interval);
        const rec = intervalOf(s, t);
        if (rec.collectStart === undefined) startCollect(s, rec, posOf(e));
        const member = addr(a.member); // the member key
        const v = versions(member);
        const liveOrders: OrderRecord[] = [];
        for (const side of ["buy", "sell"] as const) {
          // The version in force at the end of t (frozen inputs).
          let id: bigint | undefined;
          for (const x of v[side]) if (x.from <= t) id = x.id;
          const o = id === undefined ? undefined : s.orders.get(id);
          if (o && o.firstInterval <= t && t <= o.lastInterval) liveOrders.push({ ...o });
        }
        // What a bid may spend at t: the deposit now minus what was deposited after t ended.
        const dlist = deposited.get(member) ?? [];
        let cumAtT = 0n;
        for (const x of dlist) if (x.from <= t) cumAtT = x.cum;
        const later = (dlist.length ? dlist[dlist.length - 1].cum : 0n) - cumAtT;
        const depositNow = s.deposits.balances.get(member) ?? 0n;
        rec.entries.push({
          ...where(e),
          interval: t,
          member,
          tag: TAG_NAMES[num(a.tag)] ?? "None",
          orderId: big(a.orderId),
          qtyWh: big(a.qtyWh),
          pricePerKWh: big(a.pricePerKWh),
          importWh: big(a.importWh),
          exportWh: big(a.exportWh),
          availableCredits: big(a.availableCredits),
          statusAtCollect: s.members.get(walletOfKey(s, member))?.status ?? "None",
          liveOrders,
          depositAtCollect: depositNow > later ? depositNow - later : 0n,
        });
        break;
      }
      case "market.IntervalCleared": {
        const t = num(a.interval);
        const rec = intervalOf(s, t);
        if (rec.collectStart === undefined) startCollect(s, rec, posOf(e));
        const cleared: ClearedRecord = {
          ...where(e),
          pricePerKWh: big(a.pricePerKWh),
          matchedWh: big(a.matchedWh),
          retailPerKWh: big(a.retailPerKWh),
          feedInPerKWh: big(a.feedInPerKWh),
          participants: num(a.participants),
        };
        if (rec.cleared) rec.clearedAgain.push(cleared);
        else rec.cleared = cleared;
        break;
      }
      case "market.CollectionRestarted":
        // Pass 1 started again (a page had closed a side too early): the entries collected so
        // far, including those of the restarting transaction, no longer count. Where pass 1
        // first started (collectStart) stays: nothing the clearing reads changed since.
        intervalOf(s, num(a.interval)).entries = [];
        break;
      case "market.Traded":
        intervalOf(s, num(a.interval)).trades.push({
          ...where(e),
          interval: num(a.interval),
          seller: addr(a.seller),
          buyer: addr(a.buyer),
          wh: big(a.wh),
          pricePerKWh: big(a.pricePerKWh),
          credits: big(a.credits),
        });
        break;
      case "market.MemberSettled": {
        const t = num(a.interval);
        const st: SettlementRecord = {
          ...where(e),
          interval: t,
          member: addr(a.member),
          selfSupplyWh: big(a.selfSupplyWh),
          soldWh: big(a.soldWh),
          boughtWh: big(a.boughtWh),
          gridExportWh: big(a.gridExportWh),
          gridImportWh: big(a.gridImportWh),
          paidCredits: big(a.paidCredits),
          receivedCredits: big(a.receivedCredits),
        };
        const rec = intervalOf(s, t);
        rec.settlements.push(st);
        // The settlement retires the member's whole export of t (issue 16: by event, no burn).
        rec.retiredWh.set(st.member, (rec.retiredWh.get(st.member) ?? 0n) + st.selfSupplyWh + st.soldWh + st.gridExportWh);
        depositAdd(st.member, st.receivedCredits - st.paidCredits, e, "settlement", t);
        break;
      }
      case "market.PageSettled": {
        const t = num(a.interval);
        intervalOf(s, t).settleTxs.add(e.txHash);
        break;
      }
      case "market.IntervalSettled":
        intervalOf(s, num(a.interval)).settled = where(e);
        break;
      default:
        break;
    }
  }
  // The book as the market holds it now: the latest version per member key and side.
  for (const [member, v] of book) {
    s.book.set(member, { buy: v.buy[v.buy.length - 1]?.id, sell: v.sell[v.sell.length - 1]?.id });
  }
}

function startCollect(s: AuditState, rec: IntervalRecord, pos: number): void {
  rec.collectStart = pos;
  rec.successorsAtCollect = new Map(s.marketSuccessor);
  const t = tariffAt(s.tariffs, rec.interval);
  rec.scheduledTariff = t ? { ...t } : undefined;
}

/** The value in force at `pos` from a history of (pos, value), or undefined before the first. */
export function valueAt<T>(history: { pos: number }[], pos: number, pick: (h: never) => T): T | undefined {
  let hit: T | undefined;
  for (const h of history) {
    if (h.pos <= pos) hit = pick(h as never);
    else break;
  }
  return hit;
}

/** A member's registry status at `pos`. */
export function statusAt(s: AuditState, member: string, pos: number): MemberStatusName {
  const m = s.members.get(member);
  if (!m) return "None";
  return valueAt(m.history, pos, (h: { status: MemberStatusName }) => h.status) ?? "None";
}

/** Every wallet of the person behind `address` (registry migrations both ways), oldest first. */
export function walletsOf(s: AuditState, address: string): string[] {
  let first = getAddress(address);
  for (let guard = 0; guard < 1000; guard++) {
    const prev = s.members.get(first)?.migratedFrom;
    if (!prev) break;
    first = prev;
  }
  const out = [first];
  let cur = first;
  for (let guard = 0; guard < 1000; guard++) {
    const next = s.members.get(cur)?.migratedTo;
    if (!next) break;
    out.push(next);
    cur = next;
  }
  return out;
}

/** Unix time of the start of interval `t`. */
export function intervalStart(s: AuditState, t: number): number {
  return s.marketStart + t * s.intervalSeconds;
}

/** Accepted readings of interval `t`, in chain order. */
export function readingsOf(s: AuditState, t: number): ReadingRecord[] {
  return s.readings.filter((r) => r.interval === t);
}

/**
 * The participants of `t` (member keys of the owners with non-zero metered energy) and their positions, in the
 * order their first reading was accepted: exactly what `MeterReadings.positionOf` holds.
 */
export function positionsOf(s: AuditState, t: number): Map<string, { importWh: bigint; exportWh: bigint }> {
  const out = new Map<string, { importWh: bigint; exportWh: bigint }>();
  for (const r of readingsOf(s, t)) {
    if (r.importWh === 0n && r.exportWh === 0n) continue;
    // Positions belong to the member (its key, named by the event's index), whatever wallet read the meter.
    const key = r.memberKey || memberKeyOf(s, r.owner);
    const p = out.get(key) ?? { importWh: 0n, exportWh: 0n };
    p.importWh += r.importWh;
    p.exportWh += r.exportWh;
    out.set(key, p);
  }
  return out;
}
