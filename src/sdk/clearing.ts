/**
 * The GridLedger market rule as a pure function: one interval's uniform-price double auction on
 * metered quantities (DESIGN.md, "The market rule"). No chain access; every Wh, credit and price is
 * a `bigint`. The Solidity clearing library implements the same rule and property tests compare
 * the two, so every rounding step below is part of the specification:
 *
 * 1. Self-supply (every member, active or not): `selfSupplyWh = min(importWh, exportWh)`, the
 *    rest is the net position (`netExportWh` or `netImportWh`, at most one of them non-zero).
 * 2. Only active members' orders enter the auction, and only on the side of their net position:
 *    - ask (sell order, `netExportWh > 0`): `qtyWh = cap == 0 ? netExportWh : min(netExportWh, cap)`,
 *      `pricePerKWh = max(limit, feedIn)`;
 *    - bid (buy order, `netImportWh > 0`): `pricePerKWh = min(limit, retail)`,
 *      `affordableWh = floor(availableCredits * 1000 / pricePerKWh)`,
 *      `qtyWh = min(netImportWh, cap or unlimited, affordableWh)`;
 *    entries with `qtyWh == 0` are dropped. An order whose member is not in `members` (its meter
 *    did not report for the interval) takes no part.
 * 3. Asks by price ascending, bids by price descending, ties by order id ascending.
 * 4. Walk both lists while `bid.price >= ask.price`, filling `min(remaining ask, remaining bid)`
 *    and advancing the exhausted side(s). The matched volume is the largest any uniform price
 *    can trade.
 * 5. The clearing price lies in the competitive equilibrium range `[lo, hi]`:
 *    `lo = max(marginal matched ask, first unmatched bid)`, `hi = min(marginal matched bid,
 *    first unmatched ask)`, where the remainder of a partly filled order counts as unmatched
 *    (a side with no unmatched order imposes no bound). The point taken is
 *    `floor((lo + hi) / 2)` (k = 1/2); 0 with no match. At that price no order priced better
 *    than it is left unfilled. The range lies in [feedIn, retail] by construction (every ask is
 *    >= feedIn, every bid <= retail), so the clamp to the tariffs never binds.
 * 6. Money by cumulative rounding: the k-th fill in walk order, ending at cumulative matched
 *    volume `C_k`, costs `floor(C_k * price / 1000) - floor(C_(k-1) * price / 1000)`. Each
 *    member's fills are consecutive in the walk, so its credits are computed once from its
 *    total Wh: a seller receives at least `floor(soldWh * price / 1000)` >= `gridExportRevenue`
 *    of the same Wh, a buyer pays at most `ceil(boughtWh * price / 1000)` <= `gridImportCost`
 *    of the same Wh; buyers together pay exactly what sellers together receive,
 *    `floor(matchedWh * price / 1000)`. The sub-unit rest of the exact value
 *    (`matchedWh * price mod 1000` thousandths of a base unit, `roundingMilliCredits`) is paid
 *    by nobody: the buyers keep it.
 * 7. The rest of each net position goes to the grid at the tariffs; the grid rounds in its own
 *    favour: it pays `floor(wh * feedIn / 1000)` and charges `ceil(wh * retail / 1000)`.
 *
 * Invariants (checked by the property tests): credits paid == credits received; per member
 * `selfSupply + sold + gridExport == exportWh` and `selfSupply + bought + gridImport == importWh`;
 * the price lies in the equilibrium range and in [feedIn, retail]; no seller receives less than the
 * feed-in tariff and no buyer pays more than the retail tariff for the same Wh; no buyer pays more
 * than its available credits; the matched volume is the largest possible.
 * The whole rule, for re-implementers: docs/market-rule.md.
 */
import { ValidationError } from "./errors";

export type OrderSide = "buy" | "sell";

/** One member's metered energy for the interval and what it can pay. */
export interface ClearingMember {
  /** Address; compared case-insensitively, echoed in the result exactly as given here. */
  member: string;
  importWh: bigint;
  exportWh: bigint;
  /** Suspended members (false) keep self-supply and grid flows but take no part in the auction. */
  active: boolean;
  /** Credits deposited in the market that the member's bid may spend (payment base units). */
  availableCredits: bigint;
}

