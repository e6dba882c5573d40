import { expect } from "chai";
import { startKeeper } from "../../src/keeper/daemon";
import { KeeperContracts, loadClearingInput, revertName, settleInterval } from "../../src/keeper/interval";
import { clearInterval as clearMarketInterval } from "../../src/sdk/clearing";
import { walkHint } from "../../src/sdk/hint";
import { Side } from "../../src/sdk/eip712";
import { CREDIT, deployMarketWorld, MarketWorld, revertTo, snapshot, submitReadings } from "../helpers/market";
import { goToInterval } from "../helpers/readings";

describe("keeper", () => {
  let w: MarketWorld;
  let base: string;
  before(async () => {
    w = await deployMarketWorld(6);
    base = await snapshot();
  });
  beforeEach(async () => {
    await revertTo(base);
    base = await snapshot();
  });

  const trade = async (interval: number) => {
    await goToInterval(w.readings, interval + 1);
    await submitReadings(
      w,
      w.households,
      interval,
      new Map([
        [w.households[0].address, { importWh: 0n, exportWh: 1000n }],
        [w.households[2].address, { importWh: 0n, exportWh: 800n }],
        [w.households[1].address, { importWh: 1200n, exportWh: 0n }],
        [w.households[3].address, { importWh: 900n, exportWh: 100n }],
      ]),
    );
  };

  const withSigner = (index: number): KeeperContracts => {
    const s = w.others[index];
    return {
      ...w.keeper,
      market: w.market.connect(s),
      readings: w.readings.connect(s),
      registry: w.registry.connect(s),
    };
  };

  beforeEach(async () => {
    await w.market.connect(w.households[0].signer).placeOrder(Side.Sell, 100_000, 0, 1, 100);
    await w.market.connect(w.households[2].signer).placeOrder(Side.Sell, 120_000, 0, 1, 100);
    for (const i of [1, 3]) {
      await w.market.connect(w.households[i].signer).deposit(20n * CREDIT);
      await w.market.connect(w.households[i].signer).placeOrder(Side.Buy, 250_000, 0, 1, 100);
    }
  });

  it("settles every ready interval in order and stops gracefully", async () => {
    for (const t of [1, 2, 3]) await trade(t);
    const seen: number[] = [];
    const k = await startKeeper({ contracts: w.keeper, pollMs: 20, pageSize: 2, maxIntervals: 3, onSettled: (o) => seen.push(o.interval) });
    await k.done;
    expect(seen).to.deep.equal([1, 2, 3]);
    expect(await w.market.nextInterval()).to.equal(4n);
    const again = await startKeeper({ contracts: w.keeper, pollMs: 20 });
    await again.stop();
    expect(await w.market.nextInterval()).to.equal(4n);
  });

  it("resumes an interval a killed keeper left half collected, without double work", async () => {
    await trade(1);
    const hint = walkHint(clearMarketInterval(await loadClearingInput(w.keeper, 1)));
    await w.market.collect(1, hint.slice(0, 2)); // the keeper died here
    const out = await settleInterval(w.keeper, 1, { pageSize: 2 });
    expect(out.collectTxs).to.equal(1);
    expect(out.settleTxs).to.equal(2);
    expect(await w.market.queryFilter(w.market.filters.IntervalSettled(1), w.keeper.fromBlock)).to.have.length(1);
    expect((await w.market.queryFilter(w.market.filters.MemberSettled(1), w.keeper.fromBlock)).length).to.equal(4);
  });

  it("lets two keepers race on the same interval: it is settled exactly once", async () => {
    await trade(1);
    await trade(2);
    const [a, b] = await Promise.all([
      settleInterval(withSigner(0), 1, { pageSize: 1 }),
      settleInterval(withSigner(1), 1, { pageSize: 1 }),
    ]);
    expect(a.collectTxs + b.collectTxs).to.be.at.least(4);
    expect(await w.market.queryFilter(w.market.filters.IntervalSettled(1), w.keeper.fromBlock)).to.have.length(1);
    expect((await w.market.queryFilter(w.market.filters.MemberSettled(1), w.keeper.fromBlock)).length).to.equal(4);
    expect(await w.market.nextInterval()).to.equal(2n);
  });

  // On a chain of several nodes, the node a keeper fails over to may lack the interval's last
  // readings (sealed in a block the stopped node never shared; they are in the others' pools).
  it("waits when the node says the interval is not ready, and settles once the readings arrive", async () => {
    await goToInterval(w.readings, 2);
    const energy = new Map(w.households.map((h, i) => [h.address, { importWh: i % 2 ? 700n : 0n, exportWh: i % 2 ? 0n : 500n }]));
    await submitReadings(w, w.households.slice(0, 5), 1, energy);
    expect(await w.readings.isReady(1)).to.equal(false);
    let settled = false;
    const run = settleInterval(w.keeper, 1, { notReadyWaitMs: 30_000, pollMs: 50 }).then((o) => ((settled = true), o));
    await new Promise((r) => setTimeout(r, 500));
    expect(settled, "settled before the last reading").to.equal(false);
    await submitReadings(w, w.households.slice(5), 1, energy);
    const outcome = await run;
    expect(outcome.participants).to.equal(6);
    expect((await w.market.intervalState(1)).phase).to.equal(3n); // Settled
  });

  it("gives up with the contract's error when the interval stays not ready", async () => {
    await goToInterval(w.readings, 2);
    await submitReadings(w, w.households.slice(0, 5), 1, new Map());
    const err = await settleInterval(w.keeper, 1, { notReadyWaitMs: 200, pollMs: 50 }).catch((e: unknown) => e);
    expect(revertName(err)).to.equal("MarketIntervalNotReady");
  });

  it("recognises a custom error in a node's raw estimateGas answer", () => {
    // What geth answers: the revert data only, which ethers leaves undecoded.
    const fromNode = {
      code: "CALL_EXCEPTION",
      shortMessage: "execution reverted (unknown custom error)",
      info: { error: { code: 3, message: "execution reverted", data: "0xcd26e46e0000000000000000000000000000000000000000000000000000000000000006" } },
    };
    expect(revertName(fromNode)).to.equal("MarketIntervalNotReady");
    expect(revertName(new Error("network down"))).to.equal(undefined);
  });
});

