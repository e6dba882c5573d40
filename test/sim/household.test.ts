import { expect } from "chai";
import {
  createCommunity,
  cumulativeRegisters,
  Household,
  initialRegisters,
  MeterSimulator,
  simulateInterval,
} from "../../src/sim/household";
import { createRng, hashSeed } from "../../src/sim/random";
import { ValidationError } from "../../src/sdk/errors";

const DAY = 96; // 15-minute intervals per day

describe("sim/random", () => {
  it("repeats the same sequence for the same seed and differs for another", () => {
    const a = createRng(42);
    const b = createRng(42);
    const c = createRng(43);
    const xs = Array.from({ length: 100 }, () => a.next());
    expect(Array.from({ length: 100 }, () => b.next())).to.deep.equal(xs);
    expect(Array.from({ length: 100 }, () => c.next())).to.not.deep.equal(xs);
    expect(xs.every((x) => x >= 0 && x < 1)).to.equal(true);
  });

  it("draws integers within bounds, inclusive", () => {
    const rng = createRng(1);
    const seen = new Set<number>();
    for (let k = 0; k < 1000; k++) seen.add(rng.int(3, 6));
    expect([...seen].sort()).to.deep.equal([3, 4, 5, 6]);
  });

  it("derives distinct seeds from labels", () => {
    expect(hashSeed(1, "weather")).to.equal(hashSeed(1, "weather"));
    expect(hashSeed(1, "weather")).to.not.equal(hashSeed(1, "kinds"));
    expect(hashSeed(1, 2)).to.not.equal(hashSeed(12));
  });

  it("rejects a seed that is not an integer", () => {
    expect(() => createRng(1.5)).to.throw(ValidationError, /seed/);
  });
});

