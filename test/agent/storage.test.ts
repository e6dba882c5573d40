import { expect } from "chai";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import fc from "fast-check";
import { decide, DecisionInput } from "../../src/agent/storage/strategy";
import { forecast } from "../../src/agent/storage/forecast";
import { StorageAgent } from "../../src/agent/storage/agent";
import { startStorageAgent } from "../../src/agent/storage/daemon";
import { parseStatus, simulatorStatus } from "../../src/agent/storage/status";
import { Battery, maxExportWh, maxImportWh, PPM, splitRoundTrip } from "../../src/sim/battery";
import { Side } from "../../src/sdk/eip712";
import { CREDIT, deployMarketWorld, MarketWorld, revertTo, snapshot } from "../helpers/market";
import { identityHash, MemberKind, meterId } from "../helpers/fixtures";
import { goToInterval } from "../helpers/readings";

const tariffs = { retailPerKWh: 300_000n, feedInPerKWh: 80_000n };

describe("agent / storage: strategy limits", () => {
  const arb = fc.record({
    capacityWh: fc.bigInt(1_000n, 500_000n),
    powerW: fc.bigInt(100n, 250_000n),
    charge: fc.bigInt(500_000n, 1_000_000n),
    discharge: fc.bigInt(500_000n, 1_000_000n),
    socShare: fc.bigInt(0n, 1_000n),
    costBasis: fc.bigInt(0n, 400_000n),
    margin: fc.bigInt(0n, 50_000n),
    share: fc.bigInt(0n, 1_000_000n),
    deposit: fc.bigInt(0n, 100n * CREDIT),
    prices: fc.array(fc.record({ price: fc.option(fc.bigInt(80_000n, 300_000n)), surplus: fc.bigInt(0n, 5_000n), deficit: fc.bigInt(0n, 5_000n), samples: fc.nat(3) }), { maxLength: 8 }),
  });
  type Arb = typeof arb extends fc.Arbitrary<infer T> ? T : never;
  const input = (a: Arb): DecisionInput => {
    const spec = { capacityWh: a.capacityWh, powerW: a.powerW, chargeEfficiencyPpm: a.charge, dischargeEfficiencyPpm: a.discharge };
    return {
      interval: 10,
      intervalSeconds: 900,
      spec,
      socWh: (a.capacityWh * a.socShare) / 1_000n,
      tariffs,
      forecast: a.prices.map((p, i) => ({ interval: 10 + i, pricePerKWh: p.price ?? undefined, surplusWh: p.surplus, deficitWh: p.deficit, samples: p.samples })),
      costBasisPerKWh: a.costBasis,
      marginPerKWh: a.margin,
      fallbackBuySharePpm: a.share,
      depositCredits: a.deposit,
    };
  };

  it("never sells energy it does not hold", () => {
    fc.assert(
      fc.property(arb, (a) => {
        const i = input(a);
        const d = decide(i);
        if (i.socWh === 0n) expect(d.sell).to.equal(undefined);
        if (d.sell) {
          expect(d.sell.capWhPerInterval > 0n).to.equal(true);
          expect(d.sell.capWhPerInterval <= maxExportWh(i.spec, i.socWh, 900)).to.equal(true);
          // What the cap lets out never needs more than the store holds.
          expect((d.sell.capWhPerInterval * PPM + i.spec.dischargeEfficiencyPpm - 1n) / i.spec.dischargeEfficiencyPpm <= i.socWh).to.equal(true);
        }
      }),
      { seed: 20, numRuns: 200 },
    );
  });

  it("never buys beyond its capacity (a full battery holds no buy order: cap 0 would mean no cap)", () => {
    fc.assert(
      fc.property(arb, (a) => {
        const i = input(a);
        const d = decide(i);
        if (i.socWh === i.spec.capacityWh) expect(d.buy).to.equal(undefined);
        if (d.buy) {
          expect(d.buy.capWhPerInterval > 0n).to.equal(true);
          expect(d.buy.capWhPerInterval <= maxImportWh(i.spec, i.socWh, 900)).to.equal(true);
          expect(i.socWh + (d.buy.capWhPerInterval * i.spec.chargeEfficiencyPpm) / PPM <= i.spec.capacityWh).to.equal(true);
          expect((d.buy.capWhPerInterval * d.buy.limitPricePerKWh) / 1000n <= i.depositCredits).to.equal(true);
        }
      }),
      { seed: 21, numRuns: 200 },
    );
  });

  it("never orders at a loss: sell limit >= max(buy limit, cost basis) / round trip + margin, both within the tariffs", () => {
    fc.assert(
      fc.property(arb, (a) => {
        const i = input(a);
        const d = decide(i);
        const eta = (i.spec.chargeEfficiencyPpm * i.spec.dischargeEfficiencyPpm) / PPM;
        if (d.buy) {
          expect(d.buy.limitPricePerKWh > tariffs.feedInPerKWh).to.equal(true);
          // Even the worst case of buying at the limit and selling at retail keeps the margin.
          expect((d.buy.limitPricePerKWh * PPM) / eta + i.marginPerKWh <= tariffs.retailPerKWh).to.equal(true);
        }
        if (d.sell) {
          expect(d.sell.limitPricePerKWh <= tariffs.retailPerKWh).to.equal(true);
          const paid = d.basis.buyLimitPerKWh > (i.costBasisPerKWh || 0n) ? d.basis.buyLimitPerKWh : i.costBasisPerKWh;
          // Revenue of 1 kWh sold >= cost of the 1/eta kWh bought for it + margin.
          expect(d.sell.limitPricePerKWh * eta >= paid * PPM + i.marginPerKWh * eta).to.equal(true);
          if (d.buy) expect(d.sell.limitPricePerKWh * eta >= d.buy.limitPricePerKWh * PPM).to.equal(true);
        }
      }),
      { seed: 22, numRuns: 200 },
    );
  });

  it("forecasts from the same time of day on past days and falls back to the tariffs without history", () => {
    const hist = [
      { interval: 4, pricePerKWh: 120_000n, matchedWh: 10n, surplusWh: 900n, deficitWh: 0n },
      { interval: 8, pricePerKWh: 140_000n, matchedWh: 10n, surplusWh: 300n, deficitWh: 0n },
      { interval: 5, pricePerKWh: 0n, matchedWh: 0n, surplusWh: 0n, deficitWh: 700n },
    ];
    const f = forecast(hist, { from: 12, horizon: 2, intervalsPerDay: 4, days: 2 });
    expect(f[0]).to.deep.equal({ interval: 12, pricePerKWh: 130_000n, surplusWh: 600n, deficitWh: 0n, samples: 2 });
    // Slot 13: day -1 is interval 9 (no record), day -2 is interval 5: one sample, no price (nothing matched).
    expect(f[1]).to.deep.equal({ interval: 13, pricePerKWh: undefined, surplusWh: 0n, deficitWh: 700n, samples: 1 });
    const spec = { capacityWh: 10_000n, powerW: 5_000n, ...splitRoundTrip(900_000n) };
    const d = decide({ interval: 1, intervalSeconds: 900, spec, socWh: 0n, tariffs, forecast: [], costBasisPerKWh: 0n, marginPerKWh: 5_000n, fallbackBuySharePpm: 300_000n, depositCredits: CREDIT * 10n });
    expect(d.basis.forecastSource).to.equal("tariffs");
    expect(d.buy!.limitPricePerKWh).to.equal(80_000n + (220_000n * 3n) / 10n);
    expect(d.reasons.buy).to.match(/tariff fallback/);
  });

  it("parses a device status and names every bad field", () => {
    const s = parseStatus('{"socPercent": 50, "capacityWh": 20000, "powerW": 10000, "roundTripEfficiency": 0.9, "timestamp": 1}');
    expect(s.socWh).to.equal(10_000n);
    expect(s.spec.chargeEfficiencyPpm).to.equal(948_683n);
    expect(() => parseStatus('{"socWh": -1, "powerW": "x"}')).to.throw(/socWh.*powerW|powerW.*capacityWh|capacityWh/);
    expect(() => parseStatus('{"socWh": 30000, "capacityWh": 20000, "powerW": 1, "roundTripEfficiency": 0.9}')).to.throw(/socWh/);
  });
});

