/**
 * `npm run demo -- --battery-kwh N`: the same seed without and with the community battery, side
 * by side: self-sufficiency, P2P volume, the community's saving, the battery's revenue and
 * cycles, and each member's saving. Every figure comes from the two runs' reports (chain events).
 */
import type { DemoResult } from "./runner";
import { credits, kWh, selfSufficiencyBp, storageRevenueCredits } from "./report";

const pct = (bp: bigint) => `${(Number(bp) / 100).toFixed(1)} %`;

export interface Comparison {
  selfSufficiencyBp: [bigint, bigint];
  p2pWh: [bigint, bigint];
  savingCredits: [bigint, bigint];
  battery?: { capacityWh: bigint; boughtWh: bigint; soldWh: bigint; revenueCredits: bigint; revenuePerKWhCapacity: bigint; cyclesPpm: bigint };
  members: { name: string; kind: string; without: bigint; with: bigint }[];
}

/** The figures of both runs (the second one has the battery). */
export function compareRuns(without: DemoResult, withBattery: DemoResult): Comparison {
  const a = without.report;
  const b = withBattery.report;
  const storageRow = withBattery.battery && b.members.find((m) => m.address.toLowerCase() === withBattery.battery!.address.toLowerCase());
  const byName = new Map(a.members.map((m) => [m.name, m]));
  const revenue = storageRow ? storageRevenueCredits(storageRow) : 0n;
  return {
    selfSufficiencyBp: [selfSufficiencyBp(a.totals), selfSufficiencyBp(b.totals)],
    p2pWh: [a.totals.tradedWh, b.totals.tradedWh],
    savingCredits: [a.totals.savingCredits, b.totals.savingCredits],
    battery:
      withBattery.battery && storageRow
        ? {
            capacityWh: withBattery.battery.capacityWh,
            boughtWh: storageRow.boughtWh,
            soldWh: storageRow.soldWh,
            revenueCredits: revenue,
            revenuePerKWhCapacity: (revenue * 1000n) / withBattery.battery.capacityWh,
            cyclesPpm: withBattery.battery.cyclesPpm,
          }
        : undefined,
    members: b.members
      .filter((m) => m.kind !== "storage")
      .map((m) => ({ name: m.name, kind: m.kind, without: byName.get(m.name)?.savingCredits ?? 0n, with: m.savingCredits })),
  };
}

/** The side-by-side table printed after the battery run's report. */
export function renderComparison(without: DemoResult, withBattery: DemoResult): string {
  const c = compareRuns(without, withBattery);
  const cap = withBattery.battery ? `${kWh(withBattery.battery.capacityWh)} kWh battery` : "battery";
  const w = 16;
  const line = (label: string, x: string, y: string) => `  ${label.padEnd(34)}${x.padStart(w)}${y.padStart(w)}`;
  const out = [
    `Same seed (${withBattery.report.run.seed}), without and with the ${cap}`,
    line("", "no battery", `with ${cap.replace(" battery", "")}`),
    line("Self-sufficiency (households)", pct(c.selfSufficiencyBp[0]), pct(c.selfSufficiencyBp[1])),
    line("P2P volume (kWh)", kWh(c.p2pWh[0]), kWh(c.p2pWh[1])),
    line("Community saving (credits)", credits(c.savingCredits[0]), credits(c.savingCredits[1])),
  ];
  if (c.battery) {
    out.push(
      line("Battery bought / sold (kWh)", "-", `${kWh(c.battery.boughtWh)} / ${kWh(c.battery.soldWh)}`),
      line("Battery net revenue (credits)", "-", credits(c.battery.revenueCredits)),
      line("  per kWh of capacity (credits)", "-", credits(c.battery.revenuePerKWhCapacity)),
      line("Battery cycles (equivalent full)", "-", (Number(c.battery.cyclesPpm) / 1e6).toFixed(2)),
      line("Battery SoC start -> end (kWh)", "-", `${kWh(withBattery.battery!.socStartWh)} -> ${kWh(withBattery.battery!.socEndWh)}`),
    );
  }
  out.push("  Saving per member (credits)");
  for (const m of c.members) out.push(line(`    ${m.name} ${m.kind}`, credits(m.without), credits(m.with)));
  return out.join("\n");
}
