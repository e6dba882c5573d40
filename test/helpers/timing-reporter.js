// Mocha reporter for `npm test`: the spec reporter, plus the wall time of each test file (its
// hooks included) and the slowest files at the end, so the 10-minute budget of `npm test`
// (README, "Tests") can be checked and kept from one run's output.
"use strict";
const Mocha = require("mocha");
const path = require("node:path");

const { EVENT_SUITE_BEGIN, EVENT_SUITE_END, EVENT_RUN_END } = Mocha.Runner.constants;
const SHOWN = 12;

class TimingReporter extends Mocha.reporters.Spec {
  constructor(runner, options) {
    super(runner, options);
    const started = new Map(); // suite -> ms
    const perFile = new Map(); // file -> ms
    const runStart = Date.now();
    runner.on(EVENT_SUITE_BEGIN, (suite) => {
      if (suite.file && suite.parent && suite.parent.root) started.set(suite, Date.now());
    });
    runner.on(EVENT_SUITE_END, (suite) => {
      const t = started.get(suite);
      if (t === undefined) return;
      const file = path.relative(process.cwd(), suite.file);
      perFile.set(file, (perFile.get(file) || 0) + Date.now() - t);
    });
    runner.once(EVENT_RUN_END, () => {
      const rows = [...perFile].sort((a, b) => b[1] - a[1]);
      const total = (Date.now() - runStart) / 1000;
      console.log(`\n  Test files by wall time (${rows.length} files, ${total.toFixed(0)} s in all; the ${Math.min(SHOWN, rows.length)} slowest):`);
      for (const [file, ms] of rows.slice(0, SHOWN)) console.log(`    ${(ms / 1000).toFixed(1).padStart(6)} s  ${file}`);
    });
  }
}

module.exports = TimingReporter;