/** A standing limit order that is live for the interval being cleared. */
export interface ClearingOrder {
  orderId: bigint;
  member: string;
  side: OrderSide;
  limitPricePerKWh: bigint;
  /** Largest Wh per interval; 0 means no cap. */
  capWhPerInterval: bigint;
}

export interface ClearingInput {
  interval: number;
  feedInTariffPerKWh: bigint;
  retailTariffPerKWh: bigint;
  members: ClearingMember[];
  /** At most one order per (member, side); order ids are unique. */
  orders: ClearingOrder[];
}

/** One ask or bid as it entered the auction (after netting, caps, affordability and clamping). */
export interface Entry {
  orderId: bigint;
  /** The member's address as given in `ClearingInput.members`. */
  member: string;
  qtyWh: bigint;
  pricePerKWh: bigint;
}

/** A matched quantity between one ask and one bid, at the interval's clearing price. */
export interface Fill {
  sellOrderId: bigint;
  buyOrderId: bigint;
  seller: string;
  buyer: string;
  wh: bigint;
  /**
   * Paid by the buyer to the seller: `floor(after * price / 1000) - floor(before * price / 1000)`,
   * with `before`/`after` the cumulative matched Wh before and after this fill (`fillCredits`).
   */
  costCredits: bigint;
}

export interface MemberOutcome {
  member: string;
  active: boolean;
  importWh: bigint;
  exportWh: bigint;
  selfSupplyWh: bigint;
  netImportWh: bigint;
  netExportWh: bigint;
  soldWh: bigint;
  boughtWh: bigint;
  /** `netExportWh - soldWh`: sold to the grid at the feed-in tariff. */
  gridExportWh: bigint;
  /** `netImportWh - boughtWh`: bought from the grid at the retail tariff. */
  gridImportWh: bigint;
  /** Sum of the member's fill costs as buyer. */
  paidCredits: bigint;
  /** Sum of the member's fill costs as seller. */
  receivedCredits: bigint;
  /** `gridExportRevenue(gridExportWh, feedIn)`: floor (for bills). */
  gridExportCredits: bigint;
  /** `gridImportCost(gridImportWh, retail)`: ceil (for bills). */
  gridImportCredits: bigint;
}

export interface ClearingResult {
  interval: number;
  /** Uniform clearing price; 0n when nothing matched. */
  pricePerKWh: bigint;
  /** The competitive equilibrium range the price is the midpoint of; both 0n when nothing matched. */
  priceRange: { lowPerKWh: bigint; highPerKWh: bigint };
  matchedWh: bigint;
  /**
   * `matchedWh * pricePerKWh mod 1000`: thousandths of a base unit of the exact trade value that
   * the cumulative rounding leaves unpaid (kept by the buyers); < 1 base unit per interval.
   */
  roundingMilliCredits: bigint;
  /** In walk order. */
  fills: Fill[];
  /** Sorted by price ascending, then order id ascending. */
  asks: Entry[];
  /** Sorted by price descending, then order id ascending. */
  bids: Entry[];
  /** Same order as `ClearingInput.members`. */
  members: MemberOutcome[];
}

/** The sorted permutation a caller may pass to the contract as a hint. */
export interface SortedHint {
  askOrderIds: bigint[];
  bidOrderIds: bigint[];
}

const MAX_UINT32 = 2 ** 32 - 1;
const MAX_UINT64 = (1n << 64n) - 1n;
const MAX_UINT256 = (1n << 256n) - 1n;
const ADDRESS_RE = /^0x[0-9a-fA-F]{40}$/;

