import { expect } from "chai";
import { ethers } from "hardhat";
import { ZeroHash } from "ethers";
import { marketDomain, OrderAction, ORDER_INTENT_TYPES, Side } from "../../src/sdk/eip712";
import { collectedPages, loadClearingInput, settleInterval } from "../../src/keeper/interval";
import { clearInterval as clearMarketInterval } from "../../src/sdk/clearing";
import { walkHint } from "../../src/sdk/hint";
import { anchorClock } from "../helpers/fixtures";
import { CREDIT, deployMarketWorld, MarketWorld, revertTo, snapshot, submitReadings } from "../helpers/market";
import { goToInterval } from "../helpers/readings";

describe("EnergyMarket when paused", () => {
  let w: MarketWorld;
  let base: string;

  before(async () => {
    w = await deployMarketWorld(3);
    base = await snapshot();
  });
  beforeEach(async () => {
    await revertTo(base);
    base = await snapshot();
    await anchorClock();
  });

  const h = (i: number) => w.households[i];
  const as = (i: number) => w.market.connect(h(i).signer);

  it("refuses every member and keeper path, and only the pauser lifts it", async () => {
    await as(0).deposit(10n * CREDIT);
    await as(0).placeOrder(Side.Buy, 200_000, 0, 1, 9);
    await expect(w.market.pause()).to.emit(w.market, "Paused");
    const { chainId } = await ethers.provider.getNetwork();
    const msg = { member: h(1).address, action: OrderAction.Place, side: Side.Sell, limitPricePerKWh: 90_000n, capWhPerInterval: 0n, firstInterval: 1, lastInterval: 9, nonce: 0n, deadline: 2n ** 40n };
    const sig = await h(1).signer.signTypedData(marketDomain(chainId, await w.market.getAddress()), ORDER_INTENT_TYPES, msg);
    const paths = [
      () => as(0).deposit(1n),
      () => as(0).depositWithPermit(1n, 0, 27, ZeroHash, ZeroHash),
      () => as(0).withdraw(1n),
      () => as(1).placeOrder(Side.Sell, 90_000, 0, 1, 9),
      () => as(0).updateOrder(Side.Buy, 210_000, 0, 1, 9),
      () => as(0).cancelOrder(Side.Buy),
      () => w.market.submitSignedOrder(msg, sig),
      () => w.market.collect(1, []),
      () => w.market.settle(1, []),
    ];
    for (const p of paths) await expect(p()).to.be.revertedWithCustomError(w.market, "EnforcedPause");
    await expect(w.market.connect(w.mallory).unpause()).to.be.revertedWithCustomError(w.market, "AccessControlUnauthorizedAccount");
    await expect(w.market.unpause()).to.emit(w.market, "Unpaused");
    await expect(w.market.submitSignedOrder(msg, sig)).to.emit(w.market, "OrderPlaced");
    expect(await w.market.depositOf(h(0).address)).to.equal(10n * CREDIT);
  });

  it("keeps Pausable's rules: no second pause, no resume while running, the state in paused()", async () => {
    expect(await w.market.paused()).to.equal(false);
    await expect(w.market.unpause()).to.be.revertedWithCustomError(w.market, "ExpectedPause");
    await expect(w.market.connect(w.mallory).pause()).to.be.revertedWithCustomError(w.market, "AccessControlUnauthorizedAccount");
    const pauser = await (w.market.runner as unknown as { getAddress(): Promise<string> }).getAddress();
    await expect(w.market.pause()).to.emit(w.market, "Paused").withArgs(pauser);
    expect(await w.market.paused()).to.equal(true);
    await expect(w.market.pause()).to.be.revertedWithCustomError(w.market, "EnforcedPause");
    await expect(w.market.unpause()).to.emit(w.market, "Unpaused");
    expect(await w.market.paused()).to.equal(false);
  });

  it("holds an interval between pages while paused and settles the same pages after", async () => {
    await as(0).deposit(10n * CREDIT);
    await as(0).placeOrder(Side.Buy, 200_000, 0, 1, 9);
    await as(1).placeOrder(Side.Sell, 100_000, 0, 1, 9);
    await goToInterval(w.readings, 2);
    const energy = new Map([
      [h(0).address, { importWh: 1500n, exportWh: 0n }],
      [h(1).address, { importWh: 0n, exportWh: 1000n }],
      [h(2).address, { importWh: 300n, exportWh: 200n }],
    ]);
    await submitReadings(w, w.households, 1, energy);
    const hint = walkHint(clearMarketInterval(await loadClearingInput(w.keeper, 1)));
    await w.market.collect(1, hint.slice(0, 1));
    await w.market.pause();
    await expect(w.market.collect(1, hint.slice(1))).to.be.revertedWithCustomError(w.market, "EnforcedPause");
    await w.market.unpause();
    await w.market.collect(1, hint.slice(1));
    const pages = await collectedPages(w.keeper, 1);
    await w.market.pause();
    await expect(w.market.settle(1, pages[0])).to.be.revertedWithCustomError(w.market, "EnforcedPause");
    await w.market.unpause();
    const out = await settleInterval(w.keeper, 1);
    expect(out.matchedWh).to.equal(1000n);
    // The buyer's 500 unmatched Wh at 0.20 set the price (equilibrium range [0.20, 0.20]).
    expect(out.pricePerKWh).to.equal(200_000n);
    // 1,000 Wh at 0.20 credits/kWh moved from the buyer's deposit to the seller's.
    expect(await w.market.depositOf(h(0).address)).to.equal(10n * CREDIT - 200_000n);
    expect(await w.market.depositOf(h(1).address)).to.equal(200_000n);
  });
});
