import { expect } from "chai";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import hre from "hardhat";
import { credits, kWh, renderReport, resolveOptions, runAuditIfAvailable, runDemo } from "../../src/demo";
import { DEMO_FLAG } from "../../src/demo/options";
import type { DemoResult } from "../../src/demo";
import type { EnergyMarket, MeterReadings } from "../../typechain-types";
import { Phase } from "../../src/keeper/interval";
import { gridExportRevenue, gridImportCost } from "../../src/sdk/clearing";
import { surplusSplit } from "../../src/sdk/surplus";

describe("demo / a short community run on the embedded chain", function () {
  this.timeout(120_000);
  let result: DemoResult;
  let text: string;
  let market: EnergyMarket;
  let readings: MeterReadings;
  let first: number;
  let last: number;

  before(async () => {
    // Midday, so that the sun shines and neighbours trade; 8 intervals are enough for the late
    // joiner (3rd), the suspension (3rd to 5th) and the mid-day order updates (4th).
    const options = resolveOptions({ households: 6, intervals: 8, seed: 3, startHour: 11, progress: false }, {});
    result = await runDemo(hre, options);
    text = renderReport(result.report, result.audit, result.summary);
    market = (await hre.ethers.getContractAt("EnergyMarket", result.audited.addresses.market)) as unknown as EnergyMarket;
    readings = (await hre.ethers.getContractAt("MeterReadings", result.audited.addresses.readings)) as unknown as MeterReadings;
    first = result.audited.firstInterval;
    last = result.audited.lastInterval;
  });

  const inRun = (t: bigint) => Number(t) >= first && Number(t) <= last;

  it("settles every interval of the run, in order", async () => {
    expect(last - first + 1).to.equal(8);
    for (let t = first; t <= last; t++) expect(Number((await market.intervalState(t)).phase)).to.equal(Phase.Settled);
    expect(await market.nextInterval()).to.equal(BigInt(last + 1));
    expect(result.report.intervals.map((r) => r.interval)).to.deep.equal(Array.from({ length: 8 }, (_, i) => first + i));
    expect(text).to.contain("Intervals settled   8/8");
  });

  it("prints per-member and community totals equal to the chain's events", async () => {
    const [traded, settled, cleared] = await Promise.all([
      market.queryFilter(market.filters.Traded()),
      market.queryFilter(market.filters.MemberSettled()),
      market.queryFilter(market.filters.IntervalCleared()),
    ]);
    const tariff = new Map(cleared.filter((e) => inRun(e.args.interval)).map((e) => [Number(e.args.interval), e.args]));
    const run = settled.filter((e) => inRun(e.args.interval));
    const sum = (f: (e: (typeof run)[number]) => bigint, list = run) => list.reduce((s, e) => s + f(e), 0n);
    const tradedWh = traded.filter((e) => inRun(e.args.interval)).reduce((s, e) => s + e.args.wh, 0n);
    expect(tradedWh).to.be.greaterThan(0n, "the run should trade at midday");
    expect(tradedWh).to.equal([...tariff.values()].reduce((s, c) => s + c.matchedWh, 0n));
    expect(sum((e) => e.args.boughtWh)).to.equal(tradedWh);
    expect(sum((e) => e.args.soldWh)).to.equal(tradedWh);

    const cost = (e: (typeof run)[number]) => {
      const t = tariff.get(Number(e.args.interval))!;
      return e.args.paidCredits - e.args.receivedCredits + gridImportCost(e.args.gridImportWh, t.retailPerKWh) - gridExportRevenue(e.args.gridExportWh, t.feedInPerKWh);
    };
    const totals = result.report.totals;
    expect(totals.tradedWh).to.equal(tradedWh);
    expect(totals.boughtWh).to.equal(tradedWh);
    expect(totals.gridImportWh).to.equal(sum((e) => e.args.gridImportWh));
    expect(totals.gridExportWh).to.equal(sum((e) => e.args.gridExportWh));
    expect(totals.costCredits).to.equal(sum(cost));

    // The printed community row: bought, sold, grid in, grid out, cost.
    const row = text.split("\n").find((l) => l.startsWith("Community "))!.trim().split(/\s+/);
    expect(row.slice(1, 6)).to.deep.equal([
      kWh(tradedWh),
      kWh(tradedWh),
      kWh(sum((e) => e.args.gridImportWh)),
      kWh(sum((e) => e.args.gridExportWh)),
      credits(sum(cost)),
    ]);
    expect(text).to.contain(`${kWh(tradedWh)} kWh in ${traded.filter((e) => inRun(e.args.interval)).length} trades`);

    // Every member's printed row: bought and sold from its own events.
    for (const m of result.report.members) {
      const mine = run.filter((e) => e.args.member === m.address);
      const line = text.split("\n").find((l) => l.startsWith(`${m.name} `))!;
      const cells = line.trim().split(/\s{2,}/);
      expect(cells.slice(3, 5), m.name).to.deep.equal([kWh(sum((e) => e.args.boughtWh, mine)), kWh(sum((e) => e.args.soldWh, mine))]);
      expect(m.costCredits, m.name).to.equal(sum(cost, mine));
    }
  });

  it("prints how the gains of trading split between sellers and buyers, from surplusSplit over the chain's events", async () => {
    const [cleared, settled] = await Promise.all([market.queryFilter(market.filters.IntervalCleared()), market.queryFilter(market.filters.MemberSettled())]);
    const expected = surplusSplit(
      cleared.filter((e) => inRun(e.args.interval)).map((e) => ({ interval: Number(e.args.interval), pricePerKWh: e.args.pricePerKWh, matchedWh: e.args.matchedWh, retailPerKWh: e.args.retailPerKWh, feedInPerKWh: e.args.feedInPerKWh })),
      settled.filter((e) => inRun(e.args.interval)).map((e) => ({ interval: Number(e.args.interval), member: e.args.member, soldWh: e.args.soldWh, boughtWh: e.args.boughtWh, receivedCredits: e.args.receivedCredits, paidCredits: e.args.paidCredits })),
    );
    expect(result.report.gains).to.deep.equal(expected);
    const g = expected.community;
    expect(g.sellerGainCredits >= 0n && g.buyerGainCredits >= 0n).to.equal(true);
    expect(text).to.contain("Gains of trading against the grid tariffs");
    expect(text).to.contain(`Sellers ${credits(g.sellerGainCredits)} credits`);
    expect(text).to.contain(`buyers ${credits(g.buyerGainCredits)} credits`);
    const row = text.split("\n").filter((l) => l.startsWith("Community "))[1]!.trim().split(/\s+/);
    expect(row.slice(1)).to.deep.equal([
      kWh(g.soldWh), credits(g.receivedCredits), credits(g.feedInValueCredits), credits(g.sellerGainCredits),
      kWh(g.boughtWh), credits(g.paidCredits), credits(g.retailValueCredits), credits(g.buyerGainCredits),
    ]);
  });

  it("lands every reading through the oracle daemon's submitter, and refuses the suspended member's", async () => {
    const accepted = (await readings.queryFilter(readings.filters.ReadingAccepted())).filter((e) => inRun(e.args.interval));
    const senders = new Set(await Promise.all(accepted.map(async (e) => (await e.getTransaction()).from)));
    expect([...senders]).to.deep.equal([result.accounts.oracle]);
    expect(result.stats.oracleBatches).to.equal(8);
    const rejected = (await readings.queryFilter(readings.filters.ReadingRejected())).filter((e) => inRun(e.args.interval));
    expect(rejected.length).to.equal(result.stats.readingsRejected).and.to.be.greaterThan(0);
    expect(rejected.every((e) => Number(e.args.reason) === 4)).to.equal(true); // OwnerNotActive
  });

  it("places orders by transaction and by signatures relayed by another account", async () => {
    expect(result.stats.ordersByTx).to.be.greaterThan(0);
    expect(result.stats.ordersSigned).to.be.greaterThan(0);
    expect(result.stats.orderUpdates).to.be.greaterThan(0);
    const placed = await market.queryFilter(market.filters.OrderPlaced());
    const relayed = await Promise.all(placed.map(async (e) => (await e.getTransaction()).from === result.accounts.relayer && e.args.member !== result.accounts.relayer));
    expect(relayed.filter(Boolean).length).to.equal(result.stats.ordersSigned);
  });

  it("shows the late joiner and the suspension in the member table", () => {
    expect(text).to.match(/joined 11:45/);
    expect(text).to.match(/suspended 11:45-12:15/);
    expect(text).to.contain("Clearing price");
  });
});