/** Clears one interval. Throws `ValidationError` naming the field and value on bad input. */
export function clearInterval(input: ClearingInput): ClearingResult {
  validateScalars(input);
  const feedIn = input.feedInTariffPerKWh;
  const retail = input.retailTariffPerKWh;

  // 1. Self-supply and net positions, for every member.
  const outcomes: MemberOutcome[] = new Array(input.members.length);
  const byAddress = new Map<string, { m: ClearingMember; o: MemberOutcome }>();
  input.members.forEach((m, i) => {
    validateMember(m, i);
    const key = m.member.toLowerCase();
    if (byAddress.has(key)) {
      throw new ValidationError(`members[${i}].member`, `duplicate member ${m.member}`);
    }
    const selfSupplyWh = m.importWh < m.exportWh ? m.importWh : m.exportWh;
    const o: MemberOutcome = {
      member: m.member,
      active: m.active,
      importWh: m.importWh,
      exportWh: m.exportWh,
      selfSupplyWh,
      netImportWh: m.importWh - selfSupplyWh,
      netExportWh: m.exportWh - selfSupplyWh,
      soldWh: 0n,
      boughtWh: 0n,
      gridExportWh: 0n,
      gridImportWh: 0n,
      paidCredits: 0n,
      receivedCredits: 0n,
      gridExportCredits: 0n,
      gridImportCredits: 0n,
    };
    outcomes[i] = o;
    byAddress.set(key, { m, o });
  });

  // 2. Asks and bids from active members' orders on the side of their net position.
  const asks: Entry[] = [];
  const bids: Entry[] = [];
  const sidesSeen = new Map<string, number>(); // lower-case address -> bit 1 sell, bit 2 buy
  const seenIds = new Set<bigint>();
  input.orders.forEach((order, i) => {
    validateOrder(order, i);
    const key = order.member.toLowerCase();
    if (seenIds.has(order.orderId)) {
      throw new ValidationError(`orders[${i}].orderId`, `duplicate order id ${order.orderId}`);
    }
    seenIds.add(order.orderId);
    const sides = sidesSeen.get(key) ?? 0;
    const bit = order.side === "sell" ? 1 : 2;
    if ((sides & bit) !== 0) {
      throw new ValidationError(
        `orders[${i}]`,
        `second ${order.side} order (id ${order.orderId}) for member ${order.member}; at most one per member and side`,
      );
    }
    sidesSeen.set(key, sides | bit);

    const hit = byAddress.get(key);
    if (hit === undefined || !hit.m.active) return; // did not report, or suspended
    const { m, o } = hit;
    const cap = order.capWhPerInterval;
    if (order.side === "sell") {
      if (o.netExportWh === 0n) return;
      const qtyWh = cap === 0n || o.netExportWh < cap ? o.netExportWh : cap;
      const pricePerKWh = order.limitPricePerKWh > feedIn ? order.limitPricePerKWh : feedIn;
      asks.push({ orderId: order.orderId, member: m.member, qtyWh, pricePerKWh });
    } else {
      if (o.netImportWh === 0n) return;
      const pricePerKWh = order.limitPricePerKWh < retail ? order.limitPricePerKWh : retail;
      const affordableWh = (m.availableCredits * 1000n) / pricePerKWh;
      let qtyWh = o.netImportWh;
      if (cap !== 0n && cap < qtyWh) qtyWh = cap;
      if (affordableWh < qtyWh) qtyWh = affordableWh;
      if (qtyWh === 0n) return;
      bids.push({ orderId: order.orderId, member: m.member, qtyWh, pricePerKWh });
    }
  });

  // 3. Sort once.
  asks.sort((a, b) => cmp(a.pricePerKWh, b.pricePerKWh) || cmp(a.orderId, b.orderId));
  bids.sort((a, b) => cmp(b.pricePerKWh, a.pricePerKWh) || cmp(a.orderId, b.orderId));

  // 4. Walk.
  const walk: { ask: Entry; bid: Entry; wh: bigint }[] = [];
  let i = 0;
  let j = 0;
  let askLeft = asks.length > 0 ? asks[0].qtyWh : 0n;
  let bidLeft = bids.length > 0 ? bids[0].qtyWh : 0n;
  let marginalAsk: Entry | undefined;
  let marginalBid: Entry | undefined;
  while (i < asks.length && j < bids.length && bids[j].pricePerKWh >= asks[i].pricePerKWh) {
    const q = askLeft < bidLeft ? askLeft : bidLeft;
    walk.push({ ask: asks[i], bid: bids[j], wh: q });
    marginalAsk = asks[i];
    marginalBid = bids[j];
    askLeft -= q;
    bidLeft -= q;
    if (askLeft === 0n && ++i < asks.length) askLeft = asks[i].qtyWh;
    if (bidLeft === 0n && ++j < bids.length) bidLeft = bids[j].qtyWh;
  }
  // 5. The price. The walk matched a prefix of each sorted list, so the first unmatched order of
  // a side is the entry the walk stopped on (with its remainder), if any.
  const firstUnmatchedAsk = i < asks.length ? asks[i] : undefined;
  const firstUnmatchedBid = j < bids.length ? bids[j] : undefined;
  const { lowPerKWh, highPerKWh } =
    marginalAsk && marginalBid
      ? equilibriumRange(marginalAsk.pricePerKWh, marginalBid.pricePerKWh, firstUnmatchedAsk?.pricePerKWh, firstUnmatchedBid?.pricePerKWh)
      : { lowPerKWh: 0n, highPerKWh: 0n };
  const pricePerKWh = (lowPerKWh + highPerKWh) / 2n;

  // 6. Fills at the one price (cumulative rounding), per-member totals and grid flows.
  let matchedWh = 0n;
  const fills: Fill[] = walk.map(({ ask, bid, wh }) => {
    const costCredits = fillCredits(matchedWh, wh, pricePerKWh);
    matchedWh += wh;
    const seller = byAddress.get(ask.member.toLowerCase())!.o;
    const buyer = byAddress.get(bid.member.toLowerCase())!.o;
    seller.soldWh += wh;
    seller.receivedCredits += costCredits;
    buyer.boughtWh += wh;
    buyer.paidCredits += costCredits;
    return { sellOrderId: ask.orderId, buyOrderId: bid.orderId, seller: ask.member, buyer: bid.member, wh, costCredits };
  });
  for (const o of outcomes) {
    o.gridExportWh = o.netExportWh - o.soldWh;
    o.gridImportWh = o.netImportWh - o.boughtWh;
    o.gridExportCredits = gridExportRevenue(o.gridExportWh, feedIn);
    o.gridImportCredits = gridImportCost(o.gridImportWh, retail);
  }

  return {
    interval: input.interval,
    pricePerKWh,
    priceRange: { lowPerKWh, highPerKWh },
    matchedWh,
    roundingMilliCredits: (matchedWh * pricePerKWh) % 1000n,
    fills,
    asks,
    bids,
    members: outcomes,
  };
}

