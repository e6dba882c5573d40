/**
 * `npm run bench:floor` (bench/floor.ts) measures the order update's floor: the cheapest update
 * any contract can offer with a pause check, one order slot and the smallest event. Gas is
 * deterministic, so a run here must reproduce the figures committed in bench/results-floor.json,
 * which bench/README.md quotes (test/bench/readme.test.ts) and issue 16's note relies on.
 */
import { expect } from "chai";
import * as fs from "node:fs";
import * as path from "node:path";
import hre from "hardhat";
import { FLOOR_CHARGES, measureFloor, type FloorResults } from "../../bench/floor";

const committed = JSON.parse(fs.readFileSync(path.join(__dirname, "..", "..", "bench", "results-floor.json"), "utf8")) as FloorResults;

describe("bench:floor, the order update's floor (issue 16)", function () {
  this.timeout(60_000);
  let run: FloorResults;
  before(async () => {
    run = await measureFloor(hre);
  });

  it("reproduces the committed figures to the gas", () => {
    const onPurpose = "if the compiler or its settings changed on purpose, run `npm run bench:floor` and commit bench/results-floor.json and the README's table";
    expect(run.solc, onPurpose).to.equal(committed.solc);
    expect(run.settings, onPurpose).to.deep.equal(committed.settings);
    expect(run.rows, onPurpose).to.deep.equal(committed.rows);
  });

  it("splits each update into intrinsic gas, the storage and the log, and computation", () => {
    const charges = Object.values(FLOOR_CHARGES).reduce((a, b) => a + b, 0);
    expect(charges).to.equal(8_481);
    for (const row of run.rows) {
      expect(row.intrinsic + row.storageAndLog + row.computation, row.entry).to.equal(row.gasUsed);
      expect(row.computation, row.entry).to.be.greaterThan(0);
    }
    const [noop, abi, abi5, raw] = run.rows;
    expect(noop.storageAndLog).to.equal(0);
    for (const r of [abi, abi5, raw]) expect(r.storageAndLog, r.entry).to.equal(charges);
    // What the README concludes: behind an ABI entry the floor's work alone is over 30,000; only a
    // raw entry written in assembly is (barely) under it, before any of the market's checks.
    expect(abi.gasUsed).to.be.greaterThan(run.target);
    expect(abi5.gasUsed).to.be.greaterThan(abi.gasUsed);
    expect(raw.gasUsed).to.be.lessThan(run.target);
  });
});
