/**
 * The auditor's checks on a rebuilt state. Every violation names what it is about (interval,
 * member, meter) and the difference between what the chain says and what it should say.
 *
 * - energy (issue 16: readings mint no token, settlements burn none): no energy token minted,
 *   burnt or held; per interval and member, the export `MemberSettled` retires (self-supply +
 *   sold + grid export) == the accepted exports;
 * - credits: the market's credit balance == deposits - withdrawals == sum of rebuilt deposits;
 *   per interval, credits paid == credits received == sum of fills == floor(matched Wh * price
 *   / 1000) (the rule's cumulative rounding); no deposit below zero;
 * - readings: every accepted reading's EIP-712 signature (the event's `r`, `vs`, over the
 *   event's registers) recovers to the meter's signer registered at that block; no (meter,
 *   interval) twice; intervals increasing and registers monotonic per meter; deltas ==
 *   differences of totals; the member index named is the key of the meter's owner then;
 * - clearing: every cleared interval re-cleared with `clearMarketInterval` from the indexed
 *   positions, statuses and orders at collection, `availableCredits` and tariffs gives exactly
 *   the collected entries, the price, the matched volume, the fills in order and every
 *   member's settlement;
 * - tariffs: the tariffs an interval was cleared at are the ones the schedule put in force,
 *   and every fill price lies within them.
 */
import { verifyTypedData } from "ethers";
import { clearInterval as clearMarketInterval, ClearingInput, ClearingOrder, ClearingResult } from "../sdk/clearing";
import { READING_TYPES, readingSignature, readingsDomain } from "../sdk/eip712";
import {
  AuditState,
  IntervalRecord,
  positionsOf,
  walletOfKey,
  memberKeyOf,
  resolveWallet,
  valueAt,
  statusAt,
} from "./state";
import { ZERO_ADDRESS } from "./abi";

export type CheckKind = "energy" | "credits" | "reading" | "signature" | "clearing" | "entry" | "fill" | "settlement" | "tariff" | "index" | "state";

/** Something an auditor should know that is not a violation (for instance credits given to the market). */
export interface AuditNote {
  kind: "surplus";
  message: string;
  /** Credit base units. */
  amount: bigint;
  /** The transactions that brought it: credits that reached the market beyond the deposits they made. */
  origins: { txHash: string; blockNumber: number; from: string[]; credits: bigint }[];
}

/**
 * Notes on a rebuilt state: a surplus of credits in the market (its balance above the sum of
 * the deposits), with its amount and the transfers that made it. Nobody can withdraw a
 * surplus and it pays no member, so it breaks no invariant a member relies on.
 */
export function notesOf(s: AuditState): AuditNote[] {
  const balance = s.credit.balances.get(s.addresses.market) ?? 0n;
  let sum = 0n;
  for (const b of s.deposits.balances.values()) sum += b;
  if (balance <= sum) return [];
  const origins = s.creditInflows
    .filter((f) => f.received > f.deposited)
    .map((f) => ({ txHash: f.txHash, blockNumber: f.blockNumber, from: f.from, credits: f.received - f.deposited }));
  const amount = balance - sum;
  const list = origins.map((o) => `${o.credits} from ${o.from.join(", ")} (tx ${o.txHash}, block ${o.blockNumber})`).join("; ");
  return [
    {
      kind: "surplus",
      amount,
      origins,
      message: `the market holds ${amount} credit base units more than the members' deposits (not a violation: nobody can withdraw them): ${list || "no transfer explains it"}`,
    },
  ];
}

export interface Violation {
  check: CheckKind;
  interval?: number;
  member?: string;
  meterId?: string;
  /** What the chain says. */
  actual?: string;
  /** What it should be (by the rule or by the other ledger). */
  expected?: string;
  /** `actual - expected` where both are numbers. */
  difference?: string;
  message: string;
}

const signed = (d: bigint) => (d > 0n ? `+${d}` : `${d}`);

