/**
 * `npm run poa:up`: a private Clique network of 3 geth signer nodes on 127.0.0.1 (see
 * scripts/poa/network.ts). Finds or builds geth (scripts/poa/install-geth.sh), starts the
 * nodes, waits until they agree on the head, writes `.gridledger/poa/poa.env` and prints it.
 *
 *   npm run poa:up                          # ports 28545-28547 (HTTP), 28555-57 (P2P), 28565-67 (auth)
 *   npm run poa:up -- --base-port 38545     # other ports (for a new network)
 *   npm run poa:up -- --write-env           # also set those values in ./.env (other lines kept)
 *
 * Then: `set -a; . .gridledger/poa/poa.env; set +a; npx hardhat deploy --network poa`.
 * `npm run poa:down [-- --wipe]` stops exactly the nodes started here.
 */
import { execFileSync } from "node:child_process";
import * as path from "node:path";
import { Command } from "commander";
import { DEFAULT_POA, downNetwork, envValues, mergeEnvFile, readState, upNetwork, writeEnvFile } from "./network";

const root = path.resolve(__dirname, "../..");

/** The geth binary from install-geth.sh (which may build it), or a clear error. */
export function findGeth(): string {
  try {
    return execFileSync(path.join(__dirname, "install-geth.sh"), { stdio: ["ignore", "pipe", "inherit"], encoding: "utf8" }).trim();
  } catch {
    throw new Error("no usable geth 1.13 (see the message above)");
  }
}

async function main(): Promise<void> {
  const flags = new Command("poa:up")
    .option("--base-port <n>", "first HTTP port; P2P is base+10.., auth RPC base+20..", String(DEFAULT_POA.basePort))
    .option("--chain-id <n>", "chain id of a new network", String(DEFAULT_POA.chainId))
    .option("--period <s>", "Clique block period in seconds", String(DEFAULT_POA.periodSeconds))
    .option("--dir <path>", "network data directory", DEFAULT_POA.dir)
    .option("--write-env", "also set the values in ./.env (keeps its other lines)", false)
    .parse(process.argv)
    .opts<{ basePort: string; chainId: string; period: string; dir: string; writeEnv: boolean }>();
  const num = (name: string, raw: string, min: number, max: number) => {
    const n = Number(raw);
    if (!/^\d+$/.test(raw) || n < min || n > max) throw new Error(`--${name}: must be a whole number in [${min}, ${max}], got "${raw}"`);
    return n;
  };
  const basePort = num("base-port", flags.basePort, 1024, 65_500);
  const chainId = num("chain-id", flags.chainId, 1, 2 ** 31);
  const periodSeconds = num("period", flags.period, 1, 60);
  const geth = findGeth();
  const dir = path.resolve(flags.dir);
  const log = (m: string) => process.stderr.write(`poa: ${m}\n`);
  // Interrupted while starting: stop the nodes started so far (pids in state.json), no strays.
  const interrupted = async () => {
    const s = readState(dir);
    if (s) await downNetwork(s);
    process.stderr.write("poa:up interrupted: stopped the nodes it had started\n");
    process.exit(130);
  };
  process.once("SIGINT", interrupted).once("SIGTERM", interrupted);
  const state = await upNetwork({ dir, geth, chainId, basePort, periodSeconds, nodes: 3, log });

  const values = envValues(state);
  const envFile = path.join(dir, "poa.env");
  process.removeAllListeners("SIGINT").removeAllListeners("SIGTERM");
  writeEnvFile(envFile, values, `# Written by npm run poa:up at ${new Date().toISOString()}. Local development keys only.`);
  if (flags.writeEnv) {
    mergeEnvFile(path.join(root, ".env"), values);
    log("set the values below in .env");
  }
  log(`network up: ${state.nodes.map((n) => `node ${n.index} pid ${n.pid}`).join(", ")}; values in ${path.relative(process.cwd(), envFile)}:`);
  process.stdout.write(Object.entries(values).map(([k, v]) => `${k}=${v}`).join("\n") + "\n");
}

if (require.main === module) {
  main().catch((e: Error) => {
    process.stderr.write(`poa:up failed: ${e.message}\n`);
    process.exit(1);
  });
}
