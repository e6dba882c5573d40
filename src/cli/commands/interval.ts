/** `gridledger interval status T`: readings in, readiness, and the market's phase and price. */
import type { Command } from "commander";
import { Ctx, type CliRuntime } from "../context";
import { PHASE_NAMES } from "../parse";
import { formatEnergy, formatPricePerKWh } from "../../sdk/units";

export function registerInterval(program: Command, rt: CliRuntime): void {
  const interval = program.command("interval").description("settlement intervals");
  interval
    .command("status")
    .description("readings reported of expected, whether the interval can be cleared, its market phase and price")
    .argument("<t>", 'interval: number, "now", "now+N" or "next"')
    .action(async (tText: string, _o: unknown, cmd: Command) => {
      const ctx = new Ctx(cmd, rt);
      const t = await ctx.interval(tText, "interval");
      const { readings, registry } = ctx.contracts;
      const [start, seconds, deadline, current, reported, expected, ready, closed] = await ctx.read("MeterReadings", () =>
        Promise.all([
          readings.marketStart(),
          readings.intervalSeconds(),
          readings.readingDeadlineSeconds(),
          readings.currentInterval(),
          readings.reportedCount(t),
          registry.activeMeterCount(),
          readings.isReady(t),
          readings.isClosed(t),
        ]),
      );
      const startsAt = Number(start) + t * Number(seconds);
      const endsAt = startsAt + Number(seconds);
      const ended = t < Number(current);
      let market: Record<string, unknown> | null = null;
      if (ctx.contracts.has("EnergyMarket")) {
        const m = ctx.contracts.market;
        const [st, next] = await ctx.read("EnergyMarket", () => Promise.all([m.intervalState(t), m.nextInterval()]));
        market = {
          phase: PHASE_NAMES[Number(st.phase)],
          nextInterval: Number(next),
          collected: Number(st.collected),
          participants: Number(st.participants),
          pagesCollected: Number(st.pagesCollected),
          pagesSettled: Number(st.pagesSettled),
          restarts: Number(st.restarts),
          pricePerKWh: st.pricePerKWh,
          matchedWh: st.matchedWh,
          retailPerKWh: st.retailPerKWh,
          feedInPerKWh: st.feedInPerKWh,
        };
      }
      const phase = market?.phase as string | undefined;
      const why = phase === "settled"
        ? "cleared and settled"
        : phase === "collecting" || phase === "settling"
          ? `being cleared (${phase})`
          : market && t < (market.nextInterval as number)
            ? "cleared"
            : ready
        ? "ready to clear"
        : !ended
          ? `not ready: the interval has not ended (ends ${new Date(endsAt * 1000).toISOString()}; current interval is ${current})`
          : `not ready: ${reported} of ${expected} meters reported; the deadline passes ${new Date((endsAt + Number(deadline)) * 1000).toISOString()}`;
      const lines = [
        `interval ${t}: ${new Date(startsAt * 1000).toISOString()} .. ${new Date(endsAt * 1000).toISOString()}`,
        `  readings: ${reported} of ${expected} active meters reported${closed ? " (closed)" : ""}`,
        `  ${why}`,
      ];
      if (market) {
        lines.push(`  market: ${market.phase} (next interval to clear: ${market.nextInterval})`);
        if (market.phase === "settling" || market.phase === "settled") {
          lines.push(`  price ${formatPricePerKWh(market.pricePerKWh as bigint)}, matched ${formatEnergy(market.matchedWh as bigint)}`);
        }
      } else lines.push("  market: not deployed on this network");
      ctx.out(lines, {
        interval: t,
        startsAt,
        endsAt,
        currentInterval: Number(current),
        ended,
        reported: Number(reported),
        expected: Number(expected),
        ready,
        closed,
        reason: why,
        market,
      });
    });
}
