/**
 * The hint a keeper passes to `EnergyMarket.collect`: every participant of an interval, tagged
 * Ask, Bid or None, with asks and bids in *walk order*. The contract accepts a new ask only when
 * the current one is used up (or the walk has stopped), and the same for bids; this function
 * produces exactly that interleaving from the reference clearing, so the contract only checks.
 *
 * The price depends on the first unmatched ask and bid (docs/market-rule.md, section 5); nothing
 * here can hide them. The contract fixes the price only after every participant is collected, so
 * each of them is admitted; an ask sent while the current ask still has a remainder (before the
 * walk stopped) tells the contract that no bid is left, and any bid after it reverts; the same
 * for bids. After the walk stops, the rest of each side only has to be sorted. If an earlier page
 * (anyone's) closed a side too early, the first entry of that side that the contract refuses for
 * it restarts the collection (`CollectionRestarted`) rather than reverting; the keeper then
 * builds the hint again from the start.
 */
import type { ClearingResult } from "./clearing";
import { ValidationError } from "./errors";

/** `EnergyMarket.Tag` numbering. */
export const Tag = { None: 0, Ask: 1, Bid: 2 } as const;
export type TagValue = (typeof Tag)[keyof typeof Tag];

export interface HintItem {
  participant: string;
  tag: TagValue;
}

/**
 * Walk-ordered hint for `result`. Every member of the clearing input appears once; members
 * without an ask or a bid come last, tagged None.
 */
export function walkHint(result: ClearingResult): HintItem[] {
  const seq = walkFrom(startOfWalk(), result.asks, result.bids);
  const tagged = new Set(seq.map((h) => h.participant.toLowerCase()));
  for (const m of result.members) {
    if (m.importWh === 0n && m.exportWh === 0n) continue;
    if (!tagged.has(m.member.toLowerCase())) seq.push({ participant: m.member, tag: Tag.None });
  }
  return seq;
}

/** An entry pass 1 already collected (`EntryCollected`), as far as the walk needs it. */
export interface CollectedEntry {
  tag: number | bigint;
  qtyWh: bigint;
  pricePerKWh: bigint;
}

/**
 * The rest of an interval's hint once some participants are collected: the walk is replayed over
 * the collected entries (as the contract did), then continued with the entries of the participants
 * not collected yet, computed from the chain state now (`rest`, a clearing of those participants).
 * A keeper resuming a collection needs this rather than slicing a fresh `walkHint`: a member
 * suspended by the operator between pages changes the full walk order, but the collected prefix
 * stays as it was. (Nothing a member does can: orders and deposits are frozen at the interval's
 * end, and participants are member keys, which wallet migrations do not change.)
 */
export function continueWalkHint(collected: CollectedEntry[], rest: ClearingResult): HintItem[] {
  const w = startOfWalk();
  for (const e of collected) {
    const tag = Number(e.tag);
    if (tag === Tag.Ask) {
      w.askRem = e.qtyWh;
      w.askPrice = e.pricePerKWh;
    } else if (tag === Tag.Bid) {
      w.bidRem = e.qtyWh;
      w.bidPrice = e.pricePerKWh;
    } else continue;
    fill(w);
  }
  const seq = walkFrom(w, rest.asks, rest.bids);
  const tagged = new Set(seq.map((h) => h.participant.toLowerCase()));
  for (const m of rest.members) {
    if (m.importWh === 0n && m.exportWh === 0n) continue;
    if (!tagged.has(m.member.toLowerCase())) seq.push({ participant: m.member, tag: Tag.None });
  }
  return seq;
}

interface WalkState {
  askRem: bigint;
  bidRem: bigint;
  askPrice: bigint;
  bidPrice: bigint;
  stopped: boolean;
}

const startOfWalk = (): WalkState => ({ askRem: 0n, bidRem: 0n, askPrice: 0n, bidPrice: 0n, stopped: false });

/** Matches the current ask and bid as far as they go (ClearingWalk.nextFill until it returns 0). */
function fill(w: WalkState): void {
  while (!w.stopped && w.askRem > 0n && w.bidRem > 0n) {
    if (w.bidPrice < w.askPrice) {
      w.stopped = true;
      break;
    }
    const q = w.askRem < w.bidRem ? w.askRem : w.bidRem;
    w.askRem -= q;
    w.bidRem -= q;
  }
}

/** Asks and bids (each sorted) in walk order, from walk state `w`. */
function walkFrom(w: WalkState, asks: ClearingResult["asks"], bids: ClearingResult["bids"]): HintItem[] {
  const seq: HintItem[] = [];
  let ai = 0;
  let bi = 0;
  for (;;) {
    fill(w);
    if (!w.stopped && w.askRem === 0n && ai < asks.length) {
      const a = asks[ai++];
      seq.push({ participant: a.member, tag: Tag.Ask });
      w.askRem = a.qtyWh;
      w.askPrice = a.pricePerKWh;
      continue;
    }
    if (!w.stopped && w.bidRem === 0n && bi < bids.length) {
      const b = bids[bi++];
      seq.push({ participant: b.member, tag: Tag.Bid });
      w.bidRem = b.qtyWh;
      w.bidPrice = b.pricePerKWh;
      continue;
    }
    // The walk stopped, or one side is used up: the rest only has to be sorted.
    while (ai < asks.length) seq.push({ participant: asks[ai++].member, tag: Tag.Ask });
    while (bi < bids.length) seq.push({ participant: bids[bi++].member, tag: Tag.Bid });
    return seq;
  }
}

/** Splits `items` into pages of at most `size`. */
export function pages<T>(items: T[], size: number): T[][] {
  if (!Number.isInteger(size) || size <= 0) throw new ValidationError("pageSize", `must be a positive integer, got ${size}`);
  const out: T[][] = [];
  for (let i = 0; i < items.length; i += size) out.push(items.slice(i, i + size));
  return out;
}
