/**
 * The demo community: households from the simulator, a wallet per member (derived from the
 * seed, so a run is reproducible), how each member trades, and the day's events (a late
 * joiner, a suspension, mid-day order updates). Pure planning: nothing here touches a chain.
 */
import { Wallet, id } from "ethers";
import { createCommunity, Household } from "../sim/household";
import { createRng, hashSeed } from "../sim/random";
import type { DemoOptions } from "./options";

export type OrderSide = "buy" | "sell";

export interface OrderPlan {
  side: OrderSide;
  limitPricePerKWh: bigint;
  /** 0: no cap (the whole net position). */
  capWhPerInterval: bigint;
}

export interface DemoMember {
  household: Household;
  /** The member's wallet key (derived from the seed: demo keys, never real ones). */
  wallet: Wallet;
  meterId: string;
  /** Places orders with EIP-712 intents relayed by another account instead of its own transactions. */
  signs: boolean;
  orders: OrderPlan[];
  /** Mid-day order change (the member's own way: `updateOrder` or a signed Update intent). */
  update?: OrderPlan;
  /** Run index (0-based interval of the run) at which the member is onboarded, when late. */
  joinsAt?: number;
  /** Run index at which the operator suspends the member, and at which it is reinstated. */
  suspendedAt?: number;
  reinstatedAt?: number;
}

export interface Schedule {
  joinAt?: number;
  suspendAt?: number;
  reinstateAt?: number;
  updateAt?: number;
}

export interface DemoCommunity {
  members: DemoMember[];
  schedule: Schedule;
  /** Service accounts: the oracle's submitter (ORACLE_ROLE), the meters' gateway key, the keeper, the order relayer. */
  oracle: Wallet;
  gateway: Wallet;
  keeper: Wallet;
  relayer: Wallet;
}

export interface Tariffs {
  retailPerKWh: bigint;
  feedInPerKWh: bigint;
}

const key = (seed: number, what: string) => new Wallet(id(`gridledger-demo/${seed}/${what}`));
const round1000 = (x: number) => BigInt(Math.round(x / 1000) * 1000);

/**
 * Plans the community of a run. Prosumers sell between feed-in and retail (some also buy);
 * consumers buy around the middle. Every second member signs its orders. With at least four
 * intervals and two members of a kind, the last prosumer joins late and the last consumer is
 * suspended for part of the day (and reinstated).
 */
export function planCommunity(options: DemoOptions, tariffs: Tariffs): DemoCommunity {
  const households = createCommunity({ households: options.households, seed: options.seed });
  const rng = createRng(hashSeed(options.seed, "demo-orders"));
  const feedIn = Number(tariffs.feedInPerKWh);
  const spread = Number(tariffs.retailPerKWh - tariffs.feedInPerKWh);
  const at = (share: number) => Math.floor(options.intervals * share);
  const n = options.intervals;
  const schedule: Schedule = n >= 4 ? { joinAt: at(0.375), suspendAt: at(0.4375), reinstateAt: at(0.625), updateAt: at(0.5) } : {};

  const members: DemoMember[] = households.map((h) => {
    const orders: OrderPlan[] = [];
    if (h.kind === "prosumer") {
      orders.push({
        side: "sell",
        limitPricePerKWh: round1000(feedIn + spread * rng.float(0.1, 0.45)),
        capWhPerInterval: rng.chance(0.25) ? 1_500n : 0n,
      });
      if (rng.chance(0.5)) orders.push({ side: "buy", limitPricePerKWh: round1000(feedIn + spread * rng.float(0.3, 0.55)), capWhPerInterval: 0n });
    } else {
      orders.push({ side: "buy", limitPricePerKWh: round1000(feedIn + spread * rng.float(0.38, 0.7)), capWhPerInterval: 0n });
    }
    return {
      household: h,
      wallet: key(options.seed, `member/${h.name}`),
      meterId: id(`gridledger-demo/${options.seed}/meter/${h.name}`),
      signs: h.id % 2 === 1,
      orders,
    };
  });

  const prosumers = members.filter((m) => m.household.kind === "prosumer");
  const consumers = members.filter((m) => m.household.kind === "consumer");
  if (schedule.joinAt !== undefined && prosumers.length >= 2) {
    const late = prosumers[prosumers.length - 1];
    late.joinsAt = schedule.joinAt;
    late.signs = true;
  } else delete schedule.joinAt;
  if (schedule.suspendAt !== undefined && consumers.length >= 2) {
    const s = consumers[consumers.length - 1];
    s.suspendedAt = schedule.suspendAt;
    s.reinstatedAt = schedule.reinstateAt;
  } else {
    delete schedule.suspendAt;
    delete schedule.reinstateAt;
  }
  if (schedule.updateAt !== undefined) {
    // Two sellers lower their asks, one buyer raises its bid: the book moves at midday.
    const sellers = prosumers.filter((m) => m.joinsAt === undefined).slice(0, 2);
    for (const m of sellers) {
      const sell = m.orders.find((o) => o.side === "sell")!;
      const lower = sell.limitPricePerKWh - round1000(spread * 0.1);
      m.update = { ...sell, limitPricePerKWh: lower > tariffs.feedInPerKWh ? lower : tariffs.feedInPerKWh + 1000n };
    }
    const buyer = consumers.find((m) => m.suspendedAt === undefined);
    if (buyer) {
      const buy = buyer.orders[0];
      const higher = buy.limitPricePerKWh + round1000(spread * 0.1);
      buyer.update = { ...buy, limitPricePerKWh: higher < tariffs.retailPerKWh ? higher : tariffs.retailPerKWh };
    }
    if (!members.some((m) => m.update)) delete schedule.updateAt;
  }

  return {
    members,
    schedule,
    oracle: key(options.seed, "oracle-submitter"),
    gateway: key(options.seed, "meter-gateway"),
    keeper: key(options.seed, "keeper"),
    relayer: key(options.seed, "order-relayer"),
  };
}
