/**
 * `gridledger bill --from T --to T [ADDR]`: a member's bill from `MemberSettled` events, with the
 * tariffs of each interval from `IntervalCleared`. Grid flows are priced at the tariffs the
 * way the clearing function does it (`gridImportCost` rounds up, `gridExportRevenue` down, per
 * interval); the grid-only
 * comparison prices the same net import and export at retail and feed-in.
 */
import type { Command } from "commander";
import { Ctx, type CliRuntime } from "../context";
import { queryAll } from "../events";
import { parseAddress } from "../parse";
import { formatCredits, formatEnergy } from "../../sdk/units";
import { ValidationError } from "../../sdk/errors";
import { gridExportRevenue, gridImportCost } from "../../sdk/clearing";

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
      const t = {
        intervals: 0,
        selfSupplyWh: 0n,
        boughtWh: 0n,
        soldWh: 0n,
        gridImportWh: 0n,
        gridExportWh: 0n,
        paidCredits: 0n,
        receivedCredits: 0n,
        gridImportCredits: 0n,
        gridExportCredits: 0n,
        gridOnlyCredits: 0n,
      };
      for (const e of settled) {
        const i = Number(e.args.interval);
        if (i < from || i > to) continue;
        const tar = tariffs.get(i);
        if (!tar) continue; // settled without a cleared event cannot happen; skip defensively
        const a = e.args;
        t.intervals += 1;
        t.selfSupplyWh += a.selfSupplyWh;
        t.boughtWh += a.boughtWh;
        t.soldWh += a.soldWh;
        t.gridImportWh += a.gridImportWh;
        t.gridExportWh += a.gridExportWh;
        t.paidCredits += a.paidCredits;
        t.receivedCredits += a.receivedCredits;
        t.gridImportCredits += gridImportCost(a.gridImportWh, tar.retail);
        t.gridExportCredits += gridExportRevenue(a.gridExportWh, tar.feedIn);
        t.gridOnlyCredits += gridImportCost(a.boughtWh + a.gridImportWh, tar.retail) - gridExportRevenue(a.soldWh + a.gridExportWh, tar.feedIn);
      }
      const total = t.paidCredits + t.gridImportCredits - t.receivedCredits - t.gridExportCredits;
      const saving = t.gridOnlyCredits - total;
      const money = (v: bigint) => (v < 0n ? `${formatCredits(-v)} credits earned` : `${formatCredits(v)} credits to pay`);
      ctx.out(
        [
          `bill of ${who}, intervals ${from}..${to} (${t.intervals} settled)`,
          `  self-supply            ${formatEnergy(t.selfSupplyWh)}`,
          `  P2P bought             ${formatEnergy(t.boughtWh).padEnd(14)} paid      ${formatCredits(t.paidCredits)}`,
          `  P2P sold               ${formatEnergy(t.soldWh).padEnd(14)} received  ${formatCredits(t.receivedCredits)}`,
          `  grid import (retail)   ${formatEnergy(t.gridImportWh).padEnd(14)} cost      ${formatCredits(t.gridImportCredits)}`,
          `  grid export (feed-in)  ${formatEnergy(t.gridExportWh).padEnd(14)} revenue   ${formatCredits(t.gridExportCredits)}`,
          `  total: ${money(total)}`,
          `  grid only: ${money(t.gridOnlyCredits)}; saving ${formatCredits(saving)} credits`,
        ],
        { member: who, fromInterval: from, toInterval: to, ...t, totalCredits: total, savingCredits: saving },
      );
    });
}