/**
 * The competitive equilibrium range of a walk that matched something: `[max(marginalAsk,
 * firstUnmatchedBid), min(marginalBid, firstUnmatchedAsk)]`; an absent unmatched order imposes
 * no bound.
 */
export function equilibriumRange(
  marginalAskPerKWh: bigint,
  marginalBidPerKWh: bigint,
  firstUnmatchedAskPerKWh: bigint | undefined,
  firstUnmatchedBidPerKWh: bigint | undefined,
): { lowPerKWh: bigint; highPerKWh: bigint } {
  let lowPerKWh = marginalAskPerKWh;
  let highPerKWh = marginalBidPerKWh;
  if (firstUnmatchedBidPerKWh !== undefined && firstUnmatchedBidPerKWh > lowPerKWh) lowPerKWh = firstUnmatchedBidPerKWh;
  if (firstUnmatchedAskPerKWh !== undefined && firstUnmatchedAskPerKWh < highPerKWh) highPerKWh = firstUnmatchedAskPerKWh;
  return { lowPerKWh, highPerKWh };
}

/**
 * Credits of the fill that takes the cumulative matched volume from `matchedBeforeWh` to
 * `matchedBeforeWh + wh`: `floor((before + wh) * price / 1000) - floor(before * price / 1000)`
 * (`ClearingWalk.fillCredits`).
 */
export function fillCredits(matchedBeforeWh: bigint, wh: bigint, pricePerKWh: bigint): bigint {
  return ((matchedBeforeWh + wh) * pricePerKWh) / 1000n - (matchedBeforeWh * pricePerKWh) / 1000n;
}

