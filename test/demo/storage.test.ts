import { expect } from "chai";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import hre from "hardhat";
import { compareRuns, renderComparison, renderReport, resolveOptions, runDemo, selfSufficiencyBp } from "../../src/demo";
import type { DemoResult } from "../../src/demo";
import { memberStatement, runAudit } from "../../src/audit";
import type { EnergyMarket, CommunityRegistry } from "../../typechain-types";

describe("demo / a community battery (storage member) on the embedded chain", function () {
  this.timeout(300_000);
  let without: DemoResult;
  let withBattery: DemoResult;
  let market: EnergyMarket;

  before(async () => {
    // The afternoon: the battery (empty at the start) charges from the PV surplus and sells
    // into the evening. 6 households, 20 intervals from 14:00.
    const base = resolveOptions({ households: 6, intervals: 20, seed: 3, startHour: 14, progress: false }, {});
    without = await runDemo(hre, base);
    withBattery = await runDemo(hre, { ...base, batteryKWh: 20 });
    market = (await hre.ethers.getContractAt("EnergyMarket", withBattery.audited.addresses.market)) as unknown as EnergyMarket;
  });

  it("onboards the battery as a member of kind storage", async () => {
    const registry = (await hre.ethers.getContractAt("CommunityRegistry", withBattery.audited.addresses.registry)) as unknown as CommunityRegistry;
    expect((await registry.memberOf(withBattery.battery!.address)).kind).to.equal(3n);
    expect(renderReport(withBattery.report, withBattery.audit, withBattery.summary)).to.match(/BATTERY +storage +agent/);
  });

  it("meters exactly what the battery trades: no grid flow of its own, SoC within limits", async () => {
    const b = withBattery.battery!;
    const settled = (await market.queryFilter(market.filters.MemberSettled(undefined, b.address))).filter(
      (e) => Number(e.args.interval) >= withBattery.audited.firstInterval,
    );
    const bought = settled.reduce((s, e) => s + e.args.boughtWh, 0n);
    const sold = settled.reduce((s, e) => s + e.args.soldWh, 0n);
    expect(bought > 0n, "the battery should charge in the afternoon").to.equal(true);
    expect(sold > 0n, "and sell in the evening").to.equal(true);
    for (const e of settled) {
      expect(e.args.gridImportWh).to.equal(0n);
      expect(e.args.gridExportWh).to.equal(0n);
    }
    expect(b.socEndWh >= 0n && b.socEndWh <= b.capacityWh).to.equal(true);
    // Never sold more than it bought, after losses.
    expect(sold <= (bought * b.roundTripPpm) / 1_000_000n).to.equal(true);
  });

  it("raises self-sufficiency, earns a positive revenue and prints both runs side by side", () => {
    const c = compareRuns(without, withBattery);
    expect(c.selfSufficiencyBp[1] > c.selfSufficiencyBp[0]).to.equal(true);
    expect(c.battery!.revenueCredits > 0n).to.equal(true);
    expect(c.selfSufficiencyBp[0]).to.equal(selfSufficiencyBp(without.report.totals));
    const text = renderComparison(without, withBattery);
    expect(text).to.contain("Self-sufficiency (households)");
    expect(text).to.contain("Battery net revenue (credits)");
    for (const m of without.report.members) expect(text).to.contain(m.name);
  });

  it("is audited like any member: every interval re-clears and the statement names the kind", async () => {
    expect(withBattery.audit).to.match(/^Audit: ok/);
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "gridledger-storage-audit-"));
    const run = await runAudit({ provider: hre.ethers.provider, addresses: withBattery.audited.addresses, fromBlock: withBattery.audited.fromBlock, dbPath: path.join(dir, "a.sqlite") });
    try {
      expect(run.violations).to.deep.equal([]);
      const st = memberStatement(run.state, withBattery.battery!.address, { from: withBattery.audited.firstInterval, to: withBattery.audited.lastInterval });
      expect(st.kind).to.equal("storage");
      expect(st.totals.importWh).to.equal(st.totals.boughtWh);
      expect(st.totals.exportWh).to.equal(st.totals.soldWh);
      expect(st.totals.p2pReceivedCredits - st.totals.p2pPaidCredits).to.equal(compareRuns(without, withBattery).battery!.revenueCredits);
    } finally {
      run.close();
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});
