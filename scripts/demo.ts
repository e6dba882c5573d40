/**
 * `npm run demo`: a whole community day of GridLedger in one process (see src/demo).
 *
 *   npm run demo                                   # embedded Hardhat chain, 20 households, 96 intervals
 *   npm run demo -- --households 30 --intervals 48 --seed 7
 *   npx hardhat node & npm run demo -- --network localhost --move-clock   # records in deployments/demo/localhost
 *
 * Runs directly with ts-node (flags parsed here, then Hardhat loaded with HARDHAT_NETWORK set)
 * or under `hardhat run scripts/demo.ts`, which passes no flags: then DEMO_HOUSEHOLDS,
 * DEMO_INTERVALS, DEMO_SEED, DEMO_START_HOUR, DEMO_BATTERY_KWH and HARDHAT_NETWORK set the same things.
 *
 *   npm run demo -- --battery-kwh 50                # the same day without and with a 50 kWh community battery
 * The report goes to stdout, the progress bar and timing to stderr; DEMO_PROFILE=1 adds the time
 * spent per JSON-RPC method.
 */
import * as path from "node:path";
import { Command } from "commander";
import type { HardhatRuntimeEnvironment } from "hardhat/types";
import { GridLedgerError } from "../src/sdk/errors";
import { Progress, renderComparison, renderReport, resolveOptions, runDemo } from "../src/demo";

interface Flags {
  households?: string;
  intervals?: string;
  seed?: string;
  startHour?: string;
  pageSize?: string;
  batteryKwh?: string;
  network?: string;
  progress: boolean;
  oracleLog?: string;
  deployments?: string;
  moveClock?: boolean;
}

function parseFlags(argv: string[]): Flags {
  return new Command("demo")
    .description("Simulate one community day of GridLedger on a chain and print the results")
    .option("--households <n>", "households in the community (DEMO_HOUSEHOLDS)", undefined)
    .option("--intervals <n>", "15-minute intervals to simulate (DEMO_INTERVALS)", undefined)
    .option("--seed <n>", "seed of the community, weather and orders (DEMO_SEED)", undefined)
    .option("--start-hour <h>", "hour of the day the run starts at (DEMO_START_HOUR)", undefined)
    .option("--page-size <n>", "participants per keeper transaction (DEMO_PAGE_SIZE)", undefined)
    .option("--battery-kwh <n>", "add a community battery of n kWh and compare with the run without it (DEMO_BATTERY_KWH, 0 = none)", undefined)
    .option("--network <name>", "hardhat (embedded, default) or a Hardhat node such as localhost (HARDHAT_NETWORK)")
    .option("--no-progress", "no progress bar on stderr")
    .option("--oracle-log <level>", "show the oracle daemon's logs on stderr (info, warn, debug)")
    .option("--deployments <dir>", "with --network: the demo's own records root (default deployments/demo, or $GRIDLEDGER_DEPLOYMENTS_DIR/demo); never a folder holding another deployment")
    .option("--move-clock", "with --network on a Hardhat node: allow the demo to move the node's clock forward by hours (refused otherwise)")
    .parse(argv, { from: "node" })
    .opts<Flags>();
}

