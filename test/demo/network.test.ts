/**
 * `npm run demo -- --network localhost` against a real `npx hardhat node` that already runs an
 * operator's community (issue 18): the demo never replaces those records nor moves the node's
 * clock unasked.
 */
import { expect } from "chai";
import * as fs from "node:fs";
import * as path from "node:path";
import { checkDemoDeploymentFolder, DEMO_MARKER } from "../../src/demo/runner";
import { tmpDir } from "../oracle/helpers";
import { HardhatNode, Processes, ROOT, startHardhatNode } from "../helpers/node";

describe("demo / on a shared hardhat node", function () {
  this.timeout(300_000);
  const procs = new Processes();
  let node: HardhatNode;
  let work: string;
  const records = () => path.join(node.deploymentsDir, "localhost");
  const snapshotRecords = () => Object.fromEntries(fs.readdirSync(records()).filter((f) => f.endsWith(".json")).map((f) => [f, fs.readFileSync(path.join(records(), f), "utf8")]));

  const demo = async (...flags: string[]) => {
    const p = procs.spawn("npx", ["ts-node", "--transpile-only", "scripts/demo.ts", "--network", "localhost", "--households", "3", "--intervals", "2", "--no-progress", ...flags], {
      LOCALHOST_RPC_URL: node.rpcUrl,
      GRIDLEDGER_DEPLOYMENTS_DIR: node.deploymentsDir,
    }, ROOT);
    const code = await p.exited();
    return { code, out: p.output() };
  };

  before(async () => {
    work = tmpDir("gl-demo-node-");
    node = await startHardhatNode(procs, { work, intervalSeconds: 900, marketStart: Math.floor(Date.now() / 1000 / 900) * 900, blockMs: 0 });
  });
  after(() => procs.killAll());

  it("refuses to move the node's clock without --move-clock, and touches nothing", async () => {
    const before = snapshotRecords();
    const t0 = (await node.provider.getBlock("latest"))!.timestamp;
    const r = await demo();
    expect(r.code, r.out).to.equal(1);
    expect(r.out).to.contain("refuses without --move-clock");
    expect(r.out).to.contain("Start a node of your own");
    expect((await node.provider.getBlock("latest"))!.timestamp - t0).to.be.lessThan(120);
    expect(snapshotRecords()).to.deep.equal(before);
  });

  it("with --move-clock deploys into its own records (deployments/demo) and leaves the operator's community alone", async () => {
    const before = snapshotRecords();
    const market = JSON.parse(before["EnergyMarket.json"]).address as string;
    const r = await demo("--move-clock");
    expect(r.code, r.out).to.equal(0);
    expect(r.out).to.contain("Intervals settled   2/2");
    expect(r.out).to.match(/Clock: the demo moved the node's clock forward by \d+ s/);
    expect(snapshotRecords()).to.deep.equal(before);
    expect(await node.provider.getCode(market)).to.not.equal("0x");
    const own = path.join(node.deploymentsDir, "demo", "localhost");
    expect(fs.existsSync(path.join(own, DEMO_MARKER))).to.equal(true);
    expect(JSON.parse(fs.readFileSync(path.join(own, "EnergyMarket.json"), "utf8")).address).to.not.equal(market);
  });

  it("refuses a records folder that holds a deployment it did not create, and says how to proceed", () => {
    expect(() => checkDemoDeploymentFolder(records())).to.throw(/holds a deployment the demo did not create/);
    expect(() => checkDemoDeploymentFolder(path.join(node.deploymentsDir, "demo", "localhost"))).not.to.throw();
    expect(() => checkDemoDeploymentFolder(path.join(work, "nothing-here"))).not.to.throw();
  });
});