function numeric(
  out: Violation[],
  check: CheckKind,
  ctx: { interval?: number; member?: string; meterId?: string },
  what: string,
  actual: bigint,
  expected: bigint,
  ruleName = "the rule says",
): void {
  if (actual === expected) return;
  const prefix = [
    ctx.interval !== undefined ? `interval ${ctx.interval}` : undefined,
    ctx.member ? `member ${ctx.member}` : undefined,
    ctx.meterId ? `meter ${ctx.meterId}` : undefined,
  ]
    .filter(Boolean)
    .join(": ");
  out.push({
    check,
    ...ctx,
    actual: actual.toString(),
    expected: expected.toString(),
    difference: signed(actual - expected),
    message: `${prefix ? prefix + ": " : ""}${what} ${actual} but ${ruleName} ${expected} (difference ${signed(actual - expected)})`,
  });
}

function note(out: Violation[], check: CheckKind, ctx: { interval?: number; member?: string; meterId?: string }, message: string): void {
  out.push({ check, ...ctx, message });
}

export interface VerifyOptions {
  /** Skip the signature checks (they need no chain, but cost one ecrecover per reading). */
  signatures?: boolean;
  /** Only intervals in [from, to]. */
  fromInterval?: number;
  toInterval?: number;
}

/** Runs every check; an empty list means the ledger is sound. */
export function verifyState(s: AuditState, options: VerifyOptions = {}): Violation[] {
  const out: Violation[] = [];
  checkReadings(s, out, options.signatures ?? true);
  checkEnergy(s, out);
  checkCredits(s, out);
  for (const rec of [...s.intervals.values()].sort((a, b) => a.interval - b.interval)) {
    if (options.fromInterval !== undefined && rec.interval < options.fromInterval) continue;
    if (options.toInterval !== undefined && rec.interval > options.toInterval) continue;
    checkInterval(s, rec, out);
  }
  return out;
}

// ---------------------------------------------------------------- readings

function checkReadings(s: AuditState, out: Violation[], signatures: boolean): void {
  const seen = new Set<string>();
  const last = new Map<string, { pos: number; interval: number; importWhTotal: bigint; exportWhTotal: bigint }>();
  const domain = readingsDomain(s.chainId, s.addresses.readings);
  for (const r of s.readings) {
    const ctx = { interval: r.interval, meterId: r.meterId };
    const key = `${r.meterId}:${r.interval}`;
    if (seen.has(key)) note(out, "reading", ctx, `interval ${r.interval}: meter ${r.meterId} has a second accepted reading (tx ${r.txHash})`);
    seen.add(key);

    const meter = s.meters.get(r.meterId);
    if (!meter || meter.registered.pos > r.pos) {
      note(out, "reading", ctx, `interval ${r.interval}: meter ${r.meterId} was not registered when its reading was accepted (tx ${r.txHash})`);
      continue;
    }
    if (meter.retired && meter.retired.pos < r.pos) {
      note(out, "reading", ctx, `interval ${r.interval}: meter ${r.meterId} was retired when its reading was accepted`);
    }
    // The event names the member by its position index: it must be the key of the meter's owner then.
    const owner = valueAt(meter.owners, r.pos, (h: { owner: string }) => h.owner) ?? r.owner;
    if (!r.memberKey) {
      note(out, "reading", { ...ctx, member: owner }, `interval ${r.interval}: meter ${r.meterId} reading is booked to member index ${r.memberIndex}, which no MemberIndexAssigned event gave to a member`);
    } else if (memberKeyOf(s, owner) !== r.memberKey) {
      note(out, "reading", { ...ctx, member: owner }, `interval ${r.interval}: meter ${r.meterId} reading is booked to member index ${r.memberIndex} (member ${r.memberKey}) but the meter belonged to ${owner} (member ${memberKeyOf(s, owner)})`);
    }
    const status = statusAt(s, owner, r.pos);
    if (status !== "Active") {
      note(out, "reading", { ...ctx, member: owner }, `interval ${r.interval}: meter ${r.meterId} reading accepted while its owner ${owner} was ${status}`);
    }

    // The registers this reading is measured from: the meter's previous reading, or its
    // registration / last reset when that came later.
    const lastReading = last.get(r.meterId);
    const set = [...meter.registers].reverse().find((g) => g.pos < r.pos);
    const fromSet = set !== undefined && (!lastReading || set.pos > lastReading.pos);
    const prev = fromSet ? { interval: -1, importWhTotal: set.importWhTotal, exportWhTotal: set.exportWhTotal } : lastReading;
    if (prev) {
      if (r.interval <= prev.interval) {
        note(out, "reading", ctx, `interval ${r.interval}: meter ${r.meterId} reading is not after its previous one (interval ${prev.interval})`);
      }
      if (r.importWhTotal < prev.importWhTotal || r.exportWhTotal < prev.exportWhTotal) {
        note(
          out,
          "reading",
          ctx,
          `interval ${r.interval}: meter ${r.meterId} registers went backwards: import ${prev.importWhTotal} -> ${r.importWhTotal}, export ${prev.exportWhTotal} -> ${r.exportWhTotal}`,
        );
      } else {
        numeric(out, "reading", ctx, "import delta", r.importWh + r.unbookedImportWh, r.importWhTotal - prev.importWhTotal, "the registers say");
        numeric(out, "reading", ctx, "export delta", r.exportWh + r.unbookedExportWh, r.exportWhTotal - prev.exportWhTotal, "the registers say");
      }
    }
    last.set(r.meterId, { pos: r.pos, interval: r.interval, importWhTotal: r.importWhTotal, exportWhTotal: r.exportWhTotal });

    if (!signatures) continue;
    const signer = valueAt(meter.signers, r.pos, (h: { signer: string }) => h.signer);
    let recovered: string;
    try {
      // The event's own signature over the registers it states: however the batch was submitted.
      recovered = verifyTypedData(
        domain,
        READING_TYPES,
        { meterId: r.meterId, interval: r.interval, importWhTotal: r.importWhTotal, exportWhTotal: r.exportWhTotal },
        readingSignature(r.r, r.vs),
      );
    } catch (e) {
      note(out, "signature", ctx, `interval ${r.interval}: meter ${r.meterId} reading signature is malformed: ${(e as Error).message}`);
      continue;
    }
    if (recovered !== signer) {
      note(
        out,
        "signature",
        ctx,
        `interval ${r.interval}: meter ${r.meterId} reading is signed by ${recovered} but the meter's signer at block ${r.blockNumber} was ${signer}`,
      );
    }
  }
}

