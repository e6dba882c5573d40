/**
 * Issue 16: an order version is one packed slot (docs/ledger-layout.md). Every field keeps its
 * full range through the packing, and `orderAt` answers every interval from the head and the
 * earlier versions, whatever mix of same-interval rewrites, cancels and re-placements made them.
 */
import { expect } from "chai";
import { Side } from "../../src/sdk/eip712";
import { deployMarketWorld, MarketWorld, revertTo, snapshot } from "../helpers/market";
import { goToInterval } from "../helpers/readings";

describe("EnergyMarket order layout (issue 16)", () => {
  let w: MarketWorld;
  let base: string;

  before(async () => {
    w = await deployMarketWorld(2);
    base = await snapshot();
  });
  beforeEach(async () => {
    await revertTo(base);
    base = await snapshot();
  });

  const h = (i: number) => w.households[i];
  const as = (i: number) => w.market.connect(h(i).signer);
  const fields = (o: { orderId: bigint; limitPricePerKWh: bigint; capWhPerInterval: bigint; firstInterval: bigint; lastInterval: bigint }) => [
    o.orderId,
    o.limitPricePerKWh,
    o.capWhPerInterval,
    o.firstInterval,
    o.lastInterval,
  ];

  it("keeps every field at the edge of its range", async () => {
    const c = Number(await w.readings.currentInterval());
    const maxPrice = await w.market.maxPricePerKWh();
    const maxCap = 2n ** 64n - 1n;
    const maxInterval = 2 ** 32 - 1;
    await expect(as(0).placeOrder(Side.Sell, maxPrice, maxCap, c, maxInterval))
      .to.emit(w.market, "OrderPlaced")
      .withArgs(h(0).address, Side.Sell, 1, maxPrice, maxCap, c, maxInterval, c);
    expect(fields(await w.market.orderOf(h(0).address, Side.Sell))).to.deep.equal([1n, maxPrice, maxCap, BigInt(c), BigInt(maxInterval)]);
    // The smallest values too, on the other side of another member (ids keep counting).
    await as(1).placeOrder(Side.Buy, 1, 0, c, c);
    expect(fields(await w.market.orderOf(h(1).address, Side.Buy))).to.deep.equal([2n, 1n, 0n, BigInt(c), BigInt(c)]);
    // Neither side leaks into the other.
    expect((await w.market.orderOf(h(0).address, Side.Buy)).orderId).to.equal(0n);
    expect((await w.market.orderOf(h(1).address, Side.Sell)).orderId).to.equal(0n);
  });

  it("answers orderAt for every interval across rewrites, a cancel and a new order", async () => {
    const c = Number(await w.readings.currentInterval());
    await as(0).placeOrder(Side.Sell, 100_000, 0, c, c + 50); // id 1, from c
    await goToInterval(w.readings, c + 2);
    await as(0).updateOrder(Side.Sell, 110_000, 0, c, c + 50); // id 2, from c + 2 ...
    await as(0).updateOrder(Side.Sell, 120_000, 500, c, c + 50); // id 3 rewrites it (same interval)
    await goToInterval(w.readings, c + 4);
    await as(0).cancelOrder(Side.Sell); // none from c + 4
    await goToInterval(w.readings, c + 5);
    await as(0).placeOrder(Side.Sell, 130_000, 0, c + 6, c + 50); // id 4, from c + 5
    const want: Record<number, [bigint, bigint]> = {
      ...(c > 0 ? { [c - 1]: [0n, 0n] as [bigint, bigint] } : {}),
      [c]: [1n, 100_000n],
      [c + 1]: [1n, 100_000n],
      [c + 2]: [3n, 120_000n],
      [c + 3]: [3n, 120_000n],
      [c + 4]: [0n, 0n],
      [c + 5]: [4n, 130_000n],
      [c + 9]: [4n, 130_000n],
    };
    for (const [t, [id, price]] of Object.entries(want)) {
      const o = await w.market.orderAt(h(0).address, Side.Sell, Number(t));
      expect([o.orderId, o.limitPricePerKWh], `interval ${t}`).to.deep.equal([id, price]);
    }
    expect((await w.market.orderAt(h(0).address, Side.Sell, c + 2)).capWhPerInterval).to.equal(500n);
    expect((await w.market.orderOf(h(0).address, Side.Sell)).orderId).to.equal(4n);
  });
});
