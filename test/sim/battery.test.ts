import { expect } from "chai";
import { Battery, maxExportWh, maxImportWh, PPM, splitRoundTrip } from "../../src/sim/battery";
import { dispatchBattery } from "../../src/sim/dispatch";
import { clearInterval, ClearingInput } from "../../src/sdk/clearing";
import { createRng } from "../../src/sim/random";

const spec = { capacityWh: 10_000n, powerW: 5_000n, ...splitRoundTrip(900_000n) };
const B = "0x00000000000000000000000000000000000000bb";

describe("sim / battery", () => {
  it("splits a round-trip efficiency into two whose product does not exceed it", () => {
    const s = splitRoundTrip(900_000n);
    expect(s.chargeEfficiencyPpm).to.equal(948_683n);
    expect((s.chargeEfficiencyPpm * s.dischargeEfficiencyPpm) / PPM <= 900_000n).to.equal(true);
    expect(() => splitRoundTrip(0n)).to.throw(/roundTripEfficiency/);
    expect(() => splitRoundTrip(1_000_001n)).to.throw(/roundTripEfficiency/);
  });

  it("limits import by power and by the room left, export by power and by the energy in store", () => {
    expect(maxImportWh(spec, 0n, 900)).to.equal(1_250n); // 5 kW over 15 min
    expect(maxExportWh(spec, 0n, 900)).to.equal(0n);
    expect(maxImportWh(spec, 10_000n, 900)).to.equal(0n);
    expect(maxExportWh(spec, 500n, 900)).to.equal((500n * spec.dischargeEfficiencyPpm) / PPM);
    const b = new Battery({ ...spec, socWh: 9_900n });
    expect(() => b.charge(b.maxImportWh() + 1n)).to.throw(/importWh/);
    expect(() => b.discharge(1_000_000n)).to.throw(/exportWh/);
  });

  it("keeps the state of charge within [0, capacity] and the registers monotonic on random use", () => {
    const rng = createRng(20);
    const b = new Battery({ ...spec, socWh: 3_000n });
    let lastImport = 0n;
    let lastExport = 0n;
    for (let i = 0; i < 300; i++) {
      if (rng.chance(0.5)) b.charge(BigInt(rng.int(0, Number(b.maxImportWh()))));
      else b.discharge(BigInt(rng.int(0, Number(b.maxExportWh()))));
      expect(b.socWh >= 0n && b.socWh <= spec.capacityWh).to.equal(true);
      expect(b.importWhTotal >= lastImport && b.exportWhTotal >= lastExport).to.equal(true);
      lastImport = b.importWhTotal;
      lastExport = b.exportWhTotal;
    }
    // Losses: what came out is at most round trip x what went in (plus the starting charge).
    expect(b.exportWhTotal <= ((b.importWhTotal + 3_000n) * 900_000n) / PPM + 1n).to.equal(true);
    expect(b.cyclesPpm > 0n).to.equal(true);
  });
});

describe("sim / dispatch: the battery meters what its orders trade", () => {
  const base = (members: ClearingInput["members"], orders: ClearingInput["orders"]): ClearingInput => ({
    interval: 5,
    feedInTariffPerKWh: 80_000n,
    retailTariffPerKWh: 300_000n,
    members,
    orders,
  });
  const seller = { member: "0x00000000000000000000000000000000000000a1", importWh: 0n, exportWh: 2_000n, active: true, availableCredits: 0n };
  const buyer = { member: "0x00000000000000000000000000000000000000a2", importWh: 3_000n, exportWh: 0n, active: true, availableCredits: 10n ** 9n };

  it("charges only the surplus its bid buys", () => {
    const b = new Battery({ ...spec });
    const input = base(
      [seller, { ...buyer, importWh: 500n }],
      [
        { orderId: 1n, member: seller.member, side: "sell", limitPricePerKWh: 100_000n, capWhPerInterval: 0n },
        { orderId: 2n, member: buyer.member, side: "buy", limitPricePerKWh: 200_000n, capWhPerInterval: 0n },
        { orderId: 3n, member: B, side: "buy", limitPricePerKWh: 140_000n, capWhPerInterval: 1_250n },
      ],
    );
    const flow = dispatchBattery(input, B, b, 10n ** 9n);
    expect(flow).to.deep.equal({ importWh: 1_250n, exportWh: 0n }); // 1,500 Wh surplus, capped by its order
    const r = clearInterval({ ...input, members: [...input.members, { member: B, importWh: flow.importWh, exportWh: 0n, active: true, availableCredits: 10n ** 9n }] });
    const me = r.members.find((m) => m.member === B)!;
    expect(me.boughtWh).to.equal(flow.importWh);
    expect(me.gridImportWh).to.equal(0n);
  });

  it("discharges only what its ask sells, and never more than it holds", () => {
    const b = new Battery({ ...spec, socWh: 600n });
    const input = base(
      [buyer],
      [
        { orderId: 2n, member: buyer.member, side: "buy", limitPricePerKWh: 200_000n, capWhPerInterval: 0n },
        { orderId: 4n, member: B, side: "sell", limitPricePerKWh: 170_000n, capWhPerInterval: 1_250n },
      ],
    );
    const flow = dispatchBattery(input, B, b, 0n);
    expect(flow.exportWh).to.equal(b.maxExportWh()); // demand 3,000 Wh, store limits it
    expect(flow.exportWh < 600n).to.equal(true);
    b.discharge(flow.exportWh);
    expect(b.socWh >= 0n).to.equal(true);
  });

  it("stays idle when its ask is above every bid", () => {
    const b = new Battery({ ...spec, socWh: 5_000n });
    const input = base(
      [buyer],
      [
        { orderId: 2n, member: buyer.member, side: "buy", limitPricePerKWh: 150_000n, capWhPerInterval: 0n },
        { orderId: 4n, member: B, side: "sell", limitPricePerKWh: 170_000n, capWhPerInterval: 1_250n },
      ],
    );
    expect(dispatchBattery(input, B, b, 0n)).to.deep.equal({ importWh: 0n, exportWh: 0n });
  });
});