// ---------------------------------------------------------------- energy

function checkEnergy(s: AuditState, out: Violation[]): void {
  const e = s.energy;
  // Issue 16: readings mint nothing and settlements burn nothing; `MemberSettled` retires.
  numeric(out, "energy", {}, "energy tokens minted", e.minted, 0n, "the market rule mints");
  let held = 0n;
  for (const b of e.balances.values()) held += b;
  numeric(out, "energy", {}, "energy tokens minted - retired", e.minted - e.burned, held, "balances held are");
  for (const n of e.negative) note(out, "energy", { member: n.account }, `member ${n.account}: energy balance went to ${n.balance}`);
  for (const b of e.strayBurns) {
    note(out, "energy", { member: b.account }, `member ${b.account}: ${b.wh} energy tokens burnt (the market rule burns none; tx ${b.txHash})`);
  }
  for (const [a, b] of e.balances) {
    if (b !== 0n) numeric(out, "energy", { member: a }, "holds energy tokens", b, 0n, "the market rule mints");
  }

  // Per interval: retired by the settlement's MemberSettled events == accepted exports.
  for (const rec of s.intervals.values()) {
    if (!rec.settled) continue;
    const exportedT = positionsSum(s, rec.interval);
    let retired = 0n;
    for (const v of rec.retiredWh.values()) retired += v;
    numeric(out, "energy", { interval: rec.interval }, "energy retired at settlement", retired, exportedT, "accepted exports are");
  }
}

function positionsSum(s: AuditState, t: number): bigint {
  let sum = 0n;
  for (const p of positionsOf(s, t).values()) sum += p.exportWh;
  return sum;
}

// ---------------------------------------------------------------- credits

