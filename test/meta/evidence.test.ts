/**
 * What a green run means (issue 21): no test draws unseeded randomness, a missing prerequisite
 * fails under CI and skips with the enabling command elsewhere, skips are listed and counted,
 * and CI's closing line fails on a skip.
 */
import { expect } from "chai";
import { spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { requirePrerequisite, skipSummary } from "../helpers/prereq";
import { seedFrom } from "../hardening/helpers";

const ROOT = path.resolve(__dirname, "..", "..");

function files(dir: string): string[] {
  return fs.readdirSync(dir, { withFileTypes: true }).flatMap((e) => (e.isDirectory() ? files(path.join(dir, e.name)) : [path.join(dir, e.name)]));
}

describe("evidence: what a green run means", () => {
  it("no test draws unseeded randomness from the Math object (every random choice comes from a printed seed)", () => {
    const needle = ["Math", "random"].join(".");
    const hits = files(path.join(ROOT, "test"))
      .filter((f) => /\.(ts|js)$/.test(f))
      .filter((f) => fs.readFileSync(f, "utf8").includes(needle))
      .map((f) => path.relative(ROOT, f));
    expect(hits).to.deep.equal([]);
  });

  it("takes a campaign's seed back from the environment and refuses a malformed one", () => {
    expect(seedFrom("42", () => 7)).to.equal(42);
    expect(seedFrom(undefined, () => 7)).to.equal(7);
    expect(seedFrom(" ", () => 7)).to.equal(7);
    expect(() => seedFrom("abc", () => 7)).to.throw(/seed "abc"/);
    expect(() => seedFrom("-1", () => 7)).to.throw(/non-negative/);
  });

  describe("a missing prerequisite", () => {
    const fakeContext = () => {
      const ctx = { skipped: false, test: { type: "hook", parent: { fullTitle: () => "suite needing a tool" }, fullTitle: () => "hook" }, skip() { this.skipped = true; } };
      return ctx;
    };

    it("is a failure under CI that says what is missing and how to provide it", () => {
      const ctx = fakeContext();
      expect(() => requirePrerequisite(ctx as unknown as Mocha.Context, "/nope/chromium is missing", "apt-get install -y chromium", true)).to.throw(
        /missing prerequisite under CI=true.*\/nope\/chromium is missing.*apt-get install -y chromium/,
      );
      expect(ctx.skipped).to.equal(false);
    });

    it("is a skip outside CI, listed in the summary with the enabling command", () => {
      const ctx = fakeContext();
      requirePrerequisite(ctx as unknown as Mocha.Context, "a made-up prerequisite of this test", "apt-get install -y mosquitto", false);
      expect(ctx.skipped).to.equal(true);
      const pendingTest = { title: "t", isPending: () => true, fullTitle: () => "suite needing a tool does a thing" };
      const root = { title: "", tests: [], suites: [{ title: "suite needing a tool", tests: [pendingTest], suites: [], fullTitle: () => "suite needing a tool" }], fullTitle: () => "" };
      expect(skipSummary(root).join("\n")).to.include("Skipped: 1 test").and.include("suite needing a tool (1 test): a made-up prerequisite of this test; to run it: apt-get install -y mosquitto");
    });
  });

  describe("CI's closing line (.ci/summary.sh)", () => {
    const summary = (log: string, status = 0) => {
      const f = path.join(fs.mkdtempSync(path.join(os.tmpdir(), "gl-ci-")), "log");
      fs.writeFileSync(f, log);
      const r = spawnSync("bash", [path.join(ROOT, ".ci", "summary.sh"), f, "2", "0", String(status)], { encoding: "utf8" });
      return { code: r.status, last: r.stdout.trim().split("\n").pop() };
    };

    it("counts passed, failed and skipped tests over every mocha summary", () => {
      expect(summary("  10 passing (3s)\n\n  4 passing (1s)\n")).to.deep.equal({ code: 0, last: "16 passed, 0 failed, 0 skipped" });
    });

    it("fails when a test was skipped", () => {
      expect(summary("  10 passing (3s)\n  3 pending\n")).to.deep.equal({ code: 1, last: "12 passed, 0 failed, 3 skipped" });
    });

    it("fails on a failing test or a failed step", () => {
      expect(summary("  10 passing (3s)\n  1 failing\n")).to.deep.equal({ code: 1, last: "12 passed, 1 failed, 0 skipped" });
      expect(summary("  10 passing (3s)\n", 1)).to.deep.equal({ code: 1, last: "12 passed, 1 failed, 0 skipped" });
    });
  });
});
