import { strict as assert } from "node:assert";
import { expect } from "chai";
import fc from "fast-check";
import {
  clearInterval,
  ClearingInput,
  ClearingMember,
  ClearingOrder,
  ClearingResult,
  Entry,
  gridExportRevenue,
  gridImportCost,
  sortedHint,
} from "../../src/sdk/clearing";
import { ValidationError } from "../../src/sdk/errors";

const FEED_IN = 80_000n; // 0.08 credit/kWh (6 decimals)
const RETAIL = 300_000n; // 0.30 credit/kWh
const RICH = 10n ** 12n;

/** A distinct, valid (all-digit, so checksum-free) address per index. */
function addr(n: number): string {
  return "0x" + (n + 1).toString().padStart(40, "0");
}

function member(n: number, importWh: bigint, exportWh: bigint, over: Partial<ClearingMember> = {}): ClearingMember {
  return { member: addr(n), importWh, exportWh, active: true, availableCredits: RICH, ...over };
}

function sell(orderId: bigint, n: number, limitPricePerKWh: bigint, capWhPerInterval = 0n): ClearingOrder {
  return { orderId, member: addr(n), side: "sell", limitPricePerKWh, capWhPerInterval };
}

function buy(orderId: bigint, n: number, limitPricePerKWh: bigint, capWhPerInterval = 0n): ClearingOrder {
  return { orderId, member: addr(n), side: "buy", limitPricePerKWh, capWhPerInterval };
}

function input(members: ClearingMember[], orders: ClearingOrder[], over: Partial<ClearingInput> = {}): ClearingInput {
  return { interval: 7, feedInTariffPerKWh: FEED_IN, retailTariffPerKWh: RETAIL, members, orders, ...over };
}

function fill(sellOrderId: bigint, buyOrderId: bigint, s: number, b: number, wh: bigint, costCredits: bigint) {
  return { sellOrderId, buyOrderId, seller: addr(s), buyer: addr(b), wh, costCredits };
}

function outcomeOf(r: ClearingResult, n: number) {
  const o = r.members.find((m) => m.member === addr(n));
  if (!o) throw new Error(`no outcome for member ${n}`);
  return o;
}

function expectValidation(fn: () => unknown, field: string, reason: RegExp): void {
  try {
    fn();
  } catch (e) {
    expect(e).to.be.instanceOf(ValidationError);
    expect((e as ValidationError).field).to.equal(field);
    expect((e as ValidationError).message).to.match(reason);
    return;
  }
  expect.fail(`expected a ValidationError on ${field}`);
}