describe("keeper / start-up checks and clock skew (issue 18)", () => {
  let w: MarketWorld;
  before(async () => {
    w = await deployMarketWorld(2);
  });

  it("refuses to start against a node without the contracts, naming each one and the chain id", async () => {
    const { ethers } = await import("hardhat");
    const nowhere = ethers.Wallet.createRandom().address;
    const contracts: KeeperContracts = { ...w.keeper, market: w.market.attach(nowhere) as typeof w.market };
    try {
      await startKeeper({ contracts, pollMs: 20, expectedChainId: 1n });
      expect.fail("started");
    } catch (e) {
      const msg = (e as Error).message;
      expect(msg).to.contain(`EnergyMarket: no contract at ${nowhere}`);
      expect(msg).to.contain("chain id: the node answers 31337, the configuration expects 1");
    }
  });

  it("reports the skew between the chain's clock and its own in /healthz and /metrics", async () => {
    const { time } = await import("@nomicfoundation/hardhat-network-helpers");
    // The embedded chain is now an hour ahead of the wall clock. From the later of its last block
    // and the wall clock: in a long run the last block may be minutes old (time.increase counts
    // from the last block's time).
    await time.increaseTo(Math.max(await time.latest(), Math.floor(Date.now() / 1000)) + 3600);
    const expected = (await time.latest()) - Math.floor(Date.now() / 1000); // other suites move the chain too
    expect(expected).to.be.greaterThan(3590);
    const k = await startKeeper({ contracts: w.keeper, pollMs: 20, httpPort: 0 });
    try {
      const health = (await (await fetch(`http://127.0.0.1:${k.httpPort}/healthz`)).json()) as { chainClockSkewSeconds: number };
      const skew = Number(health.chainClockSkewSeconds);
      expect(skew).to.be.within(expected - 5, expected + 1);
      const metrics = await (await fetch(`http://127.0.0.1:${k.httpPort}/metrics`)).text();
      expect(Number(/gridledger_keeper_chain_clock_skew_seconds (-?\d+)/.exec(metrics)?.[1])).to.be.within(expected - 5, expected + 1);
    } finally {
      await k.stop();
    }
  });
});