describe("sim/household", () => {
  describe("createCommunity", () => {
    it("builds a community of 20 with the requested prosumer share and plausible ratings", () => {
      const c = createCommunity({ households: 20, seed: 1, prosumerShare: 0.4 });
      expect(c).to.have.length(20);
      const prosumers = c.filter((h) => h.kind === "prosumer");
      const consumers = c.filter((h) => h.kind === "consumer");
      expect(prosumers).to.have.length(8);
      expect(consumers).to.have.length(12);
      for (const h of prosumers) {
        expect(h.pvPeakW).to.be.within(3_000, 10_000);
        expect(h.maxPowerW).to.be.greaterThan(h.pvPeakW);
      }
      for (const h of consumers) expect(h.pvPeakW).to.equal(0);
      // Varied, not copies of one profile.
      expect(new Set(prosumers.map((h) => h.pvPeakW)).size).to.be.greaterThan(3);
      expect(new Set(c.map((h) => h.annualConsumptionKWh)).size).to.be.greaterThan(15);
      for (const h of c) {
        expect(h.annualConsumptionKWh).to.be.within(1_500, 6_500);
        expect(Number.isInteger(h.maxPowerW)).to.equal(true);
      }
      expect(new Set(c.map((h) => h.name)).size).to.equal(20);
      // Prosumers are spread over the community, not all at the front.
      expect(c.slice(0, 8).every((h) => h.kind === "prosumer")).to.equal(false);
    });

    it("is the same for the same seed and differs for another", () => {
      expect(createCommunity({ households: 20, seed: 5 })).to.deep.equal(createCommunity({ households: 20, seed: 5 }));
      expect(createCommunity({ households: 20, seed: 5 })).to.not.deep.equal(createCommunity({ households: 20, seed: 6 }));
    });

    it("rejects bad options by name", () => {
      expect(() => createCommunity({ households: 0, seed: 1 })).to.throw(ValidationError, /households/);
      expect(() => createCommunity({ households: 2.5, seed: 1 })).to.throw(ValidationError, /households/);
      expect(() => createCommunity({ households: 5, seed: 1, prosumerShare: 1.2 })).to.throw(ValidationError, /prosumerShare/);
      expect(() => createCommunity({ households: 5, seed: Number.NaN })).to.throw(ValidationError, /seed/);
    });
  });

  describe("simulateInterval", () => {
    const community = createCommunity({ households: 20, seed: 11, prosumerShare: 0.5 });
    const prosumers = community.filter((h) => h.kind === "prosumer");

    it("gives the same energy for the same household and interval, in any order", () => {
      const h = prosumers[0];
      const forward = Array.from({ length: DAY }, (_, i) => simulateInterval(h, i));
      const backward = Array.from({ length: DAY }, (_, k) => simulateInterval(h, DAY - 1 - k)).reverse();
      expect(backward).to.deep.equal(forward);
      const again = createCommunity({ households: 20, seed: 11, prosumerShare: 0.5 });
      expect(simulateInterval(again[3], 50)).to.deep.equal(simulateInterval(community[3], 50));
    });

    it("produces no PV at night, in summer and in winter", () => {
      const sunny: string[] = [];
      for (const dayOfYear of [172, 355]) {
        for (const h of prosumers) {
          for (let day = 0; day < 3; day++) {
            for (let i = 0; i < DAY; i++) {
              const hour = i / 4;
              const e = simulateInterval(h, day * DAY + i, 900, dayOfYear);
              if ((hour < 5.75 || hour >= 20.25) && (e.pvWh !== 0n || e.exportWh !== 0n)) {
                sunny.push(`${h.name} day ${dayOfYear + day} ${hour}h: ${e.pvWh} Wh`);
              }
            }
          }
        }
      }
      expect(sunny).to.deep.equal([]);
    });

    it("produces PV around noon and exports a summer surplus", () => {
      for (const h of prosumers) {
        let middayPv = 0n;
        let exportWh = 0n;
        for (let i = 0; i < DAY; i++) {
          const e = simulateInterval(h, i);
          if (i >= 11 * 4 && i < 15 * 4) middayPv += e.pvWh;
          exportWh += e.exportWh;
        }
        expect(middayPv > 0n, h.name).to.equal(true);
        expect(exportWh > 0n, h.name).to.equal(true);
      }
    });

    it("nets PV and load through one bidirectional meter", () => {
      const wrong: string[] = [];
      for (const h of community) {
        for (let i = 0; i < DAY; i++) {
          const e = simulateInterval(h, i);
          const oneWay = e.importWh === 0n || e.exportWh === 0n;
          if (!oneWay || e.exportWh - e.importWh !== e.pvWh - e.loadWh) wrong.push(`${h.name} #${i}`);
        }
      }
      expect(wrong).to.deep.equal([]);
    });

    it("never exceeds the household's max power", () => {
      const over: string[] = [];
      for (const h of community) {
        const maxWhPerInterval = BigInt(Math.floor((h.maxPowerW * 900) / 3600));
        for (let i = 0; i < 7 * DAY; i++) {
          for (const dayOfYear of [172, 355]) {
            const e = simulateInterval(h, i, 900, dayOfYear);
            const largest = [e.importWh, e.exportWh, e.pvWh, e.loadWh].reduce((a, b) => (a > b ? a : b));
            if (largest > maxWhPerInterval) over.push(`${h.name} #${i} day ${dayOfYear}: ${largest} Wh`);
          }
        }
      }
      expect(over).to.deep.equal([]);
    });

    it("uses about the annual consumption over a year", () => {
      const h = community[0];
      let loadWh = 0n;
      for (let i = 0; i < 365 * DAY; i += 1) loadWh += simulateInterval(h, i, 900, 1).loadWh;
      const kWh = Number(loadWh) / 1000;
      expect(kWh).to.be.within(h.annualConsumptionKWh * 0.85, h.annualConsumptionKWh * 1.15);
    });

    it("makes more PV in summer than in winter", () => {
      const h = prosumers[0];
      const week = (dayOfYear: number) => {
        let pv = 0n;
        for (let i = 0; i < 7 * DAY; i++) pv += simulateInterval(h, i, 900, dayOfYear).pvWh;
        return pv;
      };
      expect(week(172) > 2n * week(355)).to.equal(true);
    });

    it("rejects a bad interval by name", () => {
      const h: Household = community[0];
      expect(() => simulateInterval(h, -1)).to.throw(ValidationError, /intervalIndex/);
      expect(() => simulateInterval(h, 1, 0)).to.throw(ValidationError, /intervalSeconds/);
      expect(() => simulateInterval(h, 1, 900, 400)).to.throw(ValidationError, /dayOfYear/);
    });
  });

  describe("meter registers", () => {
    const community = createCommunity({ households: 20, seed: 3, prosumerShare: 0.5 });

    it("start from a non-zero register and never go backwards", () => {
      for (const h of community) {
        const start = initialRegisters(h);
        expect(start.importWhTotal > 0n).to.equal(true);
        const readings = cumulativeRegisters(h, 2 * DAY);
        let last = start;
        const wrong: string[] = [];
        readings.forEach((r, k) => {
          const monotonic = r.importWhTotal >= last.importWhTotal && r.exportWhTotal >= last.exportWhTotal;
          const consistent =
            r.importWhTotal - last.importWhTotal === r.importWh && r.exportWhTotal - last.exportWhTotal === r.exportWh;
          if (r.interval !== k || !monotonic || !consistent) wrong.push(`${h.name} #${k}`);
          last = r;
        });
        expect(wrong).to.deep.equal([]);
      }
    });

    it("give the same readings for the same seed, and agree with simulateInterval", () => {
      const h = community.find((x) => x.kind === "prosumer")!;
      const a = cumulativeRegisters(h, DAY, { startInterval: 10 });
      const b = cumulativeRegisters(createCommunity({ households: 20, seed: 3, prosumerShare: 0.5 })[h.id], DAY, { startInterval: 10 });
      expect(a).to.deep.equal(b);
      expect(a[0].interval).to.equal(10);
      expect(a[5].importWh).to.equal(simulateInterval(h, 15).importWh);
      expect(a[5].exportWh).to.equal(simulateInterval(h, 15).exportWh);
    });

    it("advance one interval per call on a stateful meter", () => {
      const h = community[1];
      const meter = new MeterSimulator(h, { startInterval: 4 });
      expect(meter.nextInterval).to.equal(4);
      expect(meter.importWhTotal).to.equal(initialRegisters(h).importWhTotal);
      const r = meter.next();
      expect(r.interval).to.equal(4);
      expect(meter.nextInterval).to.equal(5);
      expect(meter.importWhTotal).to.equal(r.importWhTotal);
      expect(meter.exportWhTotal).to.equal(r.exportWhTotal);
    });
  });
});