describe("clearInterval", () => {
  describe("when there are no sellers", () => {
    it("matches nothing and sends every buyer to the grid at the retail tariff", () => {
      const r = clearInterval(input([member(0, 1000n, 0n)], [buy(1n, 0, 250_000n)]));
      expect(r.interval).to.equal(7);
      expect(r.pricePerKWh).to.equal(0n);
      expect(r.matchedWh).to.equal(0n);
      expect(r.fills).to.deep.equal([]);
      expect(r.asks).to.deep.equal([]);
      expect(r.bids).to.deep.equal([{ orderId: 1n, member: addr(0), qtyWh: 1000n, pricePerKWh: 250_000n }]);
      const o = outcomeOf(r, 0);
      expect(o.gridImportWh).to.equal(1000n);
      expect(o.gridImportCredits).to.equal(300_000n);
      expect(o.paidCredits).to.equal(0n);
    });
  });

  describe("when there are no buyers", () => {
    it("matches nothing and sells every export to the grid at the feed-in tariff", () => {
      const r = clearInterval(input([member(0, 0n, 2000n)], [sell(1n, 0, 100_000n)]));
      expect(r.pricePerKWh).to.equal(0n);
      expect(r.fills).to.deep.equal([]);
      expect(r.asks).to.deep.equal([{ orderId: 1n, member: addr(0), qtyWh: 2000n, pricePerKWh: 100_000n }]);
      const o = outcomeOf(r, 0);
      expect(o.soldWh).to.equal(0n);
      expect(o.gridExportWh).to.equal(2000n);
      expect(o.gridExportCredits).to.equal(160_000n);
    });
  });

  describe("when the best bid is below the best ask", () => {
    it("matches nothing at price 0", () => {
      const r = clearInterval(
        input([member(0, 0n, 1000n), member(1, 1000n, 0n)], [sell(1n, 0, 200_000n), buy(2n, 1, 150_000n)]),
      );
      expect(r.pricePerKWh).to.equal(0n);
      expect(r.matchedWh).to.equal(0n);
      expect(r.fills).to.deep.equal([]);
      expect(outcomeOf(r, 0).gridExportWh).to.equal(1000n);
      expect(outcomeOf(r, 1).gridImportWh).to.equal(1000n);
    });
  });

  describe("with one seller and one buyer that cross", () => {
    it("trades the smaller quantity at the ask of the partly filled seller and sends the rest to the grid", () => {
      const r = clearInterval(
        input([member(0, 0n, 1500n), member(1, 1000n, 0n)], [sell(1n, 0, 100_000n), buy(2n, 1, 200_000n)]),
      );
      // The seller's unmatched 500 Wh at 100000 bound the range from above: [100000, 100000].
      expect(r.priceRange).to.deep.equal({ lowPerKWh: 100_000n, highPerKWh: 100_000n });
      expect(r.pricePerKWh).to.equal(100_000n);
      expect(r.matchedWh).to.equal(1000n);
      expect(r.fills).to.deep.equal([fill(1n, 2n, 0, 1, 1000n, 100_000n)]);
      expect(outcomeOf(r, 0)).to.deep.include({
        soldWh: 1000n,
        gridExportWh: 500n,
        receivedCredits: 100_000n,
        gridExportCredits: 40_000n,
      });
      expect(outcomeOf(r, 1)).to.deep.include({
        boughtWh: 1000n,
        gridImportWh: 0n,
        paidCredits: 100_000n,
        gridImportCredits: 0n,
      });
    });
  });

  describe("when prices tie", () => {
    it("serves the lower order id first on both sides", () => {
      const members = [member(0, 0n, 600n), member(1, 0n, 600n), member(2, 500n, 0n), member(3, 500n, 0n)];
      // Listed with the higher ids first: the order in the input must not matter.
      const orders = [sell(7n, 0, 100_000n), sell(3n, 1, 100_000n), buy(9n, 2, 200_000n), buy(4n, 3, 200_000n)];
      const r = clearInterval(input(members, orders));
      expect(sortedHint(r)).to.deep.equal({ askOrderIds: [3n, 7n], bidOrderIds: [4n, 9n] });
      // Ask 7 keeps 200 Wh unmatched at 100000: the price is 100000.
      expect(r.pricePerKWh).to.equal(100_000n);
      expect(r.fills).to.deep.equal([
        fill(3n, 4n, 1, 3, 500n, 50_000n),
        fill(3n, 9n, 1, 2, 100n, 10_000n),
        fill(7n, 9n, 0, 2, 400n, 40_000n),
      ]);
      expect(outcomeOf(r, 0).gridExportWh).to.equal(200n);
      expect(outcomeOf(r, 1).gridExportWh).to.equal(0n);
    });
  });

  describe("with caps", () => {
    it("offers and bids at most the cap, and 0 means no cap", () => {
      const members = [member(0, 0n, 5000n), member(1, 3000n, 0n), member(2, 0n, 700n)];
      const orders = [sell(1n, 0, 100_000n, 1200n), buy(2n, 1, 200_000n, 2000n), sell(3n, 2, 150_000n, 0n)];
      const r = clearInterval(input(members, orders));
      expect(r.asks).to.deep.equal([
        { orderId: 1n, member: addr(0), qtyWh: 1200n, pricePerKWh: 100_000n },
        { orderId: 3n, member: addr(2), qtyWh: 700n, pricePerKWh: 150_000n },
      ]);
      expect(r.bids).to.deep.equal([{ orderId: 2n, member: addr(1), qtyWh: 2000n, pricePerKWh: 200_000n }]);
      // Marginal pair: ask 3 (150000) and bid 2 (200000); bid 2 keeps 100 Wh unmatched at 200000,
      // so the range is [200000, 200000].
      expect(r.pricePerKWh).to.equal(200_000n);
      expect(r.fills).to.deep.equal([fill(1n, 2n, 0, 1, 1200n, 240_000n), fill(3n, 2n, 2, 1, 700n, 140_000n)]);
      expect(outcomeOf(r, 0).gridExportWh).to.equal(3800n);
      expect(outcomeOf(r, 1).gridImportWh).to.equal(1100n);
      expect(outcomeOf(r, 1).paidCredits).to.equal(380_000n);
    });
  });

  describe("when a buyer cannot afford its whole import", () => {
    it("bids only what its credits pay for at its bid price", () => {
      const members = [member(0, 0n, 5000n), member(1, 5000n, 0n, { availableCredits: 300_001n })];
      const r = clearInterval(input(members, [sell(1n, 0, 100_000n), buy(2n, 1, 200_000n)]));
      // floor(300001 * 1000 / 200000) = 1500 Wh
      expect(r.bids[0].qtyWh).to.equal(1500n);
      expect(r.pricePerKWh).to.equal(100_000n);
      expect(r.fills).to.deep.equal([fill(1n, 2n, 0, 1, 1500n, 150_000n)]);
      expect(outcomeOf(r, 1)).to.deep.include({ boughtWh: 1500n, gridImportWh: 3500n, paidCredits: 150_000n });
    });

    it("drops the bid of a buyer with no credits", () => {
      const members = [member(0, 0n, 5000n), member(1, 5000n, 0n, { availableCredits: 0n })];
      const r = clearInterval(input(members, [sell(1n, 0, 100_000n), buy(2n, 1, 200_000n)]));
      expect(r.bids).to.deep.equal([]);
      expect(r.fills).to.deep.equal([]);
      expect(r.pricePerKWh).to.equal(0n);
      expect(outcomeOf(r, 1).gridImportWh).to.equal(5000n);
    });

    it("drops a bid whose credits do not pay for one Wh", () => {
      const members = [member(0, 0n, 5000n), member(1, 5000n, 0n, { availableCredits: 199n })];
      const r = clearInterval(input(members, [sell(1n, 0, 100_000n), buy(2n, 1, 200_000n)]));
      expect(r.bids).to.deep.equal([]);
    });
  });

  describe("when limits lie outside the tariffs", () => {
    it("raises an ask to the feed-in tariff and lowers a bid to the retail tariff", () => {
      const r = clearInterval(
        input([member(0, 0n, 1000n), member(1, 1000n, 0n)], [sell(1n, 0, 10_000n), buy(2n, 1, 1_000_000n)]),
      );
      expect(r.asks[0].pricePerKWh).to.equal(FEED_IN);
      expect(r.bids[0].pricePerKWh).to.equal(RETAIL);
      expect(r.pricePerKWh).to.equal(190_000n);
      expect(r.fills).to.deep.equal([fill(1n, 2n, 0, 1, 1000n, 190_000n)]);
    });

    it("limits affordability by the clamped bid price", () => {
      const members = [member(0, 0n, 1000n), member(1, 1000n, 0n, { availableCredits: 150_000n })];
      const r = clearInterval(input(members, [sell(1n, 0, 0n), buy(2n, 1, 10n ** 9n)]));
      // floor(150000 * 1000 / 300000) = 500 Wh
      expect(r.bids[0]).to.deep.equal({ orderId: 2n, member: addr(1), qtyWh: 500n, pricePerKWh: RETAIL });
      // The seller's 500 unmatched Wh at the feed-in tariff set the price.
      expect(r.pricePerKWh).to.equal(FEED_IN);
      expect(r.fills).to.deep.equal([fill(1n, 2n, 0, 1, 500n, 40_000n)]);
    });
  });

  describe("when a member both imported and exported", () => {
    it("covers its own import first and only the net position enters the auction", () => {
      const members = [member(0, 700n, 1000n), member(1, 400n, 100n)];
      // Member 0's buy order and member 1's sell order are on the wrong side: ignored.
      const orders = [sell(1n, 0, 100_000n), buy(2n, 0, 200_000n), buy(3n, 1, 200_000n), sell(4n, 1, 90_000n)];
      const r = clearInterval(input(members, orders));
      expect(r.asks).to.deep.equal([{ orderId: 1n, member: addr(0), qtyWh: 300n, pricePerKWh: 100_000n }]);
      expect(r.bids).to.deep.equal([{ orderId: 3n, member: addr(1), qtyWh: 300n, pricePerKWh: 200_000n }]);
      expect(r.fills).to.deep.equal([fill(1n, 3n, 0, 1, 300n, 45_000n)]);
      expect(outcomeOf(r, 0)).to.deep.include({
        selfSupplyWh: 700n,
        netExportWh: 300n,
        netImportWh: 0n,
        soldWh: 300n,
        gridExportWh: 0n,
        gridImportWh: 0n,
      });
      expect(outcomeOf(r, 1)).to.deep.include({
        selfSupplyWh: 100n,
        netImportWh: 300n,
        boughtWh: 300n,
        gridImportWh: 0n,
      });
    });

    it("leaves nothing to trade when import equals export", () => {
      const r = clearInterval(input([member(0, 500n, 500n), member(1, 500n, 0n)], [sell(1n, 0, 0n), buy(2n, 1, RETAIL)]));
      expect(r.asks).to.deep.equal([]);
      expect(outcomeOf(r, 0)).to.deep.include({ selfSupplyWh: 500n, gridExportWh: 0n, gridImportWh: 0n });
    });
  });

  describe("when a member is suspended", () => {
    it("ignores its orders but still nets its self-supply and sends the rest to the grid", () => {
      const members = [member(0, 200n, 1000n, { active: false }), member(1, 500n, 0n)];
      const r = clearInterval(input(members, [sell(1n, 0, 90_000n), buy(2n, 1, 250_000n)]));
      expect(r.asks).to.deep.equal([]);
      expect(r.fills).to.deep.equal([]);
      expect(outcomeOf(r, 0)).to.deep.include({
        active: false,
        selfSupplyWh: 200n,
        soldWh: 0n,
        gridExportWh: 800n,
        gridExportCredits: 64_000n,
      });
      expect(outcomeOf(r, 1).gridImportWh).to.equal(500n);
    });
  });

  describe("when an order's member did not report", () => {
    it("leaves the order out of the auction", () => {
      const r = clearInterval(
        input([member(0, 0n, 1000n)], [sell(1n, 0, 100_000n), buy(2n, 5, 250_000n)]),
      );
      expect(r.bids).to.deep.equal([]);
      expect(r.fills).to.deep.equal([]);
      expect(r.members.map((m) => m.member)).to.deep.equal([addr(0)]);
    });
  });

  describe("when the margin falls inside an order", () => {
    it("fills the marginal bid partially and prices at its bid", () => {
      const members = [
        member(0, 0n, 500n),
        member(1, 0n, 500n),
        member(2, 0n, 500n),
        member(3, 600n, 0n),
        member(4, 600n, 0n),
        member(5, 600n, 0n),
      ];
      const orders = [
        sell(1n, 0, 90_000n),
        sell(2n, 1, 120_000n),
        sell(3n, 2, 200_000n),
        buy(4n, 3, 250_000n),
        buy(5n, 4, 130_000n),
        buy(6n, 5, 100_000n),
      ];
      const r = clearInterval(input(members, orders));
      // Bid 5 keeps 200 Wh unmatched at 130000: range [max(120000, 130000), min(130000, 200000)].
      expect(r.priceRange).to.deep.equal({ lowPerKWh: 130_000n, highPerKWh: 130_000n });
      expect(r.pricePerKWh).to.equal(130_000n);
      expect(r.matchedWh).to.equal(1000n);
      expect(r.fills).to.deep.equal([
        fill(1n, 4n, 0, 3, 500n, 65_000n),
        fill(2n, 4n, 1, 3, 100n, 13_000n),
        fill(2n, 5n, 1, 4, 400n, 52_000n),
      ]);
      expect(outcomeOf(r, 4)).to.deep.include({ boughtWh: 400n, gridImportWh: 200n, gridImportCredits: 60_000n });
      expect(outcomeOf(r, 5)).to.deep.include({ boughtWh: 0n, gridImportWh: 600n });
      expect(outcomeOf(r, 2)).to.deep.include({ soldWh: 0n, gridExportWh: 500n });
    });
  });

  describe("the price in the competitive equilibrium range", () => {
    it("clears the issue's minimal case inside [10, 12]: the unmatched ask at 12 caps the price", () => {
      // Asks 100 Wh at 10 and 100 Wh at 12, one bid of 100 Wh at 30, feed-in 0, retail 100.
      const members = [member(0, 0n, 100n), member(1, 0n, 100n), member(2, 100n, 0n)];
      const orders = [sell(1n, 0, 10n), sell(2n, 1, 12n), buy(3n, 2, 30n)];
      const r = clearInterval(input(members, orders, { feedInTariffPerKWh: 0n, retailTariffPerKWh: 100n }));
      expect(r.priceRange).to.deep.equal({ lowPerKWh: 10n, highPerKWh: 12n });
      expect(r.pricePerKWh).to.equal(11n);
      expect(r.matchedWh).to.equal(100n);
      expect(outcomeOf(r, 1)).to.deep.include({ soldWh: 0n, gridExportWh: 100n });
    });

    it("raises the price to the first unmatched bid when it is above the marginal ask", () => {
      // Ask 100 Wh at 100000; bids 100 Wh at 250000 (matched) and 100 Wh at 180000 (unmatched).
      const members = [member(0, 0n, 100n), member(1, 100n, 0n), member(2, 100n, 0n)];
      const orders = [sell(1n, 0, 100_000n), buy(2n, 1, 250_000n), buy(3n, 2, 180_000n)];
      const r = clearInterval(input(members, orders));
      expect(r.priceRange).to.deep.equal({ lowPerKWh: 180_000n, highPerKWh: 250_000n });
      expect(r.pricePerKWh).to.equal(215_000n);
      expect(outcomeOf(r, 2)).to.deep.include({ boughtWh: 0n, gridImportWh: 100n });
    });

    it("takes the midpoint of the last matched pair when both sides are used up", () => {
      const r = clearInterval(input([member(0, 0n, 100n), member(1, 100n, 0n)], [sell(1n, 0, 100_000n), buy(2n, 1, 201_000n)]));
      expect(r.priceRange).to.deep.equal({ lowPerKWh: 100_000n, highPerKWh: 201_000n });
      expect(r.pricePerKWh).to.equal(150_500n);
    });

    it("bounds the price by unmatched orders of both sides when the walk stops on them", () => {
      // Matched: ask 100 at 100000 with bid 100 at 250000; then ask 200000 > bid 150000 stops it.
      const members = [member(0, 0n, 100n), member(1, 0n, 100n), member(2, 100n, 0n), member(3, 100n, 0n)];
      const orders = [sell(1n, 0, 100_000n), sell(2n, 1, 200_000n), buy(3n, 2, 250_000n), buy(4n, 3, 150_000n)];
      const r = clearInterval(input(members, orders));
      expect(r.priceRange).to.deep.equal({ lowPerKWh: 150_000n, highPerKWh: 200_000n });
      expect(r.pricePerKWh).to.equal(175_000n);
    });
  });

  describe("rounding", () => {
    it("floors the midpoint and rounds fill costs cumulatively, so the buyer pays floor of its total", () => {
      const members = [member(0, 0n, 1n), member(1, 0n, 1n), member(2, 2n, 0n)];
      const orders = [sell(1n, 0, 1000n), sell(2n, 1, 1000n), buy(3n, 2, 2001n)];
      const r = clearInterval(input(members, orders, { feedInTariffPerKWh: 1000n, retailTariffPerKWh: 3000n }));
      expect(r.pricePerKWh).to.equal(1500n); // floor(3001 / 2)
      // Cumulative: floor(1 * 1.5) - 0 = 1, then floor(2 * 1.5) - 1 = 2.
      expect(r.fills.map((f) => f.costCredits)).to.deep.equal([1n, 2n]);
      expect(outcomeOf(r, 2).paidCredits).to.equal(3n);
      expect(outcomeOf(r, 0).receivedCredits + outcomeOf(r, 1).receivedCredits).to.equal(3n);
      expect(r.roundingMilliCredits).to.equal(0n);
    });

    it("never pays a seller less than the feed-in tariff for the same Wh, whatever the fills", () => {
      // One seller of 2 Wh at the feed-in tariff 1500, two buyers of 1 Wh: flooring each fill
      // would pay 1 + 1 = 2 < floor(2 * 1.5) = 3, the grid's payment for the same Wh.
      const members = [member(0, 0n, 2n), member(1, 1n, 0n), member(2, 1n, 0n)];
      const orders = [sell(1n, 0, 0n), buy(2n, 1, 1500n), buy(3n, 2, 1500n)];
      const r = clearInterval(input(members, orders, { feedInTariffPerKWh: 1500n, retailTariffPerKWh: 3000n }));
      expect(r.pricePerKWh).to.equal(1500n);
      expect(outcomeOf(r, 0).receivedCredits).to.equal(3n);
      expect(outcomeOf(r, 0).receivedCredits).to.be.gte(gridExportRevenue(2n, 1500n));
      expect([outcomeOf(r, 1).paidCredits, outcomeOf(r, 2).paidCredits]).to.deep.equal([1n, 2n]);
      for (const b of [1, 2]) expect(outcomeOf(r, b).paidCredits).to.be.lte(gridImportCost(1n, 1500n));
    });

    it("charges grid import rounded up and pays grid export rounded down", () => {
      const r = clearInterval(input([member(0, 3n, 0n), member(1, 0n, 7n)], [], { feedInTariffPerKWh: 999n, retailTariffPerKWh: 1001n }));
      expect(outcomeOf(r, 0).gridImportCredits).to.equal(4n); // ceil(3.003)
      expect(outcomeOf(r, 1).gridExportCredits).to.equal(6n); // floor(6.993)
    });
  });

  describe("addresses", () => {
    it("matches members case-insensitively and echoes the members' spelling", () => {
      const seller = "0x" + "ab".repeat(20);
      const buyer = "0x" + "cd".repeat(20);
      const r = clearInterval({
        interval: 1,
        feedInTariffPerKWh: FEED_IN,
        retailTariffPerKWh: RETAIL,
        members: [
          { member: seller, importWh: 0n, exportWh: 10n, active: true, availableCredits: 0n },
          { member: buyer.toUpperCase().replace("0X", "0x"), importWh: 10n, exportWh: 0n, active: true, availableCredits: RICH },
        ],
        orders: [
          { orderId: 1n, member: seller.toUpperCase().replace("0X", "0x"), side: "sell", limitPricePerKWh: 0n, capWhPerInterval: 0n },
          { orderId: 2n, member: buyer, side: "buy", limitPricePerKWh: RETAIL, capWhPerInterval: 0n },
        ],
      });
      expect(r.fills[0].seller).to.equal(seller);
      expect(r.fills[0].buyer).to.equal(buyer.toUpperCase().replace("0X", "0x"));
    });
  });

  describe("validation", () => {
    const ok = () => input([member(0, 0n, 10n), member(1, 10n, 0n)], [sell(1n, 0, 0n), buy(2n, 1, RETAIL)]);

    it("rejects negative energy, credits and prices", () => {
      expectValidation(() => clearInterval({ ...ok(), members: [member(0, -1n, 0n)] }), "members[0].importWh", /-1/);
      expectValidation(() => clearInterval({ ...ok(), members: [member(0, 0n, -5n)] }), "members[0].exportWh", /-5/);
      expectValidation(
        () => clearInterval({ ...ok(), members: [member(0, 0n, 0n, { availableCredits: -2n })] }),
        "members[0].availableCredits",
        /-2/,
      );
      expectValidation(() => clearInterval({ ...ok(), feedInTariffPerKWh: -1n }), "feedInTariffPerKWh", /-1/);
      expectValidation(() => clearInterval({ ...ok(), orders: [sell(1n, 0, -3n)] }), "orders[0].limitPricePerKWh", /-3/);
      expectValidation(() => clearInterval({ ...ok(), orders: [sell(1n, 0, 0n, -4n)] }), "orders[0].capWhPerInterval", /-4/);
      expectValidation(() => clearInterval({ ...ok(), orders: [sell(-1n, 0, 0n)] }), "orders[0].orderId", /-1/);
    });

    it("rejects a retail tariff below the feed-in tariff, or zero", () => {
      expectValidation(
        () => clearInterval({ ...ok(), feedInTariffPerKWh: 200n, retailTariffPerKWh: 199n }),
        "retailTariffPerKWh",
        /must not be below feedInTariffPerKWh \(200\), got 199/,
      );
      expectValidation(
        () => clearInterval({ ...ok(), feedInTariffPerKWh: 0n, retailTariffPerKWh: 0n }),
        "retailTariffPerKWh",
        /greater than 0/,
      );
    });

    it("rejects a member listed twice, whatever the case", () => {
      const twice = { ...member(0, 1n, 0n), member: "0x" + "AB".repeat(20) };
      const once = { ...member(0, 1n, 0n), member: "0x" + "ab".repeat(20) };
      expectValidation(() => clearInterval({ ...ok(), members: [once, twice] }), "members[1].member", /duplicate/);
    });

    it("rejects a second order for the same member and side", () => {
      expectValidation(
        () => clearInterval({ ...ok(), orders: [sell(1n, 0, 0n), sell(2n, 0, 5n)] }),
        "orders[1]",
        /second sell order \(id 2\)/,
      );
    });

    it("rejects a second order for the same member and side even when the member did not report", () => {
      expectValidation(
        () => clearInterval({ ...ok(), orders: [buy(1n, 9, 5n), buy(2n, 9, 5n)] }),
        "orders[1]",
        /second buy order/,
      );
    });

    it("rejects a duplicate order id", () => {
      expectValidation(
        () => clearInterval({ ...ok(), orders: [sell(1n, 0, 0n), buy(1n, 1, 5n)] }),
        "orders[1].orderId",
        /duplicate order id 1/,
      );
    });

    it("rejects a buy order with a zero limit", () => {
      expectValidation(() => clearInterval({ ...ok(), orders: [buy(1n, 1, 0n)] }), "orders[0].limitPricePerKWh", /greater than 0/);
    });

    it("rejects malformed addresses, sides and intervals", () => {
      expectValidation(() => clearInterval({ ...ok(), members: [member(0, 0n, 0n, { member: "alice" })] }), "members[0].member", /alice/);
      expectValidation(
        () => clearInterval({ ...ok(), orders: [{ ...sell(1n, 0, 0n), side: "hold" as "sell" }] }),
        "orders[0].side",
        /hold/,
      );
      expectValidation(() => clearInterval({ ...ok(), interval: -1 }), "interval", /-1/);
      expectValidation(() => clearInterval({ ...ok(), interval: 1.5 }), "interval", /1.5/);
    });

    it("rejects energy that does not fit the contract's uint64", () => {
      expectValidation(() => clearInterval({ ...ok(), members: [member(0, 1n << 64n, 0n)] }), "members[0].importWh", /uint64/);
    });
  });

  describe("at community scale", () => {
    it("clears 5,000 members with an order each", () => {
      const members: ClearingMember[] = [];
      const orders: ClearingOrder[] = [];
      for (let k = 0; k < 5000; k++) {
        const seller = k % 2 === 0;
        members.push(member(k, seller ? 0n : BigInt(100 + (k % 997)), seller ? BigInt(100 + (k % 991)) : 0n));
        const price = BigInt(80_000 + ((k * 7919) % 220_000));
        orders.push(seller ? sell(BigInt(k + 1), k, price) : buy(BigInt(k + 1), k, price));
      }
      const r = clearInterval(input(members, orders));
      expect(r.asks).to.have.length(2500);
      expect(r.bids).to.have.length(2500);
      expect(r.matchedWh).to.equal(maxTradableWh(r.asks, r.bids));
    });
  });
});