/** What the grid pays for `wh` exported at the feed-in tariff: `floor(wh * feedIn / 1000)`. */
export function gridExportRevenue(wh: bigint, feedInPerKWh: bigint): bigint {
  return (wh * feedInPerKWh) / 1000n;
}

/** What the grid charges for `wh` imported at the retail tariff: `ceil(wh * retail / 1000)`. */
export function gridImportCost(wh: bigint, retailPerKWh: bigint): bigint {
  return (wh * retailPerKWh + 999n) / 1000n;
}

/** The sorted ask and bid order ids of a result, as the contract's clearing hint. */
export function sortedHint(result: ClearingResult): SortedHint {
  return {
    askOrderIds: result.asks.map((e) => e.orderId),
    bidOrderIds: result.bids.map((e) => e.orderId),
  };
}

function cmp(a: bigint, b: bigint): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

function checkUint(field: string, value: unknown, max: bigint): void {
  if (typeof value !== "bigint") {
    throw new ValidationError(field, `must be a bigint, got ${typeof value} ${String(value)}`);
  }
  if (value < 0n) throw new ValidationError(field, `must not be negative, got ${value}`);
  if (value > max) throw new ValidationError(field, `must fit in ${max === MAX_UINT64 ? "uint64" : "uint256"}, got ${value}`);
}

function checkAddress(field: string, value: unknown): void {
  if (typeof value !== "string" || !ADDRESS_RE.test(value)) {
    throw new ValidationError(field, `must be a 0x-prefixed 20-byte hex address, got ${String(value)}`);
  }
}

function validateScalars(input: ClearingInput): void {
  if (!Number.isInteger(input.interval) || input.interval < 0 || input.interval > MAX_UINT32) {
    throw new ValidationError("interval", `must be an integer in [0, 2^32-1], got ${input.interval}`);
  }
  checkUint("feedInTariffPerKWh", input.feedInTariffPerKWh, MAX_UINT256);
  checkUint("retailTariffPerKWh", input.retailTariffPerKWh, MAX_UINT256);
  if (input.retailTariffPerKWh === 0n) {
    throw new ValidationError("retailTariffPerKWh", "must be greater than 0, got 0");
  }
  if (input.retailTariffPerKWh < input.feedInTariffPerKWh) {
    throw new ValidationError(
      "retailTariffPerKWh",
      `must not be below feedInTariffPerKWh (${input.feedInTariffPerKWh}), got ${input.retailTariffPerKWh}`,
    );
  }
  if (!Array.isArray(input.members)) throw new ValidationError("members", "must be an array");
  if (!Array.isArray(input.orders)) throw new ValidationError("orders", "must be an array");
}

function validateMember(m: ClearingMember, i: number): void {
  const at = `members[${i}]`;
  checkAddress(`${at}.member`, m.member);
  checkUint(`${at}.importWh`, m.importWh, MAX_UINT64);
  checkUint(`${at}.exportWh`, m.exportWh, MAX_UINT64);
  checkUint(`${at}.availableCredits`, m.availableCredits, MAX_UINT256);
  if (typeof m.active !== "boolean") {
    throw new ValidationError(`${at}.active`, `must be a boolean, got ${String(m.active)}`);
  }
}

function validateOrder(o: ClearingOrder, i: number): void {
  const at = `orders[${i}]`;
  checkUint(`${at}.orderId`, o.orderId, MAX_UINT256);
  checkAddress(`${at}.member`, o.member);
  if (o.side !== "buy" && o.side !== "sell") {
    throw new ValidationError(`${at}.side`, `must be "buy" or "sell", got ${String(o.side)}`);
  }
  checkUint(`${at}.limitPricePerKWh`, o.limitPricePerKWh, MAX_UINT256);
  checkUint(`${at}.capWhPerInterval`, o.capWhPerInterval, MAX_UINT64);
  if (o.side === "buy" && o.limitPricePerKWh === 0n) {
    // A zero bid price buys nothing and would make affordability a division by zero.
    throw new ValidationError(`${at}.limitPricePerKWh`, "a buy order's limit must be greater than 0, got 0");
  }
}
