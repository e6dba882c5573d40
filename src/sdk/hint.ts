/**
 * The hint a keeper passes to `EnergyMarket.collect`: every participant of an interval, tagged
 * Ask, Bid or None, with asks and bids in *walk order*. The contract accepts a new ask only when
 * the current one is used up (or the walk has stopped), and the same for bids; this function
 * produces exactly that interleaving from the reference clearing, so the contract only checks.
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
  const { asks, bids } = result;
  const seq: HintItem[] = [];
  let ai = 0;
  let bi = 0;
  let askRem = 0n;
  let bidRem = 0n;
  let askPrice = 0n;
  let bidPrice = 0n;
  let stopped = false;

  for (;;) {
    while (!stopped && askRem > 0n && bidRem > 0n) {
      if (bidPrice < askPrice) {
        stopped = true;
        break;
      }
      const q = askRem < bidRem ? askRem : bidRem;
      askRem -= q;
      bidRem -= q;
    }
    if (!stopped && askRem === 0n && ai < asks.length) {
      const a = asks[ai++];
      seq.push({ participant: a.member, tag: Tag.Ask });
      askRem = a.qtyWh;
      askPrice = a.pricePerKWh;
      continue;
    }
    if (!stopped && bidRem === 0n && bi < bids.length) {
      const b = bids[bi++];
      seq.push({ participant: b.member, tag: Tag.Bid });
      bidRem = b.qtyWh;
      bidPrice = b.pricePerKWh;
      continue;
    }
    // The walk stopped, or one side is used up: the rest only has to be sorted.
    while (ai < asks.length) seq.push({ participant: asks[ai++].member, tag: Tag.Ask });
    while (bi < bids.length) seq.push({ participant: bids[bi++].member, tag: Tag.Bid });
    break;
  }

  const tagged = new Set(seq.map((h) => h.participant.toLowerCase()));
  for (const m of result.members) {
    if (m.importWh === 0n && m.exportWh === 0n) continue;
    if (!tagged.has(m.member.toLowerCase())) seq.push({ participant: m.member, tag: Tag.None });
  }
  return seq;
}

/** Splits `items` into pages of at most `size`. */
export function pages<T>(items: T[], size: number): T[][] {
  if (!Number.isInteger(size) || size <= 0) throw new ValidationError("pageSize", `must be a positive integer, got ${size}`);
  const out: T[][] = [];
  for (let i = 0; i < items.length; i += size) out.push(items.slice(i, i + size));
  return out;
}
