/** Operator: `gridledger tariff set | list`. */
import type { Command } from "commander";
import { Ctx, type CliRuntime } from "../context";
import { formatPricePerKWh, parsePricePerKWh } from "../../sdk/units";

export function registerTariff(program: Command, rt: CliRuntime): void {
  const tariff = program.command("tariff").description("grid tariffs: retail (buy from the grid) and feed-in (sell to the grid)");

  tariff
    .command("set")
    .description("schedule tariffs from a future interval on (OPERATOR_ROLE)")
    .requiredOption("--retail <price>", 'retail price per kWh in credits, e.g. "0.30"')
    .requiredOption("--feed-in <price>", 'feed-in price per kWh in credits, e.g. "0.08"')
    .requiredOption("--from <interval>", 'first interval: a number, "now+N" or "next"')
    .action(async (o: { retail: string; feedIn: string; from: string }, cmd: Command) => {
      const ctx = new Ctx(cmd, rt);
      const retail = parsePricePerKWh(o.retail, "--retail");
      const feedIn = parsePricePerKWh(o.feedIn, "--feed-in");
      const from = await ctx.interval(o.from, "--from");
      await ctx.signer();
      const r = await ctx.send("set tariffs", "EnergyMarket", () => ctx.contracts.market.setTariffs(retail, feedIn, from));
      ctx.out(`from interval ${from}: retail ${formatPricePerKWh(retail)}, feed-in ${formatPricePerKWh(feedIn)}`, {
        fromInterval: from,
        retailPerKWh: retail,
        feedInPerKWh: feedIn,
        tx: r.hash,
        block: r.blockNumber,
      });
    });

  tariff
    .command("list")
    .description("every tariff and the interval it starts at")
    .action(async (_o: unknown, cmd: Command) => {
      const ctx = new Ctx(cmd, rt);
      const all = await ctx.read("EnergyMarket", () => ctx.contracts.market.tariffs());
      const rows = all.map((t) => ({ fromInterval: Number(t.fromInterval), retailPerKWh: t.retailPerKWh, feedInPerKWh: t.feedInPerKWh }));
      ctx.out(
        rows.map((t) => `from ${String(t.fromInterval).padStart(8)}: retail ${formatPricePerKWh(t.retailPerKWh)}, feed-in ${formatPricePerKWh(t.feedInPerKWh)}`),
        { tariffs: rows },
      );
    });
}
