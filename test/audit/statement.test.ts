/**
 * Issue 18, item 1: one statement per member. The CLI bill, `audit member`, the demo's table and
 * the web app's bill all give, for the same member and intervals, exactly the figures of the SDK's
 * `memberStatementFigures` (src/sdk/statement.ts) — including the grid-only counterfactual and
 * the saving of a prosumer whose own export covered its own import (self-supply), where the
 * bill and the others used to disagree.
 */
import { expect } from "chai";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import Module from "node:module";
import { deployments, ethers } from "hardhat";
import { Side } from "../../src/sdk/eip712";
import { memberStatementFigures, STATEMENT_FIGURES, type SettledInterval, type StatementFigures } from "../../src/sdk/statement";
import { run as cli } from "../../src/cli/main";
import { buildReport } from "../../src/demo/report";
import { readChainEvents } from "../../src/demo/runner";
import { CREDIT, deployMarketWorld, MarketWorld, runInterval } from "../helpers/market";

// The web app imports the SDK as "@sdk/..." (a Vite alias); resolve it the same way here.
const SDK = path.resolve(__dirname, "../../src/sdk");
const M = Module as unknown as { _resolveFilename: (req: string, ...rest: unknown[]) => string };
const resolve = M._resolveFilename;
M._resolveFilename = (req: string, ...rest: unknown[]) => resolve(req.startsWith("@sdk/") ? path.join(SDK, req.slice(5)) : req, ...rest);
// eslint-disable-next-line @typescript-eslint/no-var-requires
const web = require("../../web/src/ledger") as {
  // (typed here: the web app has its own tsconfig, with the "@sdk" alias the project's does not know)
  buildLedger(events: unknown[]): unknown;
  billOf(ledger: unknown, member: string): { interval: number; importWh: bigint; exportWh: bigint; netCredits: bigint; gridOnlyCredits: bigint; savingCredits: bigint }[];
};

const e = (importWh: bigint, exportWh: bigint) => ({ importWh, exportWh });

