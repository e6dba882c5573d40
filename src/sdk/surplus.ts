/**
 * How the gains of trading split between sellers and buyers, against the grid tariffs: the one
 * function behind the demo's "Gains of trading" section and the auditor's summary
 * (`gridledger audit summary`, field `gainsOfTrade`).
 *
 * For each member and settled interval, from `MemberSettled` and the tariffs of `IntervalCleared`:
 * - seller's gain = credits received for P2P sales - what the grid would have paid for the same
 *   Wh at the feed-in tariff (`gridExportRevenue`, floor);
 * - buyer's gain = what the grid would have charged for the same Wh at the retail tariff
 *   (`gridImportCost`, ceil) - credits paid for P2P purchases.
 * Both are >= 0 by the market rule (docs/market-rule.md), so the answer to "do P2P prices beat
 * the backup price for both sides?" is the pair of numbers, per member and per community.
 * `roundingMilliCredits` sums, over the intervals, the thousandths of a base unit of the exact
 * trade value that the rule's cumulative rounding leaves unpaid (kept by the buyers).
 */
import { gridExportRevenue, gridImportCost } from "./clearing";

/** One interval's clearing, as `IntervalCleared` reports it. */
export interface SurplusInterval {
  interval: number;
  pricePerKWh: bigint;
  matchedWh: bigint;
  retailPerKWh: bigint;
  feedInPerKWh: bigint;
}

/** One member's P2P result in one interval, as `MemberSettled` reports it. */
export interface SurplusSettlement {
  interval: number;
  member: string;
  soldWh: bigint;
  boughtWh: bigint;
  receivedCredits: bigint;
  paidCredits: bigint;
}

export interface Gains {
  soldWh: bigint;
  boughtWh: bigint;
  receivedCredits: bigint;
  paidCredits: bigint;
  /** What the grid would have paid for the Wh sold P2P. */
  feedInValueCredits: bigint;
  /** What the grid would have charged for the Wh bought P2P. */
  retailValueCredits: bigint;
  /** `receivedCredits - feedInValueCredits`. */
  sellerGainCredits: bigint;
  /** `retailValueCredits - paidCredits`. */
  buyerGainCredits: bigint;
}

export interface MemberGains extends Gains {
  /** As first spelled in the settlements. */
  member: string;
}

export interface SurplusSplit {
  /** One row per member with P2P trades, in order of first appearance. */
  members: MemberGains[];
  community: Gains;
  /** Sum over intervals of `matchedWh * price mod 1000`: unpaid thousandths of a base unit. */
  roundingMilliCredits: bigint;
}

const zero = (): Gains => ({
  soldWh: 0n,
  boughtWh: 0n,
  receivedCredits: 0n,
  paidCredits: 0n,
  feedInValueCredits: 0n,
  retailValueCredits: 0n,
  sellerGainCredits: 0n,
  buyerGainCredits: 0n,
});

const KEYS = Object.keys(zero()) as (keyof Gains)[];

/**
 * The split of the gains of trading over `settlements`; each settlement's interval must be in
 * `intervals` (its tariffs), else this throws. Members without P2P trades are left out.
 */
export function surplusSplit(intervals: SurplusInterval[], settlements: SurplusSettlement[]): SurplusSplit {
  const byInterval = new Map(intervals.map((c) => [c.interval, c]));
  const rows = new Map<string, MemberGains>();
  const community = zero();
  for (const s of settlements) {
    if (s.soldWh === 0n && s.boughtWh === 0n) continue;
    const c = byInterval.get(s.interval);
    if (!c) throw new Error(`settlement of ${s.member} in interval ${s.interval} without its clearing`);
    const feedInValueCredits = gridExportRevenue(s.soldWh, c.feedInPerKWh);
    const retailValueCredits = gridImportCost(s.boughtWh, c.retailPerKWh);
    const add: Gains = {
      soldWh: s.soldWh,
      boughtWh: s.boughtWh,
      receivedCredits: s.receivedCredits,
      paidCredits: s.paidCredits,
      feedInValueCredits,
      retailValueCredits,
      sellerGainCredits: s.receivedCredits - feedInValueCredits,
      buyerGainCredits: retailValueCredits - s.paidCredits,
    };
    const key = s.member.toLowerCase();
    let row = rows.get(key);
    if (!row) rows.set(key, (row = { member: s.member, ...zero() }));
    for (const k of KEYS) {
      row[k] += add[k];
      community[k] += add[k];
    }
  }
  let roundingMilliCredits = 0n;
  for (const c of intervals) roundingMilliCredits += (c.matchedWh * c.pricePerKWh) % 1000n;
  return { members: [...rows.values()], community, roundingMilliCredits };
}

/** `part / (seller + buyer gains)` in per mille (0 when there is no gain). */
export function gainSharePermille(part: bigint, g: Gains): bigint {
  const total = g.sellerGainCredits + g.buyerGainCredits;
  return total <= 0n ? 0n : (part * 1000n) / total;
}
