/**
 * `npm run bench`: gas and throughput of every hot path (issue 8), printed as a table and
 * written to bench/results.json. See bench/README.md.
 *
 *   npm run bench                          # the embedded chain, full sizes (about 14 CPU-minutes)
 *   npm run bench -- --quick               # small sizes, a smoke test (under 2 minutes)
 *   npm run bench -- --only intervals,keeper
 *   npx hardhat node & npm run bench -- --network localhost
 *
 * Runs with ts-node (flags parsed here, then Hardhat loaded with HARDHAT_NETWORK set) or under
 * `npx hardhat run bench/run.ts`, which passes no flags: then BENCH_QUICK=1, BENCH_ONLY and
 * BENCH_OUT set the same things.
 */
import * as path from "node:path";
import { Command } from "commander";
import type { HardhatRuntimeEnvironment } from "hardhat/types";

const SCENARIOS = ["readings", "orders", "intervals", "ingest", "oracle", "keeper"];

function parseFlags(argv: string[]) {
  return new Command("bench")
    .description("Measure gas and throughput of GridLedger's hot paths")
    .option("--quick", "small sizes: a smoke test (BENCH_QUICK=1)", false)
    .option("--only <scenarios>", `comma-separated subset of ${SCENARIOS.join(", ")} (BENCH_ONLY)`)
    .option("--network <name>", "hardhat (embedded, default) or a Hardhat node such as localhost (HARDHAT_NETWORK)")
    .option("--out <file>", "where to write the results (BENCH_OUT)", undefined)
    .allowUnknownOption(true)
    .allowExcessArguments(true)
    .parse(argv, { from: "node" })
    .opts<{ quick: boolean; only?: string; network?: string; out?: string }>();
}

async function main(): Promise<void> {
  const flags = parseFlags(process.argv);
  const quick = flags.quick || process.env.BENCH_QUICK === "1";
  const onlyRaw = flags.only ?? process.env.BENCH_ONLY;
  const only = onlyRaw?.split(",").map((s) => s.trim()).filter(Boolean);
  const unknown = only?.filter((s) => !SCENARIOS.includes(s)) ?? [];
  if (unknown.length) throw new Error(`--only: unknown scenario ${unknown.join(", ")}; choose from ${SCENARIOS.join(", ")}`);
  if (flags.network) process.env.HARDHAT_NETWORK = flags.network;
  // Loaded only now, so that HARDHAT_NETWORK picks the chain (under `hardhat run` it is loaded already).
  // eslint-disable-next-line @typescript-eslint/no-var-requires
  const hre = require("hardhat") as HardhatRuntimeEnvironment;
  if (flags.network && hre.network.name !== flags.network) {
    throw new Error(`--network ${flags.network}: Hardhat was already loaded for network ${hre.network.name}; set HARDHAT_NETWORK instead`);
  }
  await hre.run("compile", { quiet: true });
  // eslint-disable-next-line @typescript-eslint/no-var-requires
  const { runBench, renderTable } = require("./harness") as typeof import("./harness");
  const out = path.resolve(flags.out ?? process.env.BENCH_OUT ?? path.join(__dirname, "results.json"));
  const results = await runBench(hre, { quick, only: only as never, out });
  process.stdout.write(renderTable(results));
  process.stderr.write(`results written to ${out}\n`);
}

main().then(
  () => process.exit(0),
  (e: unknown) => {
    process.stderr.write(`\nbench failed: ${(e as Error).message}\n`);
    if (process.env.DEBUG) console.error(e);
    process.exit(1);
  },
);