async function main(): Promise<void> {
  const flags = parseFlags(process.argv);
  const options = resolveOptions({
    households: flags.households,
    intervals: flags.intervals,
    seed: flags.seed,
    startHour: flags.startHour,
    pageSize: flags.pageSize,
    batteryKWh: flags.batteryKwh,
    progress: flags.progress,
  });
  if (flags.network) process.env.HARDHAT_NETWORK = flags.network;
  if (flags.network && flags.network !== "hardhat") {
    // The demo's records never land in deployments/<network>, where the operator's community lives.
    const root = process.env.GRIDLEDGER_DEPLOYMENTS_DIR?.trim() || path.join(__dirname, "..", "deployments");
    process.env.GRIDLEDGER_DEPLOYMENTS_DIR = path.resolve(flags.deployments ?? path.join(root, "demo"));
  }
  // Loaded only now, so that HARDHAT_NETWORK picks the chain (under `hardhat run` it is loaded already).
  // eslint-disable-next-line @typescript-eslint/no-var-requires
  const hre = require("hardhat") as HardhatRuntimeEnvironment;
  if (flags.network && hre.network.name !== flags.network) {
    throw new GridLedgerError(`--network ${flags.network}: Hardhat was already loaded for network ${hre.network.name}`, {
      details: "run the demo with ts-node (npm run demo -- --network ...) or set HARDHAT_NETWORK for hardhat run",
    });
  }
  await hre.run("compile", { quiet: true });
  if (process.env.DEMO_PROFILE) profileRpc(hre);

  const started = Date.now();
  if (options.batteryKWh > 0) {
    // The same seed twice: the community without the battery, then with it.
    const progressWithout = new Progress(options.intervals, options.progress);
    const without = await runDemo(hre, { ...options, batteryKWh: 0 }, { progress: progressWithout, oracleLogLevel: flags.oracleLog });
    progressWithout.finish(`Simulated ${options.intervals} intervals without the battery in ${((Date.now() - started) / 1000).toFixed(1)} s`);
    const startedWith = Date.now();
    const progressWith = new Progress(options.intervals, options.progress);
    const withBattery = await runDemo(hre, options, { progress: progressWith, oracleLogLevel: flags.oracleLog });
    progressWith.finish(`Simulated ${options.intervals} intervals with a ${options.batteryKWh} kWh battery in ${((Date.now() - startedWith) / 1000).toFixed(1)} s on network ${hre.network.name}`);
    process.stdout.write(renderReport(withBattery.report, withBattery.audit, withBattery.summary));
    process.stdout.write("\n" + renderComparison(without, withBattery) + "\n");
    return;
  }
  const progress = new Progress(options.intervals, options.progress);
  const result = await runDemo(hre, options, { progress, oracleLogLevel: flags.oracleLog, allowClockMove: Boolean(flags.moveClock) });
  progress.finish(`Simulated ${options.intervals} intervals in ${((Date.now() - started) / 1000).toFixed(1)} s on network ${hre.network.name}`);
  process.stdout.write(renderReport(result.report, result.audit, result.summary));
}

/** DEMO_PROFILE=1: time spent per JSON-RPC method, printed on exit. */
function profileRpc(hre: HardhatRuntimeEnvironment): void {
  const stats = new Map<string, { n: number; ms: number }>();
  const p = hre.network.provider as unknown as {
    request(a: { method: string; params?: unknown[] }): Promise<unknown>;
    send(method: string, params?: unknown[]): Promise<unknown>;
  };
  let depth = 0;
  const timed = async <T>(method: string, fn: () => Promise<T>): Promise<T> => {
    const t = performance.now();
    depth++;
    try {
      return await fn();
    } finally {
      depth--;
      if (depth === 0) {
        const s = stats.get(method) ?? { n: 0, ms: 0 };
        s.n++;
        s.ms += performance.now() - t;
        stats.set(method, s);
      }
    }
  };
  const request = p.request.bind(p);
  const send = p.send.bind(p);
  p.request = (a) => timed(a.method, () => request(a));
  p.send = (m, params) => timed(m, () => send(m, params));
  process.on("exit", () => {
    for (const [m, s] of [...stats].sort((a, b) => b[1].ms - a[1].ms)) process.stderr.write(`${m.padEnd(32)} ${String(s.n).padStart(7)} ${s.ms.toFixed(0).padStart(8)} ms\n`);
  });
}

main().then(
  () => process.exit(0),
  (e: unknown) => {
    const err = e as GridLedgerError;
    process.stderr.write(`\ndemo failed: ${err.shortMessage ?? err.message}\n${err.details ? `  ${err.details}\n` : ""}`);
    if (process.env.DEBUG) console.error(e);
    process.exit(1);
  },
);
