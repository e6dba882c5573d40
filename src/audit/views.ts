/**
 * State drift: what the auditor rebuilt from events, compared with every public view of the
 * contracts at the audited block (the index cursor). A storage change without an event (a
 * contract bug, a tampered node) shows here even when the events agree with each other.
 *
 * Compared: `EnergyMarket.depositOf`, `orderOf` (both sides), `intervalState(t).phase` for every
 * interval the events touch, `nextInterval`; `balanceOf` of both tokens for every account the
 * events name, and `totalSupply`; `MeterReadings.meterState` for every registered meter.
 *
 * The one place that maps rebuilt state to the views is `expectedViews`: when events change
 * (new fields, frozen orders), only it changes.
 */
import { Contract, Provider } from "ethers";
import { INTERFACES } from "./abi";
import { memberKeyOf, type AuditState } from "./state";
import type { Violation } from "./verify";

/** Phases of `IEnergyMarket.Phase`. */
export const PHASES = ["Open", "Collecting", "Settling", "Settled"] as const;

interface OrderView {
  orderId: bigint;
  limitPricePerKWh: bigint;
  capWhPerInterval: bigint;
  firstInterval: number;
  lastInterval: number;
}

const NO_ORDER: OrderView = { orderId: 0n, limitPricePerKWh: 0n, capWhPerInterval: 0n, firstInterval: 0, lastInterval: 0 };

/** What every view should return at the audited block, from the rebuilt state alone. */
export function expectedViews(s: AuditState) {
  // The market keys accounts by member key (the first wallet); its views accept the key or any
  // wallet of the member, so every wallet expects its member's figures.
  const deposits = new Map(s.deposits.balances);
  for (const m of s.members.keys()) deposits.set(m, s.deposits.balances.get(memberKeyOf(s, m)) ?? 0n);
  const orders = new Map<string, { buy: OrderView; sell: OrderView }>();
  const orderView = (id: bigint | undefined): OrderView => {
    const o = id === undefined ? undefined : s.orders.get(id);
    return o ? { orderId: o.orderId, limitPricePerKWh: o.limitPricePerKWh, capWhPerInterval: o.capWhPerInterval, firstInterval: o.firstInterval, lastInterval: o.lastInterval } : NO_ORDER;
  };
  for (const m of new Set([...s.members.keys(), ...s.book.keys()])) {
    const slot = s.book.get(memberKeyOf(s, m)) ?? {};
    orders.set(m, { buy: orderView(slot.buy), sell: orderView(slot.sell) });
  }
  const accounts = new Set<string>([...s.members.keys(), s.addresses.market]);
  const energy = new Map<string, bigint>();
  const credit = new Map<string, bigint>();
  for (const a of new Set([...accounts, ...s.energy.balances.keys()])) energy.set(a, s.energy.balances.get(a) ?? 0n);
  for (const a of new Set([...accounts, ...s.credit.balances.keys()])) credit.set(a, s.credit.balances.get(a) ?? 0n);
  const phases = new Map<number, (typeof PHASES)[number]>();
  let lastSettled: number | undefined;
  for (const rec of s.intervals.values()) {
    if (rec.settled) {
      phases.set(rec.interval, "Settled");
      lastSettled = Math.max(lastSettled ?? rec.interval, rec.interval);
    } else if (rec.cleared) phases.set(rec.interval, "Settling");
    else if (rec.collectStart !== undefined) phases.set(rec.interval, "Collecting");
  }
  // The first interval the market clears is a constructor argument (no event): known once one settled.
  const nextInterval = lastSettled === undefined ? undefined : lastSettled + 1;
  if (nextInterval !== undefined && !phases.has(nextInterval)) phases.set(nextInterval, "Open");
  // A meter's registers: the latest of its registration, its resets (MeterRegistersReset) and its
  // accepted readings; `hasReading` and `lastInterval` only when that latest is a reading.
  const meters = new Map<string, { lastInterval: number; importWhTotal: bigint; exportWhTotal: bigint; hasReading: boolean; pos: number }>();
  for (const [id, m] of s.meters) {
    for (const g of m.registers) {
      const cur = meters.get(id);
      if (!cur || g.pos > cur.pos) meters.set(id, { lastInterval: 0, importWhTotal: g.importWhTotal, exportWhTotal: g.exportWhTotal, hasReading: false, pos: g.pos });
    }
    if (!meters.has(id)) meters.set(id, { lastInterval: 0, importWhTotal: 0n, exportWhTotal: 0n, hasReading: false, pos: -1 });
  }
  for (const r of s.readings) {
    const cur = meters.get(r.meterId);
    if (!cur || r.pos > cur.pos) meters.set(r.meterId, { lastInterval: r.interval, importWhTotal: r.importWhTotal, exportWhTotal: r.exportWhTotal, hasReading: true, pos: r.pos });
  }
  return {
    deposits,
    orders,
    energy,
    credit,
    energySupply: s.energy.minted - s.energy.burned,
    creditSupply: s.credit.minted - s.credit.burned,
    phases,
    nextInterval,
    meters,
  };
}

