/**
 * The keeper's off-chain clearing (`clearInterval`, the same function the keeper and the
 * auditor run) on simulated midday books: every household with one standing order.
 */
import { clearInterval, ClearingInput, ClearingMember, ClearingOrder } from "../../src/sdk/clearing";
import { createCommunity, simulateInterval } from "../../src/sim/household";
import { createRng } from "../../src/sim/random";

const FEED_IN = 80_000n;
const RETAIL = 300_000n;

function address(k: number): string {
  return "0x" + (k + 1).toString(16).padStart(40, "0");
}

/** A midday interval of a simulated community in which every household has one order. */
export function book(households: number, seed: number): ClearingInput {
  const community = createCommunity({ households, seed, prosumerShare: 0.4 });
  const rng = createRng(seed);
  const interval = 13 * 4; // 13:00-13:15 on the first day
  const members: ClearingMember[] = [];
  const orders: ClearingOrder[] = [];
  for (const h of community) {
    const { importWh, exportWh } = simulateInterval(h, interval);
    const member = address(h.id);
    members.push({ member, importWh, exportWh, active: true, availableCredits: BigInt(rng.int(0, 5_000_000)) });
    orders.push({
      orderId: BigInt(h.id + 1),
      member,
      side: h.kind === "prosumer" ? "sell" : "buy",
      limitPricePerKWh: BigInt(rng.int(60_000, 320_000)),
      capWhPerInterval: rng.chance(0.2) ? BigInt(rng.int(100, 1_000)) : 0n,
    });
  }
  return { interval, feedInTariffPerKWh: FEED_IN, retailTariffPerKWh: RETAIL, members, orders };
}

export function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)];
}

/** Median and max wall time (ms) of clearing `households` over `runs` runs, after 3 warm-up runs. */
export function timeClearing(households: number, runs = 15, seed = 7): { medianMs: number; maxMs: number; fills: number; runs: number } {
  const input = book(households, seed);
  for (let k = 0; k < 3; k++) clearInterval(input); // warm up
  const times: number[] = [];
  let fills = 0;
  for (let k = 0; k < runs; k++) {
    const t0 = process.hrtime.bigint();
    fills = clearInterval(input).fills.length;
    times.push(Number(process.hrtime.bigint() - t0) / 1e6);
  }
  return { medianMs: median(times), maxMs: Math.max(...times), fills, runs };
}
