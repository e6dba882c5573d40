import { expect } from "chai";
import { ValidationError } from "../../src/sdk/errors";
import {
  formatCredits,
  formatEnergy,
  formatPricePerKWh,
  parseCredits,
  parseEnergyWh,
  parsePricePerKWh,
  parseUint,
} from "../../src/sdk/units";

function field(fn: () => unknown): string {
  try {
    fn();
  } catch (e) {
    expect(e).to.be.instanceOf(ValidationError);
    return (e as ValidationError).field + " | " + (e as Error).message;
  }
  throw new Error("expected a ValidationError");
}

describe("units", () => {
  describe("energy", () => {
    it("reads Wh, kWh and MWh, bare numbers as Wh", () => {
      expect(parseEnergyWh("1500")).to.equal(1500n);
      expect(parseEnergyWh("1500 Wh")).to.equal(1500n);
      expect(parseEnergyWh("1.5 kWh")).to.equal(1500n);
      expect(parseEnergyWh("1.5kwh")).to.equal(1500n);
      expect(parseEnergyWh("0.002 MWh")).to.equal(2000n);
      expect(parseEnergyWh("0")).to.equal(0n);
    });
    it("refuses fractions of a Wh, unknown units, negatives and text, naming the field", () => {
      expect(field(() => parseEnergyWh("1.5 Wh", "--cap"))).to.match(/^--cap \| .*whole number of Wh/);
      expect(field(() => parseEnergyWh("1.0005 kWh", "--cap"))).to.match(/more than 3 decimals/);
      expect(field(() => parseEnergyWh("3 GWh", "--cap"))).to.match(/unknown energy unit "GWh"/);
      expect(field(() => parseEnergyWh("-1 kWh", "--cap"))).to.match(/negative/);
      expect(field(() => parseEnergyWh("lots", "--cap"))).to.match(/^--cap/);
      expect(field(() => parseEnergyWh("99999999999999999999", "--cap"))).to.match(/too large/);
    });
    it("formats below 1 kWh in Wh and above in kWh", () => {
      expect(formatEnergy(800n)).to.equal("800 Wh");
      expect(formatEnergy(1500n)).to.equal("1.5 kWh");
      expect(formatEnergy(2000n)).to.equal("2 kWh");
    });
  });

  describe("credits", () => {
    it("reads up to 6 decimals into base units", () => {
      expect(parseCredits("2.50")).to.equal(2_500_000n);
      expect(parseCredits("25")).to.equal(25_000_000n);
      expect(parseCredits("0.000001")).to.equal(1n);
      expect(parseCredits("1 credits")).to.equal(1_000_000n);
    });
    it("refuses a 7th decimal, negatives and text, naming the field", () => {
      expect(field(() => parseCredits("0.0000001", "amount"))).to.match(/^amount \| .*more than 6 decimals/);
      expect(field(() => parseCredits("-2", "amount"))).to.match(/must not be negative/);
      expect(field(() => parseCredits("two", "amount"))).to.match(/is not a number/);
      expect(field(() => parseCredits("", "amount"))).to.match(/is not a number/);
    });
    it("takes underscores only between digits (found by the hostile-input campaign: \"_8\" minted 8 credits)", () => {
      expect(parseCredits("1_000")).to.equal(1_000_000_000n);
      expect(parseCredits("1_000.000_5")).to.equal(1_000_000_500n);
      for (const bad of ["_8", "8_", "1__0", "_", "1_.5", "1._5", "._5", "1.5_"]) {
        expect(field(() => parseCredits(bad, "amount")), bad).to.match(/^amount \| .*is not a number/);
      }
    });
    it("formats with two decimals at least", () => {
      expect(formatCredits(1_200_000n)).to.equal("1.20");
      expect(formatCredits(2_500_000n)).to.equal("2.50");
      expect(formatCredits(1n)).to.equal("0.000001");
      expect(formatCredits(0n)).to.equal("0.00");
      expect(formatCredits(-1_500_000n)).to.equal("-1.50");
    });
  });

  describe("prices per kWh", () => {
    it("reads credits per kWh with optional unit", () => {
      expect(parsePricePerKWh("0.25")).to.equal(250_000n);
      expect(parsePricePerKWh("0.25/kWh")).to.equal(250_000n);
      expect(parsePricePerKWh("0.25 credits/kWh")).to.equal(250_000n);
      expect(parsePricePerKWh("0.25 per kWh")).to.equal(250_000n);
      expect(formatPricePerKWh(250_000n)).to.equal("0.25/kWh");
    });
    it("refuses bad prices, naming the field", () => {
      expect(field(() => parsePricePerKWh("cheap", "--price"))).to.match(/^--price \|/);
      expect(field(() => parsePricePerKWh("99999999999999999", "--price"))).to.match(/too large/);
    });
  });

  it("reads bounded whole numbers", () => {
    expect(parseUint("65535", "--zone", 16)).to.equal(65535n);
    expect(field(() => parseUint("65536", "--zone", 16))).to.match(/^--zone \| --zone: must fit in uint16/);
    expect(field(() => parseUint("1.5", "--max-power"))).to.match(/whole number/);
  });
});