describe("one statement for a member: bill, audit member, demo table and web app", function () {
  this.timeout(120_000);
  let w: MarketWorld;
  let tmp: string;
  let env: NodeJS.ProcessEnv;
  let expected: StatementFigures;
  let prosumer: string;
  let fromBlock: number;

  before(async () => {
    w = await deployMarketWorld(3);
    const h = (i: number) => w.households[i];
    prosumer = h(0).address;
    await w.market.connect(h(0).signer).placeOrder(Side.Sell, 100_000, 0, 1, 50);
    await w.market.connect(h(1).signer).deposit(20n * CREDIT);
    await w.market.connect(h(1).signer).placeOrder(Side.Buy, 200_000, 0, 1, 50);
    // Two intervals in which the prosumer both imports and exports (self-supply), sells P2P and to the grid.
    await runInterval(w, 1, new Map([[h(0).address, e(900n, 2400n)], [h(1).address, e(1000n, 0n)], [h(2).address, e(300n, 0n)]]));
    await runInterval(w, 2, new Map([[h(0).address, e(1300n, 1700n)], [h(1).address, e(250n, 0n)]]));

    const record = await deployments.get("EnergyMarket");
    fromBlock = record.receipt?.blockNumber ?? 0;
    // Expected: the SDK function on the chain's own MemberSettled and IntervalCleared events.
    const cleared = await w.market.queryFilter(w.market.filters.IntervalCleared(), fromBlock);
    const tariffs = new Map(cleared.map((x) => [Number(x.args.interval), x.args]));
    const settled = await w.market.queryFilter(w.market.filters.MemberSettled(undefined, prosumer), fromBlock);
    const lines: SettledInterval[] = settled
      .filter((x) => Number(x.args.interval) >= 1 && Number(x.args.interval) <= 2)
      .map((x) => ({ interval: Number(x.args.interval), ...pick(x.args), retailPerKWh: tariffs.get(Number(x.args.interval))!.retailPerKWh, feedInPerKWh: tariffs.get(Number(x.args.interval))!.feedInPerKWh }));
    expect(lines.length).to.equal(2);
    expected = memberStatementFigures(lines).totals;
    // The case that used to differ: own export covering own import.
    expect(expected.selfSupplyWh > 0n).to.equal(true);
    expect(expected.soldWh > 0n).to.equal(true);

    tmp = fs.mkdtempSync(path.join(os.tmpdir(), "gl-statement-"));
    fs.mkdirSync(path.join(tmp, "hardhat"), { recursive: true });
    for (const name of ["CommunityRegistry", "EnergyToken", "CommunityCredit", "MeterReadings", "EnergyMarket"]) {
      const d = await deployments.get(name);
      fs.writeFileSync(path.join(tmp, "hardhat", `${name}.json`), JSON.stringify({ address: d.address, abi: d.abi, receipt: { blockNumber: d.receipt?.blockNumber } }));
    }
    env = { ...process.env, GRIDLEDGER_DEPLOYMENTS_DIR: tmp, GRIDLEDGER_AUDIT_DB: path.join(tmp, "audit.sqlite") };
  });
  after(() => fs.rmSync(tmp, { recursive: true, force: true }));

  function pick(a: { selfSupplyWh: bigint; soldWh: bigint; boughtWh: bigint; gridExportWh: bigint; gridImportWh: bigint; paidCredits: bigint; receivedCredits: bigint }) {
    return { selfSupplyWh: a.selfSupplyWh, soldWh: a.soldWh, boughtWh: a.boughtWh, gridExportWh: a.gridExportWh, gridImportWh: a.gridImportWh, paidCredits: a.paidCredits, receivedCredits: a.receivedCredits };
  }

  async function json(argv: string[]) {
    let out = "";
    let err = "";
    const code = await cli(["--network", "hardhat", "--json", ...argv], { embeddedProvider: ethers.provider, env, stdout: (t) => (out += t), stderr: (t) => (err += t) });
    expect(code, err).to.equal(0);
    return JSON.parse(out);
  }
  const asStrings = (f: StatementFigures) => Object.fromEntries(STATEMENT_FIGURES.map((k) => [k, f[k].toString()]));

  it("the CLI bill", async () => {
    const bill = await json(["bill", "--from", "1", "--to", "2", prosumer]);
    expect(Object.fromEntries(STATEMENT_FIGURES.map((k) => [k, bill[k]]))).to.deep.equal(asStrings(expected));
  });

  it("`audit member`", async () => {
    const doc = await json(["audit", "member", prosumer, "--from", "1", "--to", "2"]);
    expect(Object.fromEntries(STATEMENT_FIGURES.map((k) => [k, doc.statement.totals[k]]))).to.deep.equal(asStrings(expected));
  });

  it("the demo's member table", async () => {
    const events = await readChainEvents(w.market, fromBlock);
    const report = buildReport(
      { households: 3, seed: 1, network: "hardhat", firstInterval: 1, intervals: 2, intervalSeconds: 900, startOfDayInterval: 0 },
      events,
      [{ address: prosumer, name: "prosumer", kind: "prosumer", pvPeakW: 5000, ordersBy: "tx", notes: [] }],
    );
    const row = report.members.find((r) => r.address === prosumer)!;
    expect({
      importWh: row.importWh,
      exportWh: row.exportWh,
      selfSupplyWh: row.selfSupplyWh,
      boughtWh: row.boughtWh,
      soldWh: row.soldWh,
      gridImportWh: row.gridImportWh,
      gridExportWh: row.gridExportWh,
      p2pPaidCredits: row.paidCredits,
      p2pReceivedCredits: row.receivedCredits,
      gridCredits: row.gridCredits,
      netCostCredits: row.costCredits,
      gridOnlyCostCredits: row.gridOnlyCredits,
      savingCredits: row.savingCredits,
    }).to.deep.equal({
      importWh: expected.importWh,
      exportWh: expected.exportWh,
      selfSupplyWh: expected.selfSupplyWh,
      boughtWh: expected.boughtWh,
      soldWh: expected.soldWh,
      gridImportWh: expected.gridImportWh,
      gridExportWh: expected.gridExportWh,
      p2pPaidCredits: expected.p2pPaidCredits,
      p2pReceivedCredits: expected.p2pReceivedCredits,
      gridCredits: expected.gridImportCostCredits - expected.gridExportRevenueCredits,
      netCostCredits: expected.netCostCredits,
      gridOnlyCostCredits: expected.gridOnlyCostCredits,
      savingCredits: expected.savingCredits,
    });
  });

  it("the web app's bill", async () => {
    const evs = [];
    for (const [contract, c] of [["registry", w.registry], ["market", w.market], ["readings", w.readings]] as const) {
      const logs = await ethers.provider.getLogs({ address: await c.getAddress(), fromBlock });
      for (const log of logs) {
        const parsed = c.interface.parseLog(log);
        if (parsed) evs.push({ contract, name: parsed.name, args: parsed.args, blockNumber: log.blockNumber, logIndex: log.index, txHash: log.transactionHash });
      }
    }
    evs.sort((a, b) => a.blockNumber - b.blockNumber || a.logIndex - b.logIndex);
    const lines = web.billOf(web.buildLedger(evs), prosumer).filter((b) => b.interval >= 1 && b.interval <= 2);
    const sum = (f: (b: (typeof lines)[number]) => bigint) => lines.reduce((acc, b) => acc + f(b), 0n);
    expect({
      importWh: sum((b) => b.importWh),
      exportWh: sum((b) => b.exportWh),
      netCostCredits: sum((b) => b.netCredits),
      gridOnlyCostCredits: sum((b) => b.gridOnlyCredits),
      savingCredits: sum((b) => b.savingCredits),
    }).to.deep.equal({
      importWh: expected.importWh,
      exportWh: expected.exportWh,
      netCostCredits: expected.netCostCredits,
      gridOnlyCostCredits: expected.gridOnlyCostCredits,
      savingCredits: expected.savingCredits,
    });
  });
});