/** Compares the rebuilt state with the contracts' views at `blockTag` (default: the index cursor). */
export async function checkViews(s: AuditState, provider: Provider, blockTag: number = s.cursor): Promise<Violation[]> {
  const out: Violation[] = [];
  if (blockTag < 0) return out;
  const x = expectedViews(s);
  const market = new Contract(s.addresses.market, INTERFACES.market, provider);
  const energy = new Contract(s.addresses.energy, INTERFACES.energy, provider);
  const credit = new Contract(s.addresses.credit, INTERFACES.credit, provider);
  const readings = new Contract(s.addresses.readings, INTERFACES.readings, provider);
  const at = { blockTag };
  const diff = (what: string, ctx: Partial<Violation>, actual: bigint | string, expected: bigint | string) => {
    if (actual === expected) return;
    const d = typeof actual === "bigint" && typeof expected === "bigint" ? actual - expected : undefined;
    out.push({
      check: "state",
      ...ctx,
      actual: String(actual),
      expected: String(expected),
      difference: d === undefined ? undefined : d > 0n ? `+${d}` : `${d}`,
      message: `block ${blockTag}: ${what} is ${actual} on chain but the events say ${expected}${d === undefined ? "" : ` (difference ${d > 0n ? "+" : ""}${d})`}: state changed without an event`,
    });
  };
  // A bounded number of calls in flight.
  const tasks: (() => Promise<void>)[] = [];
  for (const [m, v] of x.deposits) tasks.push(async () => diff(`market depositOf(${m})`, { member: m }, (await market.depositOf(m, at)) as bigint, v));
  for (const [m, v] of x.energy) tasks.push(async () => diff(`EnergyToken balanceOf(${m}) (Wh)`, { member: m }, (await energy.balanceOf(m, at)) as bigint, v));
  for (const [m, v] of x.credit) tasks.push(async () => diff(`CommunityCredit balanceOf(${m})`, { member: m }, (await credit.balanceOf(m, at)) as bigint, v));
  tasks.push(async () => diff("EnergyToken totalSupply (Wh)", {}, (await energy.totalSupply(at)) as bigint, x.energySupply));
  tasks.push(async () => diff("CommunityCredit totalSupply", {}, (await credit.totalSupply(at)) as bigint, x.creditSupply));
  for (const [m, sides] of x.orders) {
    for (const [side, code] of [["buy", 0], ["sell", 1]] as const) {
      tasks.push(async () => {
        const o = await market.orderOf(m, code, at);
        const got = `id ${o.orderId} limit ${o.limitPricePerKWh}/kWh cap ${o.capWhPerInterval} Wh intervals ${o.firstInterval}..${o.lastInterval}`;
        const e = sides[side];
        const want = `id ${e.orderId} limit ${e.limitPricePerKWh}/kWh cap ${e.capWhPerInterval} Wh intervals ${e.firstInterval}..${e.lastInterval}`;
        diff(`market orderOf(${m}, ${side})`, { member: m }, got, want);
      });
    }
  }
  for (const [t, phase] of x.phases) {
    tasks.push(async () => {
      const st = await market.intervalState(t, at);
      diff(`market intervalState(${t}).phase`, { interval: t }, PHASES[Number(st.phase)] ?? `phase ${st.phase}`, phase);
    });
  }
  if (x.nextInterval !== undefined) {
    const want = x.nextInterval;
    tasks.push(async () => diff("market nextInterval", {}, BigInt(await market.nextInterval(at)), BigInt(want)));
  }
  for (const [id, m] of x.meters) {
    tasks.push(async () => {
      const v = await readings.meterState(id, at);
      const got = `last interval ${v.lastInterval}, import ${v.importWhTotal} Wh, export ${v.exportWhTotal} Wh, read ${v.hasReading}`;
      const want = `last interval ${m.lastInterval}, import ${m.importWhTotal} Wh, export ${m.exportWhTotal} Wh, read ${m.hasReading}`;
      diff(`MeterReadings meterState(${id})`, { meterId: id }, got, want);
    });
  }
  for (let i = 0; i < tasks.length; i += 16) await Promise.all(tasks.slice(i, i + 16).map((f) => f()));
  return out;
}