// ---------------------------------------------------------------------------------------------
// Properties

/** The largest volume any uniform price can trade, by brute force over the entry prices. */
function maxTradableWh(asks: Entry[], bids: Entry[]): bigint {
  let best = 0n;
  const prices = new Set<bigint>([...asks, ...bids].map((e) => e.pricePerKWh));
  for (const p of prices) {
    let supply = 0n;
    for (const a of asks) if (a.pricePerKWh <= p) supply += a.qtyWh;
    let demand = 0n;
    for (const b of bids) if (b.pricePerKWh >= p) demand += b.qtyWh;
    const v = supply < demand ? supply : demand;
    if (v > best) best = v;
  }
  return best;
}

/** An independent, plain re-statement of which orders enter the auction with what. */
function referenceEntries(inp: ClearingInput): { asks: Entry[]; bids: Entry[] } {
  const asks: Entry[] = [];
  const bids: Entry[] = [];
  for (const o of inp.orders) {
    const m = inp.members.find((x) => x.member.toLowerCase() === o.member.toLowerCase());
    if (!m || !m.active) continue;
    const net = m.exportWh - m.importWh;
    const cap = o.capWhPerInterval === 0n ? null : o.capWhPerInterval;
    if (o.side === "sell" && net > 0n) {
      const qtyWh = cap !== null && cap < net ? cap : net;
      const price = o.limitPricePerKWh < inp.feedInTariffPerKWh ? inp.feedInTariffPerKWh : o.limitPricePerKWh;
      if (qtyWh > 0n) asks.push({ orderId: o.orderId, member: m.member, qtyWh, pricePerKWh: price });
    }
    if (o.side === "buy" && net < 0n) {
      const price = o.limitPricePerKWh > inp.retailTariffPerKWh ? inp.retailTariffPerKWh : o.limitPricePerKWh;
      const candidates = [-net, (m.availableCredits * 1000n) / price];
      if (cap !== null) candidates.push(cap);
      const qtyWh = candidates.reduce((a, b) => (a < b ? a : b));
      if (qtyWh > 0n) bids.push({ orderId: o.orderId, member: m.member, qtyWh, pricePerKWh: price });
    }
  }
  const byId = (a: Entry, b: Entry) => (a.orderId < b.orderId ? -1 : 1);
  return { asks: asks.sort(byId), bids: bids.sort(byId) };
}

