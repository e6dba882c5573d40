/**
 * The storage agent as a real process against `npx hardhat node`: SIGKILL it right after its
 * first order transaction lands (mid-step, before or after its state write), restart it, and
 * check it resumes from the chain and its state file without a duplicate order, then keeps
 * deciding in the next interval without sending anything new (its status has not changed).
 */
import { expect } from "chai";
import * as path from "node:path";
import { Contract, NonceManager, id } from "ethers";
import { hardhatAccount } from "../oracle/chain";
import { tmpDir, waitFor } from "../oracle/helpers";
import { HardhatNode, Processes, startHardhatNode } from "../helpers/node";

describe("agent / storage daemon: SIGKILL and restart (real processes)", function () {
  this.timeout(300_000);
  const procs = new Processes();
  const I = 15;
  let work = "";
  let node: HardhatNode;
  const battery = hardhatAccount(7);
  const status = JSON.stringify({ socWh: 20_000, capacityWh: 50_000, powerW: 25_000, roundTripEfficiency: 0.9 });

  before(async () => {
    work = tmpDir("gl-agent-kill-");
    node = await startHardhatNode(procs, { work, intervalSeconds: I, marketStart: Math.floor(Date.now() / 1000 / I) * I });
    const admin = new NonceManager(hardhatAccount(0).connect(node.provider));
    const r = (n: string) => node.record(n);
    const registry = new Contract(r("CommunityRegistry").address, r("CommunityRegistry").abi, admin);
    const credit = new Contract(r("CommunityCredit").address, r("CommunityCredit").abi, admin);
    await (await registry.onboardMember(battery.address, 3, id("identity:battery"))).wait();
    await (await registry.registerMeter(id("meter:battery"), battery.address, hardhatAccount(5).address, 30_000, 1, 0n, 0n)).wait();
    await (await credit.mint(battery.address, 50_000_000n)).wait();
    const own = battery.connect(node.provider);
    await (await new Contract(r("CommunityCredit").address, r("CommunityCredit").abi, own).approve(r("EnergyMarket").address, 50_000_000n)).wait();
    await (await new Contract(r("EnergyMarket").address, r("EnergyMarket").abi, own).deposit(50_000_000n)).wait();
  });

  after(() => {
    procs.killAll();
    node?.provider.destroy();
  });

  const agent = () =>
    procs.spawn(process.execPath, ["bin/gridledger.js", "--network", "localhost", "agent", "storage", "--status-json", status, "--state", path.join(work, "state.json"), "--poll-ms", "100"], {
      LOG_LEVEL: "info",
      LOCALHOST_RPC_URL: node.rpcUrl,
      GRIDLEDGER_DEPLOYMENTS_DIR: node.deploymentsDir,
      GRIDLEDGER_PRIVATE_KEY: battery.privateKey,
    });

  it("resumes without a duplicate order", async () => {
    const market = new Contract(node.record("EnergyMarket").address, node.record("EnergyMarket").abi, node.provider);
    const placed = async () => (await market.queryFilter(market.filters.OrderPlaced(battery.address))).length;
    const cancelled = async () => (await market.queryFilter(market.filters.OrderCancelled(battery.address))).length;

    const first = agent();
    await waitFor(async () => (await placed()) >= 1 || first.ended(), "the agent's first order", 120_000, 20);
    first.signal("SIGKILL");
    await first.exited();
    const beforeRestart = await placed();
    expect(beforeRestart).to.be.within(1, 2, first.output());

    const second = agent();
    const decisions = () => second.output().split("\n").filter((l) => l.includes('"msg":"decision"'));
    await waitFor(() => decisions().length >= 1 || second.ended(), "the restarted agent's decision", 120_000, 100);
    expect(second.ended(), second.output()).to.equal(false);
    // The decision the restart made sends only what the killed one had not sent.
    const buy = await market.orderOf(battery.address, 0);
    const sell = await market.orderOf(battery.address, 1);
    expect(buy.orderId).to.not.equal(0n);
    expect(sell.orderId).to.not.equal(0n);
    expect(await placed()).to.equal(2);
    // The next interval: the same status, the same decision, nothing sent.
    await waitFor(() => decisions().length >= 2 || second.ended(), "a decision in the next interval", 120_000, 200);
    expect(JSON.parse(decisions()[1]).actions).to.deep.equal({ buy: "none", sell: "none" });
    expect(await placed()).to.equal(2);
    expect(await cancelled()).to.equal(0);
    second.signal("SIGTERM");
    expect(await second.exited()).to.equal(0);
  });
});
