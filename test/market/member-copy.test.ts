/**
 * Issue 16: the market keeps its own copy of each wallet's member key and status (and the
 * wallet's signed-intent nonce in the same slot), kept by the registry's `onMemberChanged` hook
 * call, so that an order costs one slot read instead of calls into the registry; onboarding opens
 * the member's order slots, so that its first order rewrites them instead of creating them.
 * The copy must never let a member do what the registry would refuse: tried here at every
 * status change, and by an outsider calling the hook.
 */
import { expect } from "chai";
import { ethers } from "hardhat";
import { marketDomain, ORDER_INTENT_TYPES, OrderAction, Side } from "../../src/sdk/eip712";
import type { EnergyMarket } from "../../typechain-types";
import { identityHash, MemberKind } from "../helpers/fixtures";
import { CREDIT, deployMarketWorld, deploySecondMarket, MarketWorld, revertTo, runInterval, snapshot, submitReadings } from "../helpers/market";
import { goToInterval } from "../helpers/readings";
import { loadClearingInput, settleInterval } from "../../src/keeper/interval";
import { clearInterval as clearMarketInterval } from "../../src/sdk/clearing";
import { walkHint } from "../../src/sdk/hint";
import { mappingSlot } from "../helpers/storage";

describe("EnergyMarket's copy of the registry (issue 16)", () => {
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
  const place = async (i: number, market: EnergyMarket = w.market) =>
    market.connect(h(i).signer).placeOrder(Side.Buy, 200_000n, 0n, await now(), (await now()) + 10);

  const intent = async (i: number, action: number, market: EnergyMarket = w.market) => {
    const { chainId } = await ethers.provider.getNetwork();
    const msg = {
      member: h(i).address,
      action,
      side: Side.Buy,
      limitPricePerKWh: 200_000n,
      capWhPerInterval: 0n,
      firstInterval: await now(),
      lastInterval: (await now()) + 10,
      nonce: await market.nonces(h(i).address),
      deadline: BigInt((await ethers.provider.getBlock("latest"))!.timestamp + 3600),
    };
    const signature = await h(i).signer.signTypedData(marketDomain(chainId, await market.getAddress()), ORDER_INTENT_TYPES, msg);
    return { msg, signature };
  };

  it("follows suspension, reinstatement and removal: orders and deposits only while active", async () => {
    await expect(place(0)).to.emit(w.market, "OrderPlaced");
    await w.registry.suspendMember(h(0).address);
    await expect(as(0).updateOrder(Side.Buy, 210_000n, 0n, await now(), (await now()) + 10))
      .to.be.revertedWithCustomError(w.market, "MarketNotMember")
      .withArgs(h(0).address);
    await expect(as(0).deposit(CREDIT)).to.be.revertedWithCustomError(w.market, "MarketNotMember");
    const relayed = await intent(0, OrderAction.Update);
    await expect(w.market.submitSignedOrder(relayed.msg, relayed.signature)).to.be.revertedWithCustomError(w.market, "MarketNotMember");
    // A suspended member may still cancel (its order must not outlive its wish).
    await expect(as(0).cancelOrder(Side.Buy)).to.emit(w.market, "OrderCancelled");
    await w.registry.reinstateMember(h(0).address);
    await expect(place(0)).to.emit(w.market, "OrderPlaced");
    await expect(as(0).deposit(CREDIT)).to.emit(w.market, "Deposited");

    await w.registry.retireMeter(h(1).meter); // the registry removes no member with an active meter
    await w.registry.removeMember(h(1).address);
    await expect(place(1)).to.be.revertedWithCustomError(w.market, "MarketNotMember").withArgs(h(1).address);
  });

  it("follows a migration: the new wallet trades on the same account, the old one is refused", async () => {
    await expect(place(0)).to.emit(w.market, "OrderPlaced");
    const fresh = ethers.Wallet.createRandom().connect(ethers.provider);
    await w.deployer.sendTransaction({ to: fresh.address, value: ethers.parseEther("1") });
    await w.registry.migrateMember(h(0).address, fresh.address);
    // The old wallet (a lost or stolen key) cannot even cancel the member's order.
    await expect(as(0).cancelOrder(Side.Buy)).to.be.revertedWithCustomError(w.market, "MarketNotMember").withArgs(h(0).address);
    const stolen = await intent(0, OrderAction.Cancel);
    await expect(w.market.submitSignedOrder(stolen.msg, stolen.signature)).to.be.revertedWithCustomError(w.market, "MarketNotMember");
    await expect(place(0)).to.be.revertedWithCustomError(w.market, "MarketNotMember");
    // The account is keyed by the member key (the first wallet): the new wallet sees the order.
    expect((await w.market.orderOf(fresh.address, Side.Buy)).orderId).to.not.equal(0n);
    const next = await now();
    await expect(w.market.connect(fresh).updateOrder(Side.Buy, 250_000n, 0n, next, next + 5))
      .to.emit(w.market, "OrderPlaced")
      .withArgs(h(0).address, Side.Buy, 2, 250_000n, 0, next, next + 5, next);
  });

  it("opens a new member's order slots at onboarding: its first order finds them", async () => {
    const newcomer = (await ethers.getSigners())[15];
    await w.registry.onboardMember(newcomer.address, MemberKind.Consumer, identityHash("newcomer"));
    expect((await w.market.orderOf(newcomer.address, Side.Buy)).orderId).to.equal(0n);
    expect((await w.market.orderOf(newcomer.address, Side.Sell)).orderId).to.equal(0n);
    const c = await now();
    await expect(w.market.connect(newcomer).placeOrder(Side.Sell, 90_000n, 0n, c, c + 3)).to.emit(w.market, "OrderPlaced");
    // The opened slot is no version: nothing before the first order, the order from then on.
    expect((await w.market.orderAt(newcomer.address, Side.Sell, c - 1)).orderId).to.equal(0n);
    expect((await w.market.orderAt(newcomer.address, Side.Sell, c)).limitPricePerKWh).to.equal(90_000n);
  });

  it("keeps the nonce through every status change: a used intent stays used", async () => {
    const first = await intent(0, OrderAction.Place);
    await w.market.submitSignedOrder(first.msg, first.signature);
    expect(await w.market.nonces(h(0).address)).to.equal(1n);
    await w.registry.suspendMember(h(0).address);
    await w.registry.reinstateMember(h(0).address);
    await w.market.connect(w.mallory).onMemberChanged(h(0).address);
    expect(await w.market.nonces(h(0).address)).to.equal(1n);
    await as(0).cancelOrder(Side.Buy);
    await expect(w.market.submitSignedOrder(first.msg, first.signature))
      .to.be.revertedWithCustomError(w.market, "InvalidAccountNonce")
      .withArgs(h(0).address, 1n);
  });

  it("lets an outsider call the hook only to copy the registry: a suspended member stays refused, a stranger stays out", async () => {
    await w.registry.suspendMember(h(2).address);
    await w.market.connect(w.mallory).onMemberChanged(h(2).address);
    await w.market.connect(w.mallory).onMemberChanged(w.mallory.address);
    await expect(place(2)).to.be.revertedWithCustomError(w.market, "MarketNotMember");
    await expect(w.market.connect(w.mallory).placeOrder(Side.Buy, 1n, 0n, await now(), await now()))
      .to.be.revertedWithCustomError(w.market, "MarketNotMember")
      .withArgs(w.mallory.address);
    await expect(w.market.connect(w.mallory).deposit(1n)).to.be.revertedWithCustomError(w.market, "MarketNotMember");
  });

  it("keeps no copy in a market that is not a registry hook: nobody trades there, and the hook call is refused", async () => {
    const other = await deploySecondMarket(w);
    await expect(other.connect(w.mallory).onMemberChanged(h(0).address))
      .to.be.revertedWithCustomError(other, "MarketCallerNotRegistry")
      .withArgs(w.mallory.address);
    await expect(place(0, other)).to.be.revertedWithCustomError(other, "MarketNotMember");
    // Once the registry adds it as a hook, a copy may be made, and later changes reach it.
    await w.registry.addMigrationHook(await other.getAddress());
    await other.connect(w.mallory).onMemberChanged(h(0).address);
    await expect(place(0, other)).to.emit(other, "OrderPlaced");
    await w.registry.suspendMember(h(0).address);
    await expect(place(0, other)).to.be.revertedWithCustomError(other, "MarketNotMember");
  });

  it("keeps a participant's position index in its record from its first collection on, through a migration and a status change", async () => {
    // The record of a member key: bits 164..195 the pass that last collected it, 196..227 its index.
    const record = async (key: string) => (await mappingSlot(ethers.provider, await w.market.getAddress(), key, BigInt(key), (1n << 160n) - 1n)).raw;
    const indexIn = (r: bigint) => (r >> 196n) & 0xffffffffn;
    const pass = (r: bigint) => (r >> 164n) & 0xffffffffn;
    const t = Number(await w.market.nextInterval());
    expect(indexIn(await record(h(0).address))).to.equal(0n); // onboarded, never collected with energy
    await runInterval(w, t, new Map([[h(0).address, { importWh: 0n, exportWh: 400n }], [h(1).address, { importWh: 300n, exportWh: 0n }]]));
    const first = await record(h(0).address);
    expect(indexIn(first)).to.equal(await w.readings.memberIndexOf(h(0).address));
    expect(indexIn(await record(h(1).address))).to.equal(await w.readings.memberIndexOf(h(1).address));
    expect(indexIn(await record(h(2).address)), "not a participant: nothing cached").to.equal(0n);
    // A migration and a suspension rewrite the copy, not the index; the next pass finds the
    // member's position by it, under the member key.
    await w.registry.migrateMember(h(0).address, w.mallory.address);
    await w.registry.suspendMember(w.mallory.address);
    await w.registry.reinstateMember(w.mallory.address);
    expect(indexIn(await record(h(0).address))).to.equal(indexIn(first));
    const out = await runInterval(w, t + 1, new Map([[h(0).address, { importWh: 0n, exportWh: 500n }], [h(1).address, { importWh: 500n, exportWh: 0n }]]));
    expect(out.participants).to.equal(2);
    const second = await record(h(0).address);
    expect(indexIn(second)).to.equal(indexIn(first));
    expect(pass(second), "a new pass number per collection").to.equal(pass(first) + 1n);
    expect(await w.market.nextInterval()).to.equal(BigInt(t + 2));
  });

  it("lets no outsider's re-copy between two collect pages clear a member's collection mark: the member is not collected twice", async () => {
    const record = async (key: string) => (await mappingSlot(ethers.provider, await w.market.getAddress(), key, BigInt(key), (1n << 160n) - 1n)).raw;
    const t = Number(await w.market.nextInterval());
    await w.market.setMinCollectPage(1);
    await goToInterval(w.readings, t + 1);
    await submitReadings(w, w.households, t, new Map([[h(0).address, { importWh: 0n, exportWh: 400n }], [h(1).address, { importWh: 300n, exportWh: 0n }]]));
    await goToInterval(w.readings, t + 2); // past the reading deadline: ready
    const hint = walkHint(clearMarketInterval(await loadClearingInput(w.keeper, t)));
    expect(hint).to.have.length(2);
    await w.market.collect(t, [hint[0]]);
    const collected = await record(hint[0].participant);
    // Anyone may ask the market to re-copy the registry (it is one of its hooks): the copy is
    // rewritten, the mark and the index are kept.
    await w.market.connect(w.mallory).onMemberChanged(hint[0].participant);
    expect(await record(hint[0].participant)).to.equal(collected);
    await expect(w.market.collect(t, [hint[0]]))
      .to.be.revertedWithCustomError(w.market, "MarketHintDuplicate")
      .withArgs(t, hint[0].participant);
    await expect(w.market.collect(t, [hint[1]])).to.emit(w.market, "IntervalCleared");
    await settleInterval(w.keeper, t);
    expect(await w.market.nextInterval()).to.equal(BigInt(t + 1));
  });
});