/**
 * A limit as per-mille of the way from the feed-in to the retail tariff: mostly inside the band
 * (so books cross often), on round points (so prices tie), sometimes outside (so clamping runs).
 */
const limitPermilleArb = fc.oneof(
  { weight: 2, arbitrary: fc.constantFrom(0, 250, 500, 750, 1000) },
  { weight: 3, arbitrary: fc.integer({ min: 0, max: 1000 }) },
  { weight: 1, arbitrary: fc.integer({ min: -1000, max: 2000 }) },
);
const whArb = fc.oneof(
  { weight: 1, arbitrary: fc.constant(0n) },
  { weight: 4, arbitrary: fc.bigInt({ min: 0n, max: 5_000n }) },
  { weight: 1, arbitrary: fc.bigInt({ min: 0n, max: 20n }) },
);
const capArb = fc.oneof({ weight: 2, arbitrary: fc.constant(0n) }, { weight: 1, arbitrary: fc.bigInt({ min: 1n, max: 3_000n }) });
const creditsArb = fc.oneof(
  { weight: 1, arbitrary: fc.constant(0n) },
  { weight: 3, arbitrary: fc.bigInt({ min: 0n, max: 2_000_000n }) },
  { weight: 3, arbitrary: fc.constant(RICH) },
);
const flag = (trueWeight: number) =>
  fc.oneof({ weight: trueWeight, arbitrary: fc.constant(true) }, { weight: 1, arbitrary: fc.constant(false) });