function checkCredits(s: AuditState, out: Violation[]): void {
  const market = s.addresses.market;
  const d = s.deposits;
  const balance = s.credit.balances.get(market) ?? 0n;
  let sum = 0n;
  for (const b of d.balances.values()) sum += b;
  numeric(out, "credits", {}, "the members' rebuilt deposits are", sum, d.deposited - d.withdrawn, "deposits - withdrawals are");
  // Less than the deposits: the market cannot pay its members back (a violation). More: someone
  // sent credits to the market without depositing them (a note, see `notesOf`).
  if (balance < sum) numeric(out, "credits", {}, "the market's credit balance is", balance, sum, "the members' rebuilt deposits are");
  for (const n of d.negative) {
    note(out, "credits", { member: n.account, interval: n.interval }, `${n.interval !== undefined ? `interval ${n.interval}: ` : ""}member ${n.account}: deposit went to ${n.balance}`);
  }
  for (const m of d.migrationMismatches) {
    numeric(out, "credits", { member: m.oldWallet }, `deposit moved to ${m.newWallet} is`, m.event, m.rebuilt, "the rebuilt deposit is");
  }
  for (const n of s.credit.negative) note(out, "credits", { member: n.account }, `member ${n.account}: credit balance went to ${n.balance}`);
  for (const rec of s.intervals.values()) {
    let paid = 0n;
    let received = 0n;
    let fills = 0n;
    for (const st of rec.settlements) {
      paid += st.paidCredits;
      received += st.receivedCredits;
    }
    for (const tr of rec.trades) fills += tr.credits;
    numeric(out, "credits", { interval: rec.interval }, "credits paid", paid, received, "credits received are");
    numeric(out, "credits", { interval: rec.interval }, "credits paid", paid, fills, "the fills add up to");
    // Cumulative rounding: buyers together pay floor(matched Wh * price / 1000); the sub-unit
    // rest (roundingMilliCredits, in the summary's gainsOfTrade) stays with the buyers.
    if (rec.settled && rec.cleared) {
      const owed = (rec.cleared.matchedWh * rec.cleared.pricePerKWh) / 1000n;
      numeric(out, "credits", { interval: rec.interval }, "credits paid", paid, owed, "floor(matched Wh * price / 1000) is");
    }
  }
}

// ---------------------------------------------------------------- clearing

/** The reference clearing's input for a collected interval, from the indexed data. */
export function clearingInputOf(s: AuditState, rec: IntervalRecord): { input: ClearingInput; walletOf: Map<string, string> } {
  const t = rec.interval;
  const positions = positionsOf(s, t);
  const members: ClearingInput["members"] = [];
  const orders: ClearingOrder[] = [];
  const walletOf = new Map<string, string>();
  const entryBy = new Map(rec.entries.map((e) => [e.member, e]));
  for (const [participant, p] of positions) {
    const wallet = resolveWallet(rec.successorsAtCollect, participant);
    walletOf.set(participant, wallet);
    const entry = entryBy.get(wallet);
    members.push({
      member: participant,
      importWh: p.importWh,
      exportWh: p.exportWh,
      active: (entry?.statusAtCollect ?? statusAt(s, walletOfKey(s, wallet), rec.collectStart ?? 0)) === "Active",
      availableCredits: entry?.availableCredits ?? 0n,
    });
    for (const o of entry?.liveOrders ?? []) {
      orders.push({ orderId: o.orderId, member: participant, side: o.side, limitPricePerKWh: o.limitPricePerKWh, capWhPerInterval: o.capWhPerInterval });
    }
  }
  orders.sort((a, b) => (a.orderId < b.orderId ? -1 : a.orderId > b.orderId ? 1 : 0));
  const retail = rec.cleared?.retailPerKWh ?? rec.scheduledTariff?.retailPerKWh ?? 0n;
  const feedIn = rec.cleared?.feedInPerKWh ?? rec.scheduledTariff?.feedInPerKWh ?? 0n;
  return { input: { interval: t, retailTariffPerKWh: retail, feedInTariffPerKWh: feedIn, members, orders }, walletOf };
}

/** Re-clears a collected interval; undefined when it was not cleared yet. */
export function reclear(s: AuditState, rec: IntervalRecord): { result: ClearingResult; walletOf: Map<string, string> } | undefined {
  if (!rec.cleared) return undefined;
  const { input, walletOf } = clearingInputOf(s, rec);
  return { result: clearMarketInterval(input), walletOf };
}