describe("agent / storage on chain", function () {
  this.timeout(120_000);
  let w: MarketWorld;
  let base: string;
  let dir: string;
  let storageSigner: MarketWorld["households"][number]["signer"];
  let battery: Battery;
  const BAT = meterId("battery");

  before(async () => {
    w = await deployMarketWorld(2);
    const { ethers } = await import("hardhat");
    storageSigner = (await ethers.getSigners())[15];
    await w.registry.onboardMember(storageSigner.address, MemberKind.Storage, identityHash("battery"));
    await w.registry.registerMeter(BAT, storageSigner.address, w.signerKey.address, 20_000, 1, 0n, 0n);
    await w.credit.mint(storageSigner.address, 100n * CREDIT);
    await w.credit.connect(storageSigner).approve(await w.market.getAddress(), 100n * CREDIT);
    await w.market.connect(storageSigner).deposit(50n * CREDIT);
    base = await snapshot();
  });
  beforeEach(async () => {
    await revertTo(base);
    base = await snapshot();
    dir = fs.mkdtempSync(path.join(os.tmpdir(), "gridledger-agent-"));
    battery = new Battery({ capacityWh: 20_000n, powerW: 10_000n, ...splitRoundTrip(900_000n), socWh: 5_000n });
  });
  afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

  const agentFor = (o: Partial<ConstructorParameters<typeof StorageAgent>[0]> = {}) =>
    new StorageAgent({
      contracts: { market: w.market.connect(storageSigner), readings: w.readings, fromBlock: w.keeper.fromBlock },
      member: storageSigner.address,
      source: simulatorStatus(battery),
      statePath: path.join(dir, "state.json"),
      ...o,
    });
  const placed = async () => (await w.market.queryFilter(w.market.filters.OrderPlaced(storageSigner.address))).length;

  it("places a buy and a sell order within its limits, once per interval", async () => {
    const a = agentFor();
    const r = await a.step();
    expect(r.actions).to.deep.equal({ buy: "place", sell: "place" });
    const [buy, sell] = await Promise.all([w.market.orderOf(storageSigner.address, Side.Buy), w.market.orderOf(storageSigner.address, Side.Sell)]);
    expect(buy.capWhPerInterval).to.equal(maxImportWh(battery.spec, battery.socWh, 900));
    expect(sell.capWhPerInterval).to.equal(maxExportWh(battery.spec, battery.socWh, 900));
    expect(sell.limitPricePerKWh > buy.limitPricePerKWh).to.equal(true);
    expect(Number(buy.firstInterval)).to.equal(r.interval);
    expect((await a.step()).skipped).to.equal(true);
    expect(await placed()).to.equal(2);
  });

  it("cancels its buy order when the battery is full and its sell order when it is empty", async () => {
    await agentFor().step();
    const t = Number(await w.readings.currentInterval());
    await goToInterval(w.readings, t + 1);
    battery = new Battery({ ...battery.spec, socWh: battery.spec.capacityWh });
    const r = await agentFor().step();
    expect(r.actions.buy).to.equal("cancel");
    expect((await w.market.orderOf(storageSigner.address, Side.Buy)).orderId).to.equal(0n);
    await goToInterval(w.readings, r.interval + 1);
    battery = new Battery({ ...battery.spec, socWh: 0n });
    const r2 = await agentFor().step();
    expect(r2.actions).to.deep.equal({ buy: "place", sell: "cancel" });
  });

  it("dry run: decides and logs, sends nothing, writes no state", async () => {
    const r = await agentFor({ dryRun: true }).step();
    expect(r.actions).to.deep.equal({ buy: "place", sell: "place" });
    expect(await placed()).to.equal(0);
    expect(fs.existsSync(path.join(dir, "state.json"))).to.equal(false);
  });

  it("crash between an order transaction and the state write: restarted, it resumes from the chain without a duplicate order", async () => {
    const crashing = agentFor({
      afterTx: (side) => {
        throw new Error(`killed after the ${side} transaction`);
      },
    });
    let crash: unknown;
    await crashing.step().catch((e) => (crash = e));
    expect(String((crash as Error)?.message)).to.match(/killed after the sell transaction/);
    expect(await placed()).to.equal(1); // the sell order went out, the state file was not written
    expect(fs.existsSync(path.join(dir, "state.json"))).to.equal(false);

    const restarted = agentFor();
    const r = await restarted.step();
    expect(r.actions).to.deep.equal({ buy: "place", sell: "none" }); // the sell order is found on chain
    expect(await placed()).to.equal(2);
    // A second restart in the same interval reads its state and does nothing.
    expect((await agentFor().step()).skipped).to.equal(true);
    expect(await placed()).to.equal(2);
    // A state file lost altogether: the chain still says everything is in place.
    fs.rmSync(path.join(dir, "state.json"));
    const again = await agentFor().step();
    expect(again.actions).to.deep.equal({ buy: "none", sell: "none" });
    expect(await placed()).to.equal(2);
    const cancelled = await w.market.queryFilter(w.market.filters.OrderCancelled(storageSigner.address));
    expect(cancelled.length).to.equal(0);
  });

  it("daemon: serves /healthz and /metrics and stops on request", async () => {
    const d = await startStorageAgent({
      contracts: { market: w.market.connect(storageSigner), readings: w.readings, fromBlock: w.keeper.fromBlock },
      member: storageSigner.address,
      source: simulatorStatus(battery),
      statePath: path.join(dir, "state.json"),
      pollMs: 20,
      httpPort: 0,
      maxDecisions: 1,
    });
    await d.done;
    expect(d.health().decisions).to.equal(1);
    expect(await placed()).to.equal(2);
    await d.stop();
    const d2 = await startStorageAgent({
      contracts: { market: w.market.connect(storageSigner), readings: w.readings, fromBlock: w.keeper.fromBlock },
      member: storageSigner.address,
      source: simulatorStatus(battery),
      statePath: path.join(dir, "state.json"),
      pollMs: 20,
      httpPort: 0,
    });
    try {
      const health = await fetch(`http://127.0.0.1:${d2.httpPort}/healthz`);
      expect(health.status).to.equal(200);
      const metrics = await (await fetch(`http://127.0.0.1:${d2.httpPort}/metrics`)).text();
      expect(metrics).to.contain("gridledger_agent_storage_decisions_total");
      expect(metrics).to.contain("gridledger_agent_storage_soc_wh");
    } finally {
      await d2.stop();
    }
    expect(await placed()).to.equal(2);
  });
});