const inputArb: fc.Arbitrary<ClearingInput> = fc
  .record({
    feedIn: fc.oneof(fc.constant(0n), fc.constant(80_000n), fc.bigInt({ min: 0n, max: 200_000n })),
    spread: fc.oneof(fc.constant(0n), fc.constant(220_000n), fc.bigInt({ min: 0n, max: 300_000n })),
    members: fc.array(
      fc.record({
        importWh: whArb,
        exportWh: whArb,
        active: flag(6),
        availableCredits: creditsArb,
        reported: flag(12),
        sell: fc.option(fc.record({ limit: limitPermilleArb, cap: capArb }), { freq: 3 }),
        buy: fc.option(fc.record({ limit: limitPermilleArb, cap: capArb }), { freq: 3 }),
      }),
      { maxLength: 20, size: "max" },
    ),
    idSeed: fc.array(fc.nat({ max: 1_000_000 }), { minLength: 64, maxLength: 64 }),
  })
  .map(({ feedIn, spread, members, idSeed }) => {
    let retail = feedIn + spread;
    if (retail === 0n) retail = 1n;
    const limit = (permille: number, min: bigint) => {
      const p = feedIn + (spread * BigInt(permille)) / 1000n;
      return p < min ? min : p;
    };
    // Unique, unordered order ids so that ties are broken by id, not by position.
    const ids = [...new Set(idSeed)].map(BigInt);
    let next = 0;
    const nextId = () => (next < ids.length ? ids[next++] : BigInt(2_000_000 + next++));
    const ms: ClearingMember[] = [];
    const orders: ClearingOrder[] = [];
    members.forEach((m, k) => {
      if (m.reported) {
        ms.push({ member: addr(k), importWh: m.importWh, exportWh: m.exportWh, active: m.active, availableCredits: m.availableCredits });
      }
      if (m.sell) {
        orders.push({ orderId: nextId(), member: addr(k), side: "sell", limitPricePerKWh: limit(m.sell.limit, 0n), capWhPerInterval: m.sell.cap });
      }
      if (m.buy) {
        orders.push({ orderId: nextId(), member: addr(k), side: "buy", limitPricePerKWh: limit(m.buy.limit, 1n), capWhPerInterval: m.buy.cap });
      }
    });
    return { interval: 3, feedInTariffPerKWh: feedIn, retailTariffPerKWh: retail, members: ms, orders };
  });

