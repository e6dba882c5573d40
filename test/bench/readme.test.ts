/**
 * bench/README.md quotes what a run wrote (issue 21): the last full run's table is
 * `renderTable(bench/results.json)`, the quick ingest run's table is
 * `renderTable(bench/results-quick-ingest.json)`, the quick orders run's table is
 * `renderTable(bench/results-quick-orders.json)` (issue 16), the update floor is
 * `renderFloor(bench/results-floor.json)` (issue 16), the stage times are `stageSeconds`, and every
 * other figure in the prose (a number with a thousands separator or a decimal point) is in one
 * of those tables or is an EVM constant or a size listed here with its reason.
 */
import { expect } from "chai";
import * as fs from "node:fs";
import * as path from "node:path";
import { renderTable, Results } from "../../bench/harness";
import { renderFloor, type FloorResults } from "../../bench/floor";

const BENCH = path.join(__dirname, "..", "..", "bench");
const readme = fs.readFileSync(path.join(BENCH, "README.md"), "utf8");
const results = (file: string) => JSON.parse(fs.readFileSync(path.join(BENCH, file), "utf8")) as Results & { stageSeconds: Record<string, number> };

/** Figures in the prose that no results file holds, each with why it may stand. */
const NOT_FROM_A_RUN: Record<string, string> = {
  "2.1": "EVM: a cold SLOAD costs 2,100 gas (2.1k)",
  "2.9": "EVM: an SSTORE update costs 2,900 gas (2.9k)",
  "22.1": "EVM: a new slot costs 20,000 + 2,100 cold (22.1k)",
  "3.1": "EVM: ecrecover costs 3,000 + call (3.1k, 3,100 in the breakdown)",
  "3.6": "calldata of one reading, ~3.6k: an estimate from the breakdown's intrinsic line",
  "69.7": "~69.7k: the steady-state reading gas (69,128 / 69,7xx per size) rounded in the summary",
  "11,000": "the build's transaction count: 5,000 households x ~2.2 transactions (a size, not a measurement)",
  "222,000": "the ingest stage's readings: the sum of the five ingest figures' sizes",
  "174,000": "a peer's gas per household-interval, measured elsewhere (issue 16's side-by-side table)",
  "316,000": "a peer's gas per household-interval, measured elsewhere (issue 16's side-by-side table)",
  "180,000": "GridLedger before issue 16 with an order update, measured elsewhere (issue 16)",
  "120,622": "the sum of two figures of results.json: all-in at 1,000 households (78,296) + order update (42,326)",
  "58,000": "issue 16's aim written out: a third of the best peer's ~174,000",
  "8,000": "about 30,000 (issue 16's update target) - 21,788 (the update's intrinsic gas in the table), rounded",
  "24,576": "EVM: the contract code-size limit (EIP-170)",
  "7,000": "a quarter of a new slot (22,100 / 4) + the position's cold read at collection (1,260 in the table), rounded",
  "7,400": "what the fifth session saved per household: all-in 85,707 at commit 4b76ac2 (the run before) - 78,296 now, rounded",
  "3,000": "an estimate of what smaller collect events and settle pages save (3,000-5,000), no measurement",
  "70,000": "the all-in figure (78,296) minus the two estimates above (and plus the accumulator's cost), rounded",
  "16,157": "a sum of the reading breakdown's rows: 4,134 + 3,100 + 5,000 (2,100 cold read + 2,900 update) + 3,923",
  "19,950": "a sum of the clearing breakdowns' rows: 5,250 + 2,900 + 3,292 + 3,380 + 5,128",
  "63.75": "the expected non-zero bytes of a 64-byte signature (64 x 255/256): the floor table",
  "1,021": "EVM: a 64-byte signature as calldata, 63.75 x 16 + (64 - 63.75) x 4 (the floor table)",
  "1,390": "EVM: a log with one topic and 80 bytes, 375 + 375 + 80 x 8 (the floor table)",
  "1,381": "EVM: a log with two topics and one word, 375 + 2 x 375 + 32 x 8 (the floor table)",
  "22,345": "the floor table's sum: 53 + 1,021 + 144 + 3,100 + 5,000 + 1,390 + 5,000 + 128 + 5,000 + 128 + 1,381",
  "2,655": "25,000 - the floor table's sum (22,345)",
  "7,600": "25,000 - (22,345 - 5,000 for settle's cold slot + 200 for its warm read and dirty update - 128 for the entry's calldata) = 7,583, rounded: one-transaction clearing",
  "4,633": "what one signature per gateway batch saves per reading: 1,021 + 3,100 + 64 x 8 (the floor table)",
};

