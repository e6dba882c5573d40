/**
 * Issue 16: a member's deposit and the interval of its last deposit share one slot, so that
 * `availableAt` of an interval after the last deposit (what `collect` asks of every bid) reads
 * that slot alone; an interval before it still reads the cumulative-deposits checkpoints. Both
 * paths give what a bid may spend: the deposit now minus what was deposited after the interval.
 */
import { expect } from "chai";
import { Side } from "../../src/sdk/eip712";
import { settleInterval } from "../../src/keeper/interval";
import { CREDIT, deployMarketWorld, MarketWorld, revertTo, snapshot, submitReadings } from "../helpers/market";
import { goToInterval } from "../helpers/readings";

const e = (importWh: bigint, exportWh: bigint) => ({ importWh, exportWh });

describe("EnergyMarket deposit slot (issue 16)", () => {
  let w: MarketWorld;
  let base: string;

  before(async () => {
    w = await deployMarketWorld(3);
    base = await snapshot();
  });
  beforeEach(async () => {
    await revertTo(base);
    base = await snapshot();
  });

  const h = (i: number) => w.households[i];
  const as = (i: number) => w.market.connect(h(i).signer);
  const now = async () => Number(await w.readings.currentInterval());

  it("answers every interval before, at and after the last deposit as the checkpoints do", async () => {
    const t0 = await now();
    await as(1).deposit(10n * CREDIT); // during t0
    await goToInterval(w.readings, t0 + 2);
    await as(1).deposit(5n * CREDIT); // during t0 + 2
    expect(await w.market.depositOf(h(1).address)).to.equal(15n * CREDIT);
    // Before the first deposit: nothing; between the two: the first; from the last on: both.
    expect(await w.market.availableAt(h(1).address, t0 - 1)).to.equal(0n);
    expect(await w.market.availableAt(h(1).address, t0)).to.equal(10n * CREDIT);
    expect(await w.market.availableAt(h(1).address, t0 + 1)).to.equal(10n * CREDIT);
    expect(await w.market.availableAt(h(1).address, t0 + 2)).to.equal(15n * CREDIT);
    expect(await w.market.availableAt(h(1).address, t0 + 50)).to.equal(15n * CREDIT);
    // A withdrawal (no bid is live) lowers the deposit and keeps the last deposit's interval.
    await as(1).withdraw(12n * CREDIT);
    expect(await w.market.depositOf(h(1).address)).to.equal(3n * CREDIT);
    expect(await w.market.availableAt(h(1).address, t0 + 2)).to.equal(3n * CREDIT);
    expect(await w.market.availableAt(h(1).address, t0 + 1)).to.equal(0n); // 3 - 5, floored
    // A member that never deposited has nothing, at any interval.
    expect(await w.market.availableAt(h(2).address, t0)).to.equal(0n);
    expect(await w.market.depositOf(h(2).address)).to.equal(0n);
  });

  it("credits a seller that never deposited, and its sale is spendable from then on", async () => {
    const t = await now();
    await as(0).placeOrder(Side.Sell, 100_000, 0, t, t + 10);
    await as(1).deposit(10n * CREDIT);
    await as(1).placeOrder(Side.Buy, 250_000, 0, t, t + 10);
    await goToInterval(w.readings, t + 1);
    await submitReadings(w, w.households, t, new Map([[h(0).address, e(0n, 1000n)], [h(1).address, e(1000n, 0n)]]));
    for (let i = Number(await w.market.nextInterval()); i <= t; i++) await settleInterval(w.keeper, i);
    // 1,000 Wh at 0.175 credits per kWh.
    const paid = (1000n * 175_000n * CREDIT) / (1000n * 1_000_000n);
    expect(await w.market.depositOf(h(0).address)).to.equal(paid);
    expect(await w.market.availableAt(h(0).address, t)).to.equal(paid);
    expect(await w.market.depositOf(h(1).address)).to.equal(10n * CREDIT - paid);
    expect(await w.market.availableAt(h(1).address, t + 1)).to.equal(10n * CREDIT - paid);
    expect(await w.market.totalDeposits()).to.equal(10n * CREDIT);
  });

  it("refuses a deposit that would take the total deposits to 2^224, so no deposit slot can overflow", async () => {
    const limit = 2n ** 224n;
    await w.credit.mint(h(2).address, limit);
    await as(0).deposit(10n * CREDIT);
    // h(2)'s own cumulative deposits would fit; the market's total would not.
    const amount = limit - 10n * CREDIT;
    await expect(as(2).deposit(amount)).to.be.revertedWithCustomError(w.market, "SafeCastOverflowedUintDowncast").withArgs(224, limit);
    await as(2).deposit(amount - 1n);
    expect(await w.market.totalDeposits()).to.equal(limit - 1n);
    expect(await w.market.depositOf(h(2).address)).to.equal(amount - 1n);
    expect(await w.market.availableAt(h(2).address, await now())).to.equal(amount - 1n);
    await expect(as(0).deposit(1n)).to.be.revertedWithCustomError(w.market, "SafeCastOverflowedUintDowncast");
  });

  it("refunds the whole deposit, and only it, when a member is removed", async () => {
    const t = await now();
    await as(1).deposit(10n * CREDIT);
    await goToInterval(w.readings, t + 1);
    const balance = await w.credit.balanceOf(h(1).address);
    await w.registry.retireMeter(h(1).meter);
    await w.registry.removeMember(h(1).address);
    expect(await w.credit.balanceOf(h(1).address)).to.equal(balance + 10n * CREDIT);
    expect(await w.market.depositOf(h(1).address)).to.equal(0n);
    expect(await w.market.availableAt(h(1).address, await now())).to.equal(0n);
    expect(await w.market.availableAt(h(1).address, t - 1)).to.equal(0n);
    expect(await w.market.totalDeposits()).to.equal(0n);
  });
});
