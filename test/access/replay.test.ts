/**
 * Campaign 6 of issue #10: EIP-712 replays. Every signed path (meter readings, relayed order
 * intents, credit permits) is replayed across contract (a second, real deployment of the same
 * contract, where the signer's nonce or meter state would otherwise let it through), across
 * chain, across interval and after cancellation. Cases already in the contract suites are not
 * repeated here: readings signed for another chain or contract address and readings replayed
 * into another interval (test/oracle/MeterReadings.test.ts); an order intent replayed after a
 * signed cancellation and intents signed for another chain (test/market/EnergyMarket.test.ts).
 */
import { expect } from "chai";
import { ethers } from "hardhat";
import { Signature } from "ethers";
import { marketDomain, OrderAction, ORDER_INTENT_TYPES, PERMIT_TYPES, Side } from "../../src/sdk/eip712";
import { ROLES } from "../../src/sdk/roles";
import { anchorClock } from "../helpers/fixtures";
import { CREDIT, deployMarketWorld, deploySecondMarket, MarketWorld, revertTo, runInterval, snapshot } from "../helpers/market";
import { goToInterval, Reject, signReading } from "../helpers/readings";
import type { CommunityCredit, EnergyMarket, MeterReadings } from "../../typechain-types";

describe("EIP-712 replay (issue #10, campaign 6)", () => {
  let w: MarketWorld;
  let base: string;
  // Second deployments of the signed-message contracts, on the same registry and tokens.
  let readings2: MeterReadings;
  let market2: EnergyMarket;
  let credit2: CommunityCredit;

  before(async () => {
    w = await deployMarketWorld(3);
    const start = await w.readings.marketStart();
    readings2 = (await (await ethers.getContractFactory("MeterReadings")).deploy(
      await w.registry.getAddress(),
      start,
      await w.readings.intervalSeconds(),
    )) as unknown as MeterReadings;
    market2 = await deploySecondMarket(w);
    credit2 = (await (await ethers.getContractFactory("CommunityCredit")).deploy(await w.registry.getAddress())) as unknown as CommunityCredit;
    base = await snapshot();
  });
  beforeEach(async () => {
    await revertTo(base);
    base = await snapshot();
    await anchorClock();
  });

  const h = (i: number) => w.households[i];
  const chainId = async () => (await ethers.provider.getNetwork()).chainId;

  describe("signed meter readings", () => {
    it("refuses a reading accepted by one deployment when replayed into a second one", async () => {
      await goToInterval(w.readings, 2);
      const state = await w.readings.meterState(h(0).meter);
      const input = { meterId: h(0).meter, interval: 1, importWhTotal: state.importWhTotal + 100n, exportWhTotal: state.exportWhTotal + 50n };
      const r = await signReading(w.readings, w.signerKey, input);
      await expect(w.readings.submitReadings([r])).to.emit(w.readings, "ReadingAccepted");
      // The same meter, interval and registers, and a deployment that has never seen it: only the domain differs.
      await expect(readings2.submitReadings([r]))
        .to.emit(readings2, "ReadingRejected")
        .withArgs(h(0).meter, 1, Reject.BadSignature);
      expect((await readings2.meterState(h(0).meter)).hasReading).to.equal(false);
      // The reading signed for the second deployment is taken there (the refusal was the domain's).
      await expect(readings2.submitReadings([await signReading(readings2, w.signerKey, input)])).to.emit(readings2, "ReadingAccepted");
    });
  });

  describe("signed order intents", () => {
    const intent = async (market: EnergyMarket, i: number, action: number, over: Record<string, unknown> = {}) => {
      const msg = {
        member: h(i).address,
        action,
        side: Side.Buy,
        limitPricePerKWh: 200_000n,
        capWhPerInterval: 0n,
        firstInterval: 1,
        lastInterval: 2,
        nonce: await market.nonces(h(i).address),
        deadline: 2n ** 40n,
        ...over,
      };
      const signature = await h(i).signer.signTypedData(marketDomain(await chainId(), await market.getAddress()), ORDER_INTENT_TYPES, msg);
      return { msg, signature };
    };

    it("refuses an intent relayed to one market when replayed to a second market (same nonce there)", async () => {
      const { msg, signature } = await intent(w.market, 0, OrderAction.Place);
      await expect(w.market.submitSignedOrder(msg, signature)).to.emit(w.market, "OrderPlaced");
      expect(await market2.nonces(h(0).address)).to.equal(0n); // the nonce alone would not stop it
      await expect(market2.submitSignedOrder(msg, signature))
        .to.be.revertedWithCustomError(market2, "MarketInvalidSigner")
        .withArgs(h(0).address, (addr: string) => addr !== h(0).address);
      expect((await market2.orderOf(h(0).address, Side.Buy)).orderId).to.equal(0n);
    });

    it("refuses an intent moved to other intervals, and its replay once its intervals are over", async () => {
      const { msg, signature } = await intent(w.market, 0, OrderAction.Place);
      await expect(w.market.submitSignedOrder({ ...msg, firstInterval: 3, lastInterval: 9 }, signature)).to.be.revertedWithCustomError(
        w.market,
        "MarketInvalidSigner",
      );
      await w.market.submitSignedOrder(msg, signature);
      await w.market.connect(h(0).signer).deposit(10n * CREDIT);
      await runInterval(w, 1, new Map([[h(0).address, { importWh: 500n, exportWh: 0n }]]));
      await runInterval(w, 2, new Map());
      await runInterval(w, 3, new Map());
      // The order lapsed after interval 2; its signature cannot bring it back for later intervals.
      await expect(w.market.submitSignedOrder(msg, signature))
        .to.be.revertedWithCustomError(w.market, "InvalidAccountNonce")
        .withArgs(h(0).address, 1);
    });

    it("refuses the old signature after the member cancelled the order by transaction", async () => {
      const { msg, signature } = await intent(w.market, 0, OrderAction.Place, { lastInterval: 50 });
      await w.market.submitSignedOrder(msg, signature);
      await w.market.connect(h(0).signer).cancelOrder(Side.Buy);
      await expect(w.market.submitSignedOrder(msg, signature))
        .to.be.revertedWithCustomError(w.market, "InvalidAccountNonce")
        .withArgs(h(0).address, 1);
      expect((await w.market.orderOf(h(0).address, Side.Buy)).orderId).to.equal(0n);
    });

    it("refuses a signed cancellation replayed after the member placed a new order", async () => {
      const place = await intent(w.market, 0, OrderAction.Place, { lastInterval: 50 });
      await w.market.submitSignedOrder(place.msg, place.signature);
      const cancel = await intent(w.market, 0, OrderAction.Cancel);
      await w.market.submitSignedOrder(cancel.msg, cancel.signature);
      await w.market.connect(h(0).signer).placeOrder(Side.Buy, 150_000, 0, 1, 50);
      await expect(w.market.submitSignedOrder(cancel.msg, cancel.signature))
        .to.be.revertedWithCustomError(w.market, "InvalidAccountNonce")
        .withArgs(h(0).address, 2);
      expect((await w.market.orderOf(h(0).address, Side.Buy)).limitPricePerKWh).to.equal(150_000n);
    });
  });

  describe("credit permits (ERC-2612)", () => {
    const permit = async (credit: CommunityCredit, value: bigint, over: { chainId?: bigint } = {}) => {
      const owner = h(0).address;
      const spender = await w.market.getAddress();
      const deadline = 2n ** 40n;
      const nonce = await credit.nonces(owner);
      const domain = { name: "GridLedger Community Credit", version: "1", chainId: over.chainId ?? (await chainId()), verifyingContract: await credit.getAddress() };
      const sig = Signature.from(await h(0).signer.signTypedData(domain, PERMIT_TYPES, { owner, spender, value, nonce, deadline }));
      return { owner, spender, value, deadline, sig };
    };

    it("refuses a used permit replayed, directly or through depositWithPermit", async () => {
      await w.credit.connect(h(0).signer).approve(await w.market.getAddress(), 0n);
      const p = await permit(w.credit, 5n * CREDIT);
      await expect(w.market.connect(h(0).signer).depositWithPermit(p.value, p.deadline, p.sig.v, p.sig.r, p.sig.s))
        .to.emit(w.market, "Deposited")
        .withArgs(h(0).address, 5n * CREDIT);
      await expect(w.credit.permit(p.owner, p.spender, p.value, p.deadline, p.sig.v, p.sig.r, p.sig.s)).to.be.revertedWithCustomError(
        w.credit,
        "ERC2612InvalidSigner",
      );
      // Replayed through the market: the permit is refused (its nonce is used) and the allowance it gave is spent.
      await expect(w.market.connect(h(0).signer).depositWithPermit(p.value, p.deadline, p.sig.v, p.sig.r, p.sig.s))
        .to.be.revertedWithCustomError(w.credit, "ERC20InsufficientAllowance")
        .withArgs(p.spender, 0n, 5n * CREDIT);
      expect(await w.market.depositOf(h(0).address)).to.equal(5n * CREDIT);
    });

    it("refuses a permit of one credit deployment on a second one, and one signed for another chain", async () => {
      const p = await permit(w.credit, 5n * CREDIT);
      await w.credit.permit(p.owner, p.spender, p.value, p.deadline, p.sig.v, p.sig.r, p.sig.s);
      expect(await credit2.nonces(p.owner)).to.equal(0n);
      await expect(credit2.permit(p.owner, p.spender, p.value, p.deadline, p.sig.v, p.sig.r, p.sig.s)).to.be.revertedWithCustomError(
        credit2,
        "ERC2612InvalidSigner",
      );
      expect(await credit2.allowance(p.owner, p.spender)).to.equal(0n);
      const other = await permit(w.credit, 7n * CREDIT, { chainId: 1n });
      await expect(
        w.credit.permit(other.owner, other.spender, other.value, other.deadline, other.sig.v, other.sig.r, other.sig.s),
      ).to.be.revertedWithCustomError(w.credit, "ERC2612InvalidSigner");
    });
  });
});