/** The fenced block right after `heading`. */
function blockAfter(heading: string): string {
  const at = readme.indexOf(heading);
  expect(at, `${heading} in bench/README.md`).to.be.greaterThan(-1);
  const m = /```\n([\s\S]*?)```/.exec(readme.slice(at));
  expect(m, `a fenced block after ${heading}`).to.not.equal(null);
  return m![1];
}

describe("bench/README.md quotes the results files", () => {
  const full = results("results.json");
  const quick = results("results-quick-ingest.json");
  const orders = results("results-quick-orders.json");
  const floor = JSON.parse(fs.readFileSync(path.join(BENCH, "results-floor.json"), "utf8")) as FloorResults;
  const tables = renderTable(full) + "\n" + renderTable(quick) + "\n" + renderTable(orders) + "\n" + renderFloor(floor);

  it("shows the last full run's table as rendered from bench/results.json", () => {
    expect(blockAfter("## The last full run").trimEnd()).to.equal(renderTable(full).trimEnd());
  });

  it("shows the quick ingest run's table as rendered from bench/results-quick-ingest.json", () => {
    expect(quick.mode).to.equal("quick");
    expect(blockAfter("## The quick ingest run").trimEnd()).to.equal(renderTable(quick).trimEnd());
  });

  it("shows the quick orders run's table as rendered from bench/results-quick-orders.json", () => {
    expect(orders.mode).to.equal("quick");
    expect(blockAfter("## The quick orders run").trimEnd()).to.equal(renderTable(orders).trimEnd());
  });

  it("shows the order update's floor as rendered from bench/results-floor.json (npm run bench:floor)", () => {
    const at = readme.indexOf("`npm run bench:floor`");
    expect(at, "the floor paragraph").to.be.greaterThan(-1);
    const m = /```\n([\s\S]*?)```/.exec(readme.slice(at));
    expect(m, "a fenced block after the floor paragraph").to.not.equal(null);
    const shown = m![1].split("\n").map((l) => l.replace(/^  /, "").trimEnd()).join("\n").trimEnd();
    expect(shown).to.equal(renderFloor(floor).split("\n").map((l) => l.trimEnd()).join("\n").trimEnd());
  });

  it("lists the full run's stage times as its stageSeconds", () => {
    const at = readme.indexOf("| stage | s |");
    expect(at).to.be.greaterThan(-1);
    const rows = readme.slice(at).split("\n").slice(2).filter((l) => l.startsWith("|"));
    const quoted = rows.flatMap((l) => l.split("|")[2].split("/").map((x) => Number(x.trim())));
    expect(quoted).to.deep.equal(Object.values(full.stageSeconds).map((s) => Math.round(s)));
  });

  it("quotes no figure in its prose that no results file holds", () => {
    const prose = readme.replace(/```[\s\S]*?```/g, "");
    const figures = [...new Set(prose.match(/(?<![\w.])\d{1,3}(?:,\d{3})+(?:\.\d+)?|(?<![\w.])\d+\.\d+(?![\w.])/g) ?? [])];
    const unsourced = figures.filter((f) => !tables.includes(f) && !(f in NOT_FROM_A_RUN));
    expect(unsourced, "figures in bench/README.md that no results file holds").to.deep.equal([]);
  });
});
