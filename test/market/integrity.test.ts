/**
 * Issue 14 (market integrity), part 2: each scenario written as the attack, which must now fail
 * with a clear custom error or be harmless. Items 1, 5, 6 (energy transfers, lumping, first
 * readings) are part 1's (branch i14-readings).
 */
import { expect } from "chai";
import { ethers } from "hardhat";
import { ROLES } from "../../src/sdk/roles";
import { Side } from "../../src/sdk/eip712";
import { Tag, walkHint } from "../../src/sdk/hint";
import { loadClearingInput, participantsOf, settleInterval } from "../../src/keeper/interval";
import { clearInterval as clearMarketInterval } from "../../src/sdk/clearing";
import { CREDIT, deployMarketWorld, MarketWorld, revertTo, snapshot, submitReadings } from "../helpers/market";
import { goToInterval, signReading } from "../helpers/readings";
import { meterId } from "../helpers/fixtures";

const e = (importWh: bigint, exportWh: bigint) => ({ importWh, exportWh });

describe("EnergyMarket integrity (issue 14)", () => {
  let w: MarketWorld;
  let base: string;

  before(async () => {
    w = await deployMarketWorld(5);
    base = await snapshot();
  });
  beforeEach(async () => {
    await revertTo(base);
    base = await snapshot();
  });

  const h = (i: number) => w.households[i];
  const as = (i: number) => w.market.connect(h(i).signer);
  const hintFor = async (t: number) => walkHint(clearMarketInterval(await loadClearingInput(w.keeper, t)));

  /** h(0) sells at 0.10, h(1) buys at 0.25: interval 1 clears at 0.175 for 1,000 Wh. */
  async function sellerAndBuyer() {
    await as(0).placeOrder(Side.Sell, 100_000, 0, 1, 100);
    await as(1).deposit(10n * CREDIT);
    await as(1).placeOrder(Side.Buy, 250_000, 0, 1, 100);
    await goToInterval(w.readings, 2);
    await submitReadings(w, w.households, 1, new Map([[h(0).address, e(0n, 1000n)], [h(1).address, e(1000n, 0n)]]));
  }

  it("item 2: flipping one's own entry before page 1 no longer makes the keeper's hint stale", async () => {
    await sellerAndBuyer();
    const hint = await hintFor(1); // the keeper reads the chain ...
    // ... and the members flip their entries before page 1 lands.
    await expect(as(1).withdraw(10n * CREDIT)).to.be.revertedWithCustomError(w.market, "MarketDepositLocked").withArgs(h(1).address, 1);
    await as(1).cancelOrder(Side.Buy);
    await as(0).cancelOrder(Side.Sell);
    await as(0).placeOrder(Side.Buy, 300_000, 0, 1, 100);
    await as(1).deposit(5n * CREDIT);
    await expect(w.market.collect(1, hint)).to.emit(w.market, "IntervalCleared").withArgs(1, 175_000, 1000, 300_000, 80_000, 2);
    const out = await settleInterval(w.keeper, 1);
    expect(out.matchedWh).to.equal(1000n);
    // Settled: the lock is gone.
    await expect(as(1).withdraw(1n)).to.emit(w.market, "Withdrawn").withArgs(h(1).address, 1n);
  });

  it("item 3: no last look: an ask raised after the readings are in changes nothing in the ended interval", async () => {
    await sellerAndBuyer();
    // The seller sees the readings and the buyer's limit, and raises its ask to it.
    await expect(as(0).updateOrder(Side.Sell, 250_000, 0, 1, 100)).to.emit(w.market, "OrderPlaced").withArgs(h(0).address, Side.Sell, 3, 250_000, 0, 1, 100, 2);
    // The buyer tops up its deposit after the end: not spendable in interval 1 either.
    await as(1).deposit(50n * CREDIT);
    expect((await w.market.orderAt(h(0).address, Side.Sell, 1)).limitPricePerKWh).to.equal(100_000n);
    expect((await w.market.orderOf(h(0).address, Side.Sell)).limitPricePerKWh).to.equal(250_000n);
    expect(await w.market.availableAt(h(1).address, 1)).to.equal(10n * CREDIT);
    const out = await settleInterval(w.keeper, 1);
    expect(out.pricePerKWh).to.equal(175_000n); // not 250,000: the ask in force at the end counts
    const [entry] = await w.market.queryFilter(w.market.filters.EntryCollected(1, h(1).address));
    expect(entry.args.availableCredits).to.equal(10n * CREDIT);
    // From interval 2 on, the new ask applies.
    expect((await w.market.orderAt(h(0).address, Side.Sell, 2)).limitPricePerKWh).to.equal(250_000n);
  });

  it("item 4: one meter importing, one exporting, migrated between batches: one netted position, no self-trade", async () => {
    // The second meter (registers 0) reads interval 1, then both read interval 2 in two batches.
    const second = meterId("h0-second");
    await w.registry.registerMeter(second, h(0).address, w.signerKey.address, 10_000, 1, 0n, 0n);
    await as(0).placeOrder(Side.Sell, 100_000, 0, 1, 100);
    await as(0).deposit(10n * CREDIT);
    await as(0).placeOrder(Side.Buy, 250_000, 0, 1, 100);
    await as(1).deposit(10n * CREDIT);
    await as(1).placeOrder(Side.Buy, 200_000, 0, 1, 100);
    await goToInterval(w.readings, 2);
    await w.readings.submitReadings([await signReading(w.readings, w.signerKey, { meterId: second, interval: 1, importWhTotal: 0n, exportWhTotal: 0n })]);
    await submitReadings(w, w.households, 1, new Map());
    await settleInterval(w.keeper, 1);
    await goToInterval(w.readings, 3);
    const s0 = await w.readings.meterState(h(0).meter);
    // Batch 1: the first meter imports 400 Wh (old wallet).
    await w.readings.submitReadings([
      await signReading(w.readings, w.signerKey, { meterId: h(0).meter, interval: 2, importWhTotal: s0.importWhTotal + 400n, exportWhTotal: s0.exportWhTotal }),
    ]);
    const fresh = ethers.Wallet.createRandom().address;
    await w.registry.migrateMember(h(0).address, fresh);
    // Batch 2: the second meter exports 1,000 Wh (new wallet); h(1) imports 1,000 Wh.
    await w.readings.submitReadings([
      await signReading(w.readings, w.signerKey, { meterId: second, interval: 2, importWhTotal: 0n, exportWhTotal: 1000n }),
    ]);
    await submitReadings(w, w.households.filter((x) => x !== h(0)), 2, new Map([[h(1).address, e(1000n, 0n)]]));
    const participants = await participantsOf(w.keeper, 2);
    expect(participants.filter((p) => p === h(0).address)).to.have.length(1);
    expect(participants).to.not.include(fresh);
    // A hand-made hint naming the new wallet as a second party is refused.
    await expect(w.market.collect(2, [{ participant: fresh, tag: Tag.Ask }]))
      .to.be.revertedWithCustomError(w.market, "MarketHintNotParticipant")
      .withArgs(2, fresh);
    const position = await w.readings.positionOf(2, h(0).address);
    expect([position.importWh, position.exportWh]).to.deep.equal([400n, 1000n]);
    expect(await w.readings.participantCount(2)).to.equal(2n);
    const out = await settleInterval(w.keeper, 2);
    // Own use first: 400 Wh netted, 600 Wh net export sold to h(1), never to itself.
    expect(out.matchedWh).to.equal(600n);
    const trades = await w.market.queryFilter(w.market.filters.Traded(2));
    expect(trades.map((t) => [t.args.seller, t.args.buyer, t.args.wh])).to.deep.equal([[h(0).address, h(1).address, 600n]]);
    const [settled] = await w.market.queryFilter(w.market.filters.MemberSettled(2, h(0).address));
    expect([settled.args.selfSupplyWh, settled.args.soldWh, settled.args.boughtWh]).to.deep.equal([400n, 600n, 0n]);
    // The energy was retired from the member's wallet now (the tokens followed it).
    expect(await w.energy.balanceOf(fresh)).to.equal(0n);
  });

  it("item 7: donated credits are surplus, visible and recoverable by governance only", async () => {
    const market = await w.market.getAddress();
    await as(1).deposit(10n * CREDIT);
    await w.credit.connect(h(2).signer).transfer(market, 3n * CREDIT);
    expect(await w.market.totalDeposits()).to.equal(10n * CREDIT);
    expect(await w.market.surplusCredits()).to.equal(3n * CREDIT);
    await expect(w.market.connect(h(2).signer).recoverSurplus(h(2).address))
      .to.be.revertedWithCustomError(w.market, "AccessControlUnauthorizedAccount")
      .withArgs(h(2).address, ROLES.DEFAULT_ADMIN_ROLE);
    // The donation is nobody's deposit: it cannot be withdrawn or spent.
    await expect(as(2).withdraw(1n)).to.be.revertedWithCustomError(w.market, "MarketInsufficientDeposit").withArgs(h(2).address, 0, 1);
    await expect(w.market.recoverSurplus(h(3).address)).to.emit(w.market, "SurplusRecovered").withArgs(h(3).address, 3n * CREDIT);
    expect(await w.market.surplusCredits()).to.equal(0n);
    await expect(w.market.recoverSurplus(h(3).address)).to.be.revertedWithCustomError(w.market, "MarketZeroAmount");
    expect(await w.credit.balanceOf(market)).to.equal(10n * CREDIT);
  });

  it("also seen: a suspended member withdraws its deposit (not while it is locked)", async () => {
    await sellerAndBuyer();
    await as(3).deposit(4n * CREDIT);
    await w.registry.suspendMember(h(3).address);
    await w.registry.suspendMember(h(1).address);
    await expect(as(3).withdraw(4n * CREDIT)).to.emit(w.market, "Withdrawn").withArgs(h(3).address, 4n * CREDIT);
    expect(await w.credit.balanceOf(h(3).address)).to.equal(1000n * CREDIT);
    // h(1) had a buy order live in ended interval 1: locked until it settles.
    await expect(as(1).withdraw(1n)).to.be.revertedWithCustomError(w.market, "MarketDepositLocked").withArgs(h(1).address, 1);
    await settleInterval(w.keeper, 1);
    await expect(as(1).withdraw(10n * CREDIT)).to.emit(w.market, "Withdrawn").withArgs(h(1).address, 10n * CREDIT);
    // A suspended member still cannot receive from a member (only from a system account).
    await expect(w.credit.connect(h(2).signer).transfer(h(3).address, 1n)).to.be.revertedWithCustomError(w.credit, "ERC20InvalidReceiver").withArgs(h(3).address);
  });

  it("also seen: removeMember asks the market first: refused while locked, else the deposit is refunded", async () => {
    await sellerAndBuyer();
    await w.registry.retireMeter(h(1).meter);
    await expect(w.registry.removeMember(h(1).address)).to.be.revertedWithCustomError(w.market, "MarketDepositLocked").withArgs(h(1).address, 1);
    await settleInterval(w.keeper, 1);
    const before = await w.credit.balanceOf(h(1).address);
    const deposit = await w.market.depositOf(h(1).address);
    await expect(w.registry.removeMember(h(1).address)).to.emit(w.market, "Withdrawn").withArgs(h(1).address, deposit);
    expect(await w.credit.balanceOf(h(1).address)).to.equal(before + deposit);
    expect(await w.market.depositOf(h(1).address)).to.equal(0n);
    expect(await w.market.totalDeposits()).to.equal(await w.market.depositOf(h(0).address));
  });

  it("also seen: an outsider cannot force one settle transaction per participant with 1-entry pages", async () => {
    await w.market.setMinCollectPage(32);
    await sellerAndBuyer();
    const hint = await hintFor(1);
    await expect(w.market.connect(w.mallory).collect(1, hint.slice(0, 1)))
      .to.be.revertedWithCustomError(w.market, "MarketPageTooSmall")
      .withArgs(1, 1, 2);
    await w.market.connect(w.mallory).collect(1, hint);
    await expect(w.market.setMinCollectPage(0)).to.be.revertedWithCustomError(w.market, "MarketInvalidMinCollectPage").withArgs(0, 256);
    await expect(w.market.setMinCollectPage(257)).to.be.revertedWithCustomError(w.market, "MarketInvalidMinCollectPage").withArgs(257, 256);
    await expect(w.market.connect(w.mallory).setMinCollectPage(8))
      .to.be.revertedWithCustomError(w.market, "AccessControlUnauthorizedAccount")
      .withArgs(w.mallory.address, ROLES.OPERATOR_ROLE);
    await expect(w.market.setMinCollectPage(8)).to.emit(w.market, "MinCollectPageChanged").withArgs(32, 8);
  });

  describe("follow-up: a wrongly closing collect page restarts pass 1 instead of freezing the interval", () => {
    /** Two sellers (0.10, 0.12) and two buyers (0.25 for 1,000 Wh, 0.20 for 500 Wh). */
    async function twoAndTwo() {
      await w.market.setMinCollectPage(1); // the operator's lowest page: the attack needs no more
      await as(0).placeOrder(Side.Sell, 100_000, 0, 1, 100);
      await as(2).placeOrder(Side.Sell, 120_000, 0, 1, 100);
      await as(1).deposit(10n * CREDIT);
      await as(1).placeOrder(Side.Buy, 250_000, 0, 1, 100);
      await as(3).deposit(10n * CREDIT);
      await as(3).placeOrder(Side.Buy, 200_000, 0, 1, 100);
      await goToInterval(w.readings, 2);
      await submitReadings(
        w,
        w.households,
        1,
        new Map([
          [h(0).address, e(0n, 1000n)],
          [h(2).address, e(0n, 1000n)],
          [h(1).address, e(1000n, 0n)],
          [h(3).address, e(500n, 0n)],
        ]),
      );
      return clearMarketInterval(await loadClearingInput(w.keeper, 1));
    }

    async function keeperSettlesAsReference(ref: Awaited<ReturnType<typeof twoAndTwo>>) {
      const out = await settleInterval(w.keeper, 1);
      expect(out.pricePerKWh).to.equal(ref.pricePerKWh);
      expect(out.matchedWh).to.equal(ref.matchedWh);
      expect(await w.market.nextInterval()).to.equal(2n);
      const trades = await w.market.queryFilter(w.market.filters.Traded(1));
      expect(trades.map((t) => [t.args.seller, t.args.buyer, t.args.wh, t.args.credits])).to.deep.equal(
        ref.fills.map((f) => [f.seller, f.buyer, f.wh, f.costCredits]),
      );
    }

    it("an outsider's first page [ask1, ask2] closes the bid side; the next bid restarts and the keeper settles as the reference", async () => {
      const ref = await twoAndTwo();
      expect(ref.matchedWh).to.equal(1500n);
      // ask1 keeps a remainder (no bid yet), so ask2 tells the contract "no bid is left".
      await w.market.connect(w.mallory).collect(1, [
        { participant: h(0).address, tag: Tag.Ask },
        { participant: h(2).address, tag: Tag.Ask },
      ]);
      expect((await w.market.intervalState(1)).collected).to.equal(2n);
      // Before the fix the first bid reverted (MarketHintNotSorted) for ever: the interval froze.
      await expect(w.market.connect(w.mallory).collect(1, [{ participant: h(1).address, tag: Tag.Bid }]))
        .to.emit(w.market, "CollectionRestarted")
        .withArgs(1, 1, w.mallory.address, h(1).address);
      const st = await w.market.intervalState(1);
      expect([st.phase, st.collected, st.pagesCollected, st.restarts]).to.deep.equal([1n, 0n, 0n, 1n]);
      await keeperSettlesAsReference(ref);
    });

    it("the symmetric case: a first page [bid1, bid2] closes the ask side; the next ask restarts", async () => {
      const ref = await twoAndTwo();
      await w.market.connect(w.mallory).collect(1, [
        { participant: h(1).address, tag: Tag.Bid },
        { participant: h(3).address, tag: Tag.Bid },
      ]);
      // The keeper resumes from the collected prefix; its first ask proves the prefix wrong.
      await keeperSettlesAsReference(ref);
      const restarts = await w.market.queryFilter(w.market.filters.CollectionRestarted(1));
      expect(restarts.map((r) => r.args.participant)).to.deep.equal([h(0).address]);
    });

    it("an ask admitted ahead of a cheaper one in an earlier page restarts too", async () => {
      const ref = await twoAndTwo();
      await w.market.connect(w.mallory).collect(1, [{ participant: h(2).address, tag: Tag.Ask }]);
      await expect(w.market.collect(1, [{ participant: h(0).address, tag: Tag.Ask }])).to.emit(w.market, "CollectionRestarted");
      await keeperSettlesAsReference(ref);
    });

    it("a page that is wrong in itself still reverts and changes nothing", async () => {
      const ref = await twoAndTwo();
      await expect(
        w.market.connect(w.mallory).collect(1, [
          { participant: h(2).address, tag: Tag.Ask },
          { participant: h(0).address, tag: Tag.Ask },
        ]),
      )
        .to.be.revertedWithCustomError(w.market, "MarketHintNotSorted")
        .withArgs(1, h(0).address);
      // Closing and then a bid in the same page: the caller's own mistake.
      await expect(
        w.market.connect(w.mallory).collect(1, [
          { participant: h(0).address, tag: Tag.Ask },
          { participant: h(2).address, tag: Tag.Ask },
          { participant: h(1).address, tag: Tag.Bid },
        ]),
      )
        .to.be.revertedWithCustomError(w.market, "MarketHintNotSorted")
        .withArgs(1, h(1).address);
      // A correct prefix is never restarted: the keeper's walk-order pages go through.
      await w.market.collect(1, (await hintFor(1)).slice(0, 2));
      const st = await w.market.intervalState(1);
      expect([st.collected, st.restarts]).to.deep.equal([2n, 0n]);
      await keeperSettlesAsReference(ref);
      expect(await w.market.queryFilter(w.market.filters.CollectionRestarted(1))).to.have.length(0);
    });
  });
});