describe("demo / options", () => {
  it("starts a short run around midday by default, so that it has sun and trades", () => {
    expect(resolveOptions({ intervals: 8 }, {}).startHour).to.equal(11);
    expect(resolveOptions({ intervals: 48 }, {}).startHour).to.equal(6);
    expect(resolveOptions({}, {}).startHour).to.equal(0); // a whole day from midnight
    expect(resolveOptions({ intervals: 8, startHour: 3 }, {}).startHour).to.equal(3);
    expect(resolveOptions({ intervals: 8 }, { DEMO_START_HOUR: "0" }).startHour).to.equal(0);
  });

  it("names the flag as scripts/demo.ts spells it when an option is wrong", () => {
    const script = fs.readFileSync(path.join(__dirname, "../../scripts/demo.ts"), "utf8");
    for (const [key, flag] of Object.entries(DEMO_FLAG)) {
      expect(script, flag).to.contain(`.option("${flag} `);
      expect(() => resolveOptions({ [key]: "x" }, {}), key).to.throw(`${flag} (`);
    }
  });

  it("lists every flag of scripts/demo.ts in the README", () => {
    const script = fs.readFileSync(path.join(__dirname, "../../scripts/demo.ts"), "utf8");
    const flags = [...script.matchAll(/\.option\("(--[a-z-]+)/g)].map((m) => m[1]);
    expect(flags.length).to.be.greaterThan(8);
    const readme = fs.readFileSync(path.join(__dirname, "../../README.md"), "utf8");
    for (const f of flags) expect(readme, f).to.contain(`\`${f}`);
  });
});

describe("demo / audit hook", () => {
  it("prints Audit: (pending) without src/audit and the verdict with it", async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "gl-audit-"));
    const input = { firstInterval: 1, lastInterval: 2 } as never;
    expect(await runAuditIfAvailable(input, path.join(dir, "index.ts"))).to.equal("Audit: (pending)");
    fs.writeFileSync(path.join(dir, "index.js"), "exports.auditDemo = async (i) => ({ ok: true, summary: `intervals ${i.firstInterval}-${i.lastInterval} re-cleared` });\n");
    expect(await runAuditIfAvailable(input, path.join(dir, "index.ts"))).to.equal("Audit: ok - intervals 1-2 re-cleared");
  });
});
