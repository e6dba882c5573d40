/**
 * The README shows an excerpt of what `npm run demo` prints (the default day: 20 households,
 * 96 intervals, seed 1). A newcomer compares it with their own run, so it must be what the demo
 * prints today: this test runs the default demo on the embedded chain and finds every line of the
 * excerpt in its output. (The excerpt once kept figures from before two changes of the market
 * rule for days.)
 */
import { expect } from "chai";
import * as fs from "node:fs";
import * as path from "node:path";
import hre from "hardhat";
import { renderReport, resolveOptions, runDemo } from "../../src/demo";

describe("README / the demo excerpt is what the default demo prints", function () {
  this.timeout(300_000);

  it("finds every line of the excerpt in the output of the default day", async () => {
    const readme = fs.readFileSync(path.join(__dirname, "..", "..", "README.md"), "utf8");
    const at = readme.indexOf("```\nCommunity ");
    expect(at, "the demo excerpt (a block starting with the Community row) in README.md").to.be.greaterThan(-1);
    const excerpt = readme.slice(at + 4, readme.indexOf("```", at + 4)).split("\n").filter((l) => l.trim() !== "");
    expect(excerpt.length).to.be.greaterThan(3);

    const options = resolveOptions({ progress: false }, {});
    expect([options.households, options.intervals, options.seed]).to.deep.equal([20, 96, 1], "the README's excerpt is of the default day");
    const result = await runDemo(hre, options);
    const printed = renderReport(result.report, result.audit, result.summary).split("\n");
    const missing = excerpt.filter((l) => !printed.includes(l));
    expect(missing, "README lines the demo no longer prints (copy them from `npm run demo`)").to.deep.equal([]);
  });
});
