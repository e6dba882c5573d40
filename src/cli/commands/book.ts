/** `gridledger book --interval T`: market depth — the live orders for T by side and price. */
import type { Command } from "commander";
import { Ctx, type CliRuntime } from "../context";
import { queryAll } from "../events";
import { formatEnergy, formatPricePerKWh } from "../../sdk/units";

interface Level {
  pricePerKWh: bigint;
  orders: number;
  /** Sum of caps; null when an order at this price has no cap. */
  capWh: bigint | null;
  members: string[];
}

export function registerBook(program: Command, rt: CliRuntime): void {
  program
    .command("book")
    .description("market depth for an interval: live orders by side and price (prices clamped to the tariffs, as the auction uses them)")
    .requiredOption("--interval <t>", 'interval: number, "now", "now+N" or "next"')
    .action(async (o: { interval: string }, cmd: Command) => {
      const ctx = new Ctx(cmd, rt);
      const t = await ctx.interval(o.interval, "--interval");
      const c = ctx.contracts;
      const m = c.market;
      const from = c.record("EnergyMarket").blockNumber;
      // Every (member, side) that ever placed an order; orderAt tells which stands for t (the version
      // in force at its end: an ended interval keeps the book it had).
      const placed = await ctx.read("EnergyMarket", () => queryAll(m, m.filters.OrderPlaced(), from));
      const keys = new Map<string, { member: string; side: number }>();
      for (const e of placed) keys.set(`${e.args.member}:${e.args.side}`, { member: e.args.member as string, side: Number(e.args.side) });
      const tariff = await ctx.read("EnergyMarket", () => m.tariffAt(t));
      const retail = tariff.retailPerKWh;
      const feedIn = tariff.feedInPerKWh;
      const asks = new Map<bigint, Level>();
      const bids = new Map<bigint, Level>();
      for (const { member, side } of keys.values()) {
        const [ord, active] = await ctx.read("EnergyMarket", () => Promise.all([m.orderAt(member, side, t), c.registry.walletOf(member).then((w) => c.registry.isActiveMember(w))]));
        if (!active || ord.orderId === 0n || Number(ord.firstInterval) > t || t > Number(ord.lastInterval)) continue;
        const limit = ord.limitPricePerKWh;
        const price = side === 1 ? (limit > feedIn ? limit : feedIn) : limit < retail ? limit : retail;
        const book = side === 1 ? asks : bids;
        const lvl = book.get(price) ?? { pricePerKWh: price, orders: 0, capWh: 0n, members: [] };
        lvl.orders += 1;
        lvl.capWh = lvl.capWh === null || ord.capWhPerInterval === 0n ? null : lvl.capWh + ord.capWhPerInterval;
        lvl.members.push(member);
        book.set(price, lvl);
      }
      const sortedAsks = [...asks.values()].sort((a, b) => (a.pricePerKWh < b.pricePerKWh ? -1 : 1));
      const sortedBids = [...bids.values()].sort((a, b) => (a.pricePerKWh > b.pricePerKWh ? -1 : 1));
      const line = (l: Level) => `  ${formatPricePerKWh(l.pricePerKWh).padStart(14)}  ${String(l.orders).padStart(3)} order(s)  ${l.capWh === null ? "uncapped" : `up to ${formatEnergy(l.capWh)}`}`;
      ctx.out(
        [
          `interval ${t}: retail ${formatPricePerKWh(retail)}, feed-in ${formatPricePerKWh(feedIn)}`,
          `sell (asks, lowest first):${sortedAsks.length ? "" : " none"}`,
          ...sortedAsks.map(line),
          `buy (bids, highest first):${sortedBids.length ? "" : " none"}`,
          ...sortedBids.map(line),
          "(quantities are caps; the auction trades metered energy, known after the interval)",
        ],
        { interval: t, retailPerKWh: retail, feedInPerKWh: feedIn, asks: sortedAsks, bids: sortedBids },
      );
    });
}