const RUNS = Number(process.env.GRIDLEDGER_PROPERTY_RUNS ?? 1000);
const params = { seed: 42, numRuns: RUNS };

describe("clearInterval properties", () => {
  it("conserves credits and energy", () => {
    fc.assert(
      fc.property(inputArb, (inp) => {
        const r = clearInterval(inp);
        const paid = r.members.reduce((s, m) => s + m.paidCredits, 0n);
        const received = r.members.reduce((s, m) => s + m.receivedCredits, 0n);
        assert.strictEqual(paid, received);
        assert.strictEqual(paid, (r.matchedWh * r.pricePerKWh) / 1000n);
        assert.strictEqual(paid * 1000n + r.roundingMilliCredits, r.matchedWh * r.pricePerKWh);
        assert.strictEqual(paid, r.fills.reduce((s, f) => s + f.costCredits, 0n));
        assert.strictEqual(r.matchedWh, r.fills.reduce((s, f) => s + f.wh, 0n));
        inp.members.forEach((m, k) => {
          const o = r.members[k];
          assert.strictEqual(o.member, m.member);
          assert.ok(o.gridExportWh >= 0n && o.gridImportWh >= 0n);
          assert.strictEqual(o.selfSupplyWh + o.soldWh + o.gridExportWh, m.exportWh);
          assert.strictEqual(o.selfSupplyWh + o.boughtWh + o.gridImportWh, m.importWh);
          assert.strictEqual(o.gridExportCredits, (o.gridExportWh * inp.feedInTariffPerKWh) / 1000n);
          assert.strictEqual(o.gridImportCredits, (o.gridImportWh * inp.retailTariffPerKWh + 999n) / 1000n); // ceil
          if (!m.active) assert.strictEqual(o.soldWh + o.boughtWh, 0n);
        });
      }),
      params,
    );
  });

  it("prices within the tariffs whenever something matches, and 0 otherwise", () => {
    fc.assert(
      fc.property(inputArb, (inp) => {
        const r = clearInterval(inp);
        if (r.fills.length === 0) {
          assert.strictEqual(r.pricePerKWh, 0n);
          assert.strictEqual(r.matchedWh, 0n);
        } else {
          assert.ok(r.pricePerKWh >= inp.feedInTariffPerKWh);
          assert.ok(r.pricePerKWh <= inp.retailTariffPerKWh);
          assert.ok(r.fills.every((f) => f.wh > 0n));
        }
      }),
      params,
    );
  });

  it("never fills a buyer above its bid or a seller below its ask", () => {
    fc.assert(
      fc.property(inputArb, (inp) => {
        const r = clearInterval(inp);
        const ask = new Map(r.asks.map((e) => [e.orderId, e]));
        const bid = new Map(r.bids.map((e) => [e.orderId, e]));
        const filledAsk = new Map<bigint, bigint>();
        const filledBid = new Map<bigint, bigint>();
        for (const f of r.fills) {
          const a = ask.get(f.sellOrderId)!;
          const b = bid.get(f.buyOrderId)!;
          assert.ok(r.pricePerKWh >= a.pricePerKWh, "price below ask");
          assert.ok(r.pricePerKWh <= b.pricePerKWh, "price above bid");
          assert.strictEqual(f.seller, a.member);
          assert.strictEqual(f.buyer, b.member);
          // Cumulative rounding: each fill within one base unit of its exact value.
          assert.ok(f.costCredits * 1000n > f.wh * r.pricePerKWh - 1000n && f.costCredits * 1000n < f.wh * r.pricePerKWh + 1000n);
          filledAsk.set(a.orderId, (filledAsk.get(a.orderId) ?? 0n) + f.wh);
          filledBid.set(b.orderId, (filledBid.get(b.orderId) ?? 0n) + f.wh);
        }
        for (const [id, wh] of filledAsk) assert.ok(wh <= ask.get(id)!.qtyWh);
        for (const [id, wh] of filledBid) assert.ok(wh <= bid.get(id)!.qtyWh);
      }),
      params,
    );
  });

  it("prices inside the competitive equilibrium range, at its midpoint, leaving no better-priced order unfilled", () => {
    fc.assert(
      fc.property(inputArb, (inp) => {
        const r = clearInterval(inp);
        if (r.fills.length === 0) return;
        const p = r.pricePerKWh;
        // The range, re-derived from the fills alone: filled and unfilled Wh per entry.
        const filled = new Map<bigint, bigint>();
        for (const f of r.fills) {
          filled.set(f.sellOrderId, (filled.get(f.sellOrderId) ?? 0n) + f.wh);
          filled.set(f.buyOrderId, (filled.get(f.buyOrderId) ?? 0n) + f.wh);
        }
        const max = (xs: bigint[]) => xs.reduce((a, b) => (a > b ? a : b));
        const min = (xs: bigint[]) => xs.reduce((a, b) => (a < b ? a : b));
        const matched = (e: Entry) => (filled.get(e.orderId) ?? 0n) > 0n;
        const unmatched = (e: Entry) => (filled.get(e.orderId) ?? 0n) < e.qtyWh;
        const lo = max([...r.asks.filter(matched), ...r.bids.filter(unmatched)].map((e) => e.pricePerKWh));
        const hi = min([...r.bids.filter(matched), ...r.asks.filter(unmatched)].map((e) => e.pricePerKWh));
        assert.ok(lo <= hi, `empty range [${lo}, ${hi}]`);
        assert.strictEqual(p, (lo + hi) / 2n);
        assert.deepStrictEqual(r.priceRange, { lowPerKWh: lo, highPerKWh: hi });
        assert.ok(p >= inp.feedInTariffPerKWh && p <= inp.retailTariffPerKWh);
        // At p, nobody priced strictly better than p is left with an unfilled remainder.
        for (const a of r.asks) if (a.pricePerKWh < p) assert.ok(!unmatched(a), `ask ${a.orderId} at ${a.pricePerKWh} < ${p} unfilled`);
        for (const b of r.bids) if (b.pricePerKWh > p) assert.ok(!unmatched(b), `bid ${b.orderId} at ${b.pricePerKWh} > ${p} unfilled`);
      }),
      params,
    );
  });

  it("pays every seller at least the feed-in tariff and charges every buyer at most the retail tariff for the same Wh", () => {
    fc.assert(
      fc.property(inputArb, (inp) => {
        const r = clearInterval(inp);
        const f = inp.feedInTariffPerKWh;
        const t = inp.retailTariffPerKWh;
        for (const o of r.members) {
          // What the grid pays (floor) and charges (ceil), written out independently.
          assert.ok(o.receivedCredits >= (o.soldWh * f) / 1000n, `seller ${o.member} below feed-in`);
          assert.ok(o.paidCredits <= (o.boughtWh * t + 999n) / 1000n, `buyer ${o.member} above retail`);
          // Each member's credits are within one base unit of the exact value of its Wh.
          for (const [c, wh] of [[o.receivedCredits, o.soldWh], [o.paidCredits, o.boughtWh]]) {
            const exact = wh * r.pricePerKWh;
            assert.ok(c * 1000n > exact - 1000n && c * 1000n < exact + 1000n, `${o.member}: ${c} for ${wh} Wh at ${r.pricePerKWh}`);
          }
        }
      }),
      params,
    );
  });

  it("never makes a buyer pay more than its available credits", () => {
    fc.assert(
      fc.property(inputArb, (inp) => {
        const r = clearInterval(inp);
        inp.members.forEach((m, k) => assert.ok(r.members[k].paidCredits <= m.availableCredits, m.member));
      }),
      params,
    );
  });

  it("builds the books as the rule says and sorts them by price, then order id", () => {
    fc.assert(
      fc.property(inputArb, (inp) => {
        const r = clearInterval(inp);
        const ref = referenceEntries(inp);
        const byId = (a: Entry, b: Entry) => (a.orderId < b.orderId ? -1 : 1);
        assert.deepStrictEqual([...r.asks].sort(byId), ref.asks);
        assert.deepStrictEqual([...r.bids].sort(byId), ref.bids);
        for (let k = 1; k < r.asks.length; k++) {
          const [p, q] = [r.asks[k - 1], r.asks[k]];
          assert.ok(p.pricePerKWh < q.pricePerKWh || (p.pricePerKWh === q.pricePerKWh && p.orderId < q.orderId));
        }
        for (let k = 1; k < r.bids.length; k++) {
          const [p, q] = [r.bids[k - 1], r.bids[k]];
          assert.ok(p.pricePerKWh > q.pricePerKWh || (p.pricePerKWh === q.pricePerKWh && p.orderId < q.orderId));
        }
      }),
      params,
    );
  });

  it("matches the largest tradable volume", () => {
    fc.assert(
      fc.property(inputArb, (inp) => {
        const r = clearInterval(inp);
        const ref = referenceEntries(inp);
        assert.strictEqual(r.matchedWh, maxTradableWh(ref.asks, ref.bids));
      }),
      params,
    );
  });

  it("does not depend on the order of members and orders in the input", () => {
    fc.assert(
      fc.property(inputArb, fc.nat(), (inp, salt) => {
        const shuffle = <T>(xs: T[]): T[] => xs.map((x, k) => [x, (k * 2654435761 + salt) % 4294967296] as const)
          .sort((a, b) => a[1] - b[1])
          .map(([x]) => x);
        const r1 = clearInterval(inp);
        const r2 = clearInterval({ ...inp, members: shuffle(inp.members), orders: shuffle(inp.orders) });
        assert.strictEqual(r2.pricePerKWh, r1.pricePerKWh);
        assert.deepStrictEqual(r2.fills, r1.fills);
        assert.deepStrictEqual(r2.asks, r1.asks);
        assert.deepStrictEqual(r2.bids, r1.bids);
        const byMember = (r: ClearingResult) => new Map(r.members.map((m) => [m.member, m]));
        assert.deepStrictEqual(byMember(r2), byMember(r1));
      }),
      params,
    );
  });
});
