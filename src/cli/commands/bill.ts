/**
 * `gridledger bill --from T --to T [ADDR]`: a member's bill from `MemberSettled` events, with the
 * tariffs of each interval from `IntervalCleared`. Every figure comes from the SDK's statement
 * function (`src/sdk/statement.ts`), which also defines the grid-only world.
 */
import type { Command } from "commander";
import { Ctx, type CliRuntime } from "../context";
import { queryAll } from "../events";
import { parseAddress } from "../parse";
import { formatCredits, formatEnergy } from "../../sdk/units";
import { ValidationError } from "../../sdk/errors";
import { memberStatementFigures, type SettledInterval } from "../../sdk/statement";

export function registerBill(program: Command, rt: CliRuntime): void {
  program
    .command("bill")
    .description("a member's bill for settled intervals: P2P bought and sold, grid import and export, total, saving against grid-only")
    .requiredOption("--from <t>", "first interval")
    .requiredOption("--to <t>", "last interval")
    .argument("[address]", "member (default: your wallet)")
    .action(async (addr: string | undefined, o: { from: string; to: string }, cmd: Command) => {
      const ctx = new Ctx(cmd, rt);
      const from = await ctx.interval(o.from, "--from");
      const to = await ctx.interval(o.to, "--to");
      if (from > to) throw new ValidationError("--to", `interval ${to} is before --from ${from}`);
      const who = addr ? parseAddress(addr, "address") : await ctx.address();
      const m = ctx.contracts.market;
      const start = ctx.contracts.record("EnergyMarket").blockNumber;
      const [settled, cleared] = await ctx.read("EnergyMarket", () =>
        Promise.all([queryAll(m, m.filters.MemberSettled(undefined, who), start), queryAll(m, m.filters.IntervalCleared(), start)]),
      );
      const tariffs = new Map<number, { retail: bigint; feedIn: bigint }>();
      for (const e of cleared) tariffs.set(Number(e.args.interval), { retail: e.args.retailPerKWh, feedIn: e.args.feedInPerKWh });
      const lines: SettledInterval[] = [];
      for (const e of settled) {
        const i = Number(e.args.interval);
        if (i < from || i > to) continue;
        const tar = tariffs.get(i);
        if (!tar) continue; // settled without a cleared event cannot happen; skip defensively
        const a = e.args;
        lines.push({
          interval: i,
          retailPerKWh: tar.retail,
          feedInPerKWh: tar.feedIn,
          selfSupplyWh: a.selfSupplyWh,
          soldWh: a.soldWh,
          boughtWh: a.boughtWh,
          gridExportWh: a.gridExportWh,
          gridImportWh: a.gridImportWh,
          paidCredits: a.paidCredits,
          receivedCredits: a.receivedCredits,
        });
      }
      const t = memberStatementFigures(lines).totals;
      const total = t.netCostCredits;
      const saving = t.savingCredits;
      const money = (v: bigint) => (v < 0n ? `${formatCredits(-v)} credits earned` : `${formatCredits(v)} credits to pay`);
      ctx.out(
        [
          `bill of ${who}, intervals ${from}..${to} (${lines.length} settled)`,
          `  self-supply            ${formatEnergy(t.selfSupplyWh)}`,
          `  P2P bought             ${formatEnergy(t.boughtWh).padEnd(14)} paid      ${formatCredits(t.p2pPaidCredits)} credits`,
          `  P2P sold               ${formatEnergy(t.soldWh).padEnd(14)} received  ${formatCredits(t.p2pReceivedCredits)} credits`,
          `  grid import (retail)   ${formatEnergy(t.gridImportWh).padEnd(14)} cost      ${formatCredits(t.gridImportCostCredits)} credits`,
          `  grid export (feed-in)  ${formatEnergy(t.gridExportWh).padEnd(14)} revenue   ${formatCredits(t.gridExportRevenueCredits)} credits`,
          `  total: ${money(total)}`,
          `  grid only: ${money(t.gridOnlyCostCredits)}; saving ${formatCredits(saving)} credits`,
        ],
        {
          member: who,
          fromInterval: from,
          toInterval: to,
          intervals: lines.length,
          ...t,
          // Names this command printed before the statement function (kept for scripts).
          paidCredits: t.p2pPaidCredits,
          receivedCredits: t.p2pReceivedCredits,
          gridImportCredits: t.gridImportCostCredits,
          gridExportCredits: t.gridExportRevenueCredits,
          gridOnlyCredits: t.gridOnlyCostCredits,
          totalCredits: total,
        },
      );
    });
}
