import { expect } from "chai";
import { unsettledExportWh, unsettledIntervals } from "../../src/sdk/unsettled";

/**
 * Unsettled production (issue 16): what the EnergyToken balance used to show, now taken from the
 * positions. The web app, the CLI's `balance` and the auditor's member report call this function.
 */
describe("unsettled production", () => {
  it("sums the exports of the intervals at or after the market's next one", () => {
    const ps = [
      { interval: 3, exportWh: 500n },
      { interval: 4, exportWh: 120n },
      { interval: 5, exportWh: 7n },
      { interval: 4, exportWh: 3n },
    ];
    expect(unsettledExportWh(ps, 4)).to.equal(130n);
    expect(unsettledExportWh(ps, 6)).to.equal(0n);
    expect(unsettledExportWh(ps, 0)).to.equal(630n);
    expect(unsettledExportWh([], 0)).to.equal(0n);
  });

  it("lists the ended intervals the market has not settled, the newest `max` of them", () => {
    expect(unsettledIntervals(4, 7)).to.deep.equal([4, 5, 6]);
    expect(unsettledIntervals(7, 7)).to.deep.equal([]);
    expect(unsettledIntervals(0, 10, 3)).to.deep.equal([7, 8, 9]);
  });
});
