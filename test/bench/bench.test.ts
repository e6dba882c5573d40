/**
 * `npm run bench` in its quick mode: every scenario runs and results.json holds every figure,
 * with units, sizes, the machine and the versions. No timing or gas assertions: figures live
 * in the benchmark, targets are marked there.
 */
import { expect } from "chai";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import hre from "hardhat";
import { EXPECTED_FIGURES, renderTable, Results, runBench, sizesFor } from "../../bench/harness";

describe("bench harness (--quick)", function () {
  this.timeout(10 * 60_000);

  it("runs every scenario and writes every figure to results.json", async () => {
    const out = path.join(fs.mkdtempSync(path.join(os.tmpdir(), "gl-bench-")), "results.json");
    await runBench(hre, { quick: true, out, log: () => {} });
    const r = JSON.parse(fs.readFileSync(out, "utf8")) as Results;

    expect(r.mode).to.equal("quick");
    expect(r.machine).to.include.keys("cpus", "memoryGiB", "cpuModel", "platform");
    expect(r.versions).to.include.keys("node", "hardhat", "solc", "ethers");
    expect(r.git.commit).to.match(/^[0-9a-f]{40}$/);
    expect(Number.isNaN(Date.parse(r.date))).to.equal(false);

    for (const [scenario, name] of EXPECTED_FIGURES) {
      const found = r.figures.filter((f) => f.scenario === scenario && f.name === name);
      expect(found, `${scenario}: ${name}`).to.not.be.empty;
      for (const f of found) {
        expect(Number.isFinite(f.value), `${name} value`).to.equal(true);
        expect(f.unit, `${name} unit`).to.be.a("string").and.not.equal("");
        expect(Object.keys(f.sizes), `${name} sizes`).to.not.be.empty;
      }
    }
    const S = sizesFor(true);
    const perHousehold = r.figures.filter((f) => f.name === "clear + settle gas per household").map((f) => f.sizes.households);
    expect(perHousehold).to.deep.equal(S.households);
    const batches = r.figures.filter((f) => f.name === "gas per reading").map((f) => f.sizes.batch);
    expect(batches).to.deep.equal(S.batches);

    expect(r.targets).to.have.length(13); // 8 + the three ingest targets of issue 19 + the order update and the settlement blocks of issue 16
    // Each status follows from its measured value and its rule (read from the rule's text, not the harness's code).
    for (const t of r.targets) {
      const [, op, limit] = /(<=|>=|<)\s*([\d,.]+)$/.exec(t.rule)!;
      const bound = Number(limit.replace(/,/g, ""));
      expect(bound, `${t.name}: the rule's limit`).to.equal(t.limit);
      const ok = (m: number) => (op === "<=" ? m <= bound : op === ">=" ? m >= bound : m < bound);
      expect(t.status, `${t.name} (${t.measured} ${t.rule})`).to.equal(t.measured === undefined ? "not measured" : ok(t.measured) ? "met" : "not met");
    }
    expect(r.targets.some((t) => t.status !== "not measured"), "a quick run measures some targets").to.equal(true);
    expect(r.breakdown.map((b) => b.title).join("\n")).to.match(/One reading/).and.match(/collect/).and.match(/settle/);
    for (const b of r.breakdown) {
      // The breakdown accounts for the whole transaction.
      const sum = b.gas.intrinsic + b.gas.rows.reduce((s, x) => s + x.gas, 0) - b.gas.refund;
      expect(sum, b.title).to.equal(b.gas.gasUsed);
    }
    expect(renderTable(r)).to.contain("targets");
  });
});
