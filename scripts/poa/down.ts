/**
 * `npm run poa:down [-- --wipe]`: stops exactly the geth processes `poa:up` started (the pids in
 * .gridledger/poa/state.json, checked to be geth on that datadir); `--wipe` removes the data.
 */
import * as path from "node:path";
import { Command } from "commander";
import { DEFAULT_POA, downNetwork, readState } from "./network";

async function main(): Promise<void> {
  const flags = new Command("poa:down")
    .option("--dir <path>", "network data directory", DEFAULT_POA.dir)
    .option("--wipe", "also delete the chain data, keys and poa.env", false)
    .parse(process.argv)
    .opts<{ dir: string; wipe: boolean }>();
  const dir = path.resolve(flags.dir);
  const state = readState(dir);
  if (!state) {
    process.stderr.write(`poa:down: no network in ${dir} (nothing to stop)\n`);
    return;
  }
  const stopped = await downNetwork(state, flags.wipe);
  process.stderr.write(`poa:down: ${stopped.length ? `stopped pids ${stopped.join(", ")}` : "no node was running"}${flags.wipe ? `; removed ${dir}` : ""}\n`);
}

main().catch((e: Error) => {
  process.stderr.write(`poa:down failed: ${e.message}\n`);
  process.exit(1);
});