function checkInterval(s: AuditState, rec: IntervalRecord, out: Violation[]): void {
  const t = rec.interval;
  const ctx = { interval: t };
  for (const again of rec.clearedAgain) note(out, "clearing", ctx, `interval ${t}: cleared a second time (tx ${again.txHash})`);
  if (!rec.cleared) {
    if (rec.entries.length || rec.trades.length || rec.settlements.length) {
      note(out, "clearing", ctx, `interval ${t}: has entries or settlements but was never cleared (collection not finished yet?)`);
    }
    return;
  }
  const c = rec.cleared;

  // Tariffs in force.
  const sched = rec.scheduledTariff;
  if (!sched) note(out, "tariff", ctx, `interval ${t}: cleared but no tariff was ever scheduled`);
  else {
    numeric(out, "tariff", ctx, "cleared at retail tariff", c.retailPerKWh, sched.retailPerKWh, "the schedule says");
    numeric(out, "tariff", ctx, "cleared at feed-in tariff", c.feedInPerKWh, sched.feedInPerKWh, "the schedule says");
  }
  const lo = sched?.feedInPerKWh ?? c.feedInPerKWh;
  const hi = sched?.retailPerKWh ?? c.retailPerKWh;
  rec.trades.forEach((tr, i) => {
    if (tr.pricePerKWh < lo || tr.pricePerKWh > hi) {
      note(out, "tariff", { interval: t, member: tr.seller }, `interval ${t}: fill ${i} (seller ${tr.seller}, buyer ${tr.buyer}) price ${tr.pricePerKWh} outside the tariffs [${lo}, ${hi}]`);
    }
  });

  let re: ReturnType<typeof reclear>;
  try {
    re = reclear(s, rec);
  } catch (e) {
    note(out, "clearing", ctx, `interval ${t}: cannot be re-cleared from the indexed data: ${(e as Error).message}`);
    return;
  }
  if (!re) return;
  const { result, walletOf } = re;
  const finalOf = (a: string) => resolveWallet(s.marketSuccessor, a);

  // Participants and collected entries.
  numeric(out, "clearing", ctx, "participants", BigInt(c.participants), BigInt(walletOf.size), "the accepted readings give");
  const entryBy = new Map(rec.entries.map((e) => [e.member, e]));
  const expectedWallets = new Set(walletOf.values());
  for (const e of rec.entries) {
    if (!expectedWallets.has(e.member)) note(out, "entry", { interval: t, member: e.member }, `interval ${t}: member ${e.member} was collected but has no metered energy in the interval`);
  }
  const askBy = new Map(result.asks.map((x) => [x.member, x]));
  const bidBy = new Map(result.bids.map((x) => [x.member, x]));
  for (const m of result.members) {
    const wallet = walletOf.get(m.member)!;
    const e = entryBy.get(wallet);
    const mctx = { interval: t, member: wallet };
    if (!e) {
      note(out, "entry", mctx, `interval ${t}: member ${wallet} has metered energy but was never collected`);
      continue;
    }
    const ask = askBy.get(m.member);
    const bid = bidBy.get(m.member);
    const tag = ask ? "Ask" : bid ? "Bid" : "None";
    const x = ask ?? bid;
    if (e.tag !== tag) note(out, "entry", mctx, `interval ${t}: member ${wallet} was collected as ${e.tag} but the rule says ${tag}`);
    numeric(out, "entry", mctx, "entry quantity (Wh)", e.qtyWh, x?.qtyWh ?? 0n);
    numeric(out, "entry", mctx, "entry price per kWh", e.pricePerKWh, x?.pricePerKWh ?? 0n);
    numeric(out, "entry", mctx, "entry order id", e.orderId, x?.orderId ?? 0n);
    numeric(out, "entry", mctx, "entry import (Wh)", e.importWh, m.importWh, "the readings say");
    numeric(out, "entry", mctx, "entry export (Wh)", e.exportWh, m.exportWh, "the readings say");
    // The credits the contract let the bid spend: the rebuilt deposit when the member had a live
    // buy order on a net import, else zero.
    const buyLive = e.liveOrders.some((o) => o.side === "buy");
    const expectAvail = m.active && m.netImportWh > 0n && buyLive ? e.depositAtCollect : 0n;
    numeric(out, "entry", mctx, "available credits", e.availableCredits, expectAvail, "the rebuilt deposit ledger says");
  }

  // Price, volume, fills.
  numeric(out, "clearing", ctx, "clearing price", c.pricePerKWh, result.pricePerKWh);
  numeric(out, "clearing", ctx, "matched Wh", c.matchedWh, result.matchedWh);
  const n = Math.max(result.fills.length, rec.trades.length);
  for (let i = 0; i < n; i++) {
    const f = result.fills[i];
    const tr = rec.trades[i];
    if (!f) {
      note(out, "fill", { interval: t, member: tr.seller }, `interval ${t}: fill ${i} (seller ${tr.seller} -> buyer ${tr.buyer}, ${tr.wh} Wh, ${tr.credits} credits) is not in the rule's result`);
      continue;
    }
    const seller = walletOf.get(f.seller)!;
    const buyer = walletOf.get(f.buyer)!;
    if (!tr) {
      note(out, "fill", { interval: t, member: seller }, `interval ${t}: the rule's fill ${i} (seller ${seller} -> buyer ${buyer}, ${f.wh} Wh, ${f.costCredits} credits) is missing on chain`);
      continue;
    }
    if (finalOf(tr.seller) !== finalOf(seller) || finalOf(tr.buyer) !== finalOf(buyer)) {
      note(out, "fill", { interval: t, member: tr.seller }, `interval ${t}: fill ${i} is seller ${tr.seller} -> buyer ${tr.buyer} but the rule says seller ${seller} -> buyer ${buyer}`);
    }
    const fctx = { interval: t, member: buyer };
    numeric(out, "fill", fctx, `fill ${i} (seller ${seller} -> buyer ${buyer}) Wh`, tr.wh, f.wh);
    numeric(out, "fill", fctx, `fill ${i} (seller ${seller} -> buyer ${buyer}) price per kWh`, tr.pricePerKWh, result.pricePerKWh);
    numeric(out, "fill", fctx, `fill ${i} (seller ${seller} -> buyer ${buyer}) credits`, tr.credits, f.costCredits);
  }

  // Settlements: one per participant once settled.
  if (!rec.settled) return;
  const settledBy = new Map<string, (typeof rec.settlements)[number]>();
  for (const st of rec.settlements) {
    const k = finalOf(st.member);
    if (settledBy.has(k)) note(out, "settlement", { interval: t, member: st.member }, `interval ${t}: member ${st.member} settled twice`);
    settledBy.set(k, st);
  }
  const expectedKeys = new Set<string>();
  for (const m of result.members) {
    const wallet = walletOf.get(m.member)!;
    const key = finalOf(wallet);
    expectedKeys.add(key);
    const st = settledBy.get(key);
    const mctx = { interval: t, member: st?.member ?? wallet };
    if (!st) {
      note(out, "settlement", mctx, `interval ${t}: member ${wallet} was never settled (the rule says it paid ${m.paidCredits}, received ${m.receivedCredits})`);
      continue;
    }
    numeric(out, "settlement", mctx, "self-supplied Wh", st.selfSupplyWh, m.selfSupplyWh);
    numeric(out, "settlement", mctx, "sold Wh", st.soldWh, m.soldWh);
    numeric(out, "settlement", mctx, "bought Wh", st.boughtWh, m.boughtWh);
    numeric(out, "settlement", mctx, "exported to the grid Wh", st.gridExportWh, m.gridExportWh);
    numeric(out, "settlement", mctx, "imported from the grid Wh", st.gridImportWh, m.gridImportWh);
    numeric(out, "settlement", mctx, "paid", st.paidCredits, m.paidCredits);
    numeric(out, "settlement", mctx, "received", st.receivedCredits, m.receivedCredits);
    const retired = rec.retiredWh.get(st.member) ?? 0n;
    numeric(out, "energy", mctx, "energy retired (Wh)", retired, m.exportWh, "its export is");
  }
  for (const [key, st] of settledBy) {
    if (!expectedKeys.has(key)) note(out, "settlement", { interval: t, member: st.member }, `interval ${t}: member ${st.member} was settled but took no part`);
  }
  void ZERO_ADDRESS;
}

/** Human-readable list, one violation per line. */
export function formatViolations(vs: Violation[]): string {
  if (vs.length === 0) return "no violations";
  return vs.map((v) => `[${v.check}] ${v.message}`).join("\n");
}
