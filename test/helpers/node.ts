/**
 * Real processes for tests: `npx hardhat node` on a free 127.0.0.1 port with its deployment
 * records in a temporary folder, child processes in their own process group (so a signal reaches
 * ts-node's children too), a Mosquitto broker. Every process started here is killed by
 * `Processes.killAll()` (call it in `after`).
 */
import { spawn, spawnSync, ChildProcess } from "node:child_process";
import * as fs from "node:fs";
import * as path from "node:path";
import { JsonRpcProvider } from "ethers";
import { freePort, waitFor } from "../oracle/helpers";

export const ROOT = path.resolve(__dirname, "../..");

export interface Tracked {
  child: ChildProcess;
  /** stdout and stderr so far. */
  output(): string;
  /** Whether the process has ended. */
  ended(): boolean;
  /** Resolves with the exit code (null after a signal) once the process ended. */
  exited(): Promise<number | null>;
  /** Sends `signal` to the whole process group. */
  signal(signal: NodeJS.Signals): void;
}

export class Processes {
  private readonly all: Tracked[] = [];
  private readonly stops: (() => void)[] = [];

  /** Runs `stop` on `killAll()` (in-process servers such as the embedded MQTT broker). */
  onKill(stop: () => void): void {
    this.stops.push(stop);
  }

  spawn(cmd: string, args: string[], env: NodeJS.ProcessEnv = {}, cwd = ROOT): Tracked {
    const child = spawn(cmd, args, { cwd, env: { ...process.env, ...env }, stdio: ["ignore", "pipe", "pipe"], detached: true });
    let out = "";
    child.stdout!.on("data", (d) => (out += d));
    child.stderr!.on("data", (d) => (out += d));
    const ended = () => child.exitCode !== null || child.signalCode !== null;
    const t: Tracked = {
      child,
      output: () => out,
      ended,
      exited: () => new Promise((r) => (ended() ? r(child.exitCode) : child.once("exit", (code) => r(code)))),
      signal: (sig) => {
        if (child.pid && !ended()) {
          try {
            process.kill(-child.pid, sig);
          } catch {
            /* already gone */
          }
        }
      },
    };
    this.all.push(t);
    return t;
  }

  killAll(): void {
    for (const t of this.all) t.signal("SIGKILL");
    for (const stop of this.stops.splice(0)) stop();
  }
}

export interface HardhatNode {
  port: number;
  rpcUrl: string;
  /** The folder of deployment records (`<dir>/localhost/<Contract>.json`). */
  deploymentsDir: string;
  provider: JsonRpcProvider;
  proc: Tracked;
  record(name: string): { address: string; abi: never[]; blockNumber?: number };
}

export interface NodeOptions {
  /** Folder for the deployment records (a `deployments` folder is made in it). */
  work: string;
  intervalSeconds: number;
  marketStart: number;
  /**
   * Unix time the node's clock starts at (default: now). Tests that replay past intervals start
   * it at the market start, register the meters, then call `catchUpClock`: a meter's readings
   * are accepted only for intervals from its registration on.
   */
  chainStartsAt?: number;
  /** Block interval of the node in ms (GRIDLEDGER_NODE_BLOCK_MS; 0 = automine only). */
  blockMs?: number;
  port?: number;
}

/** `npx hardhat node` with the deploy scripts run on it; resolves once the records are written and the code is on chain. */
export async function startHardhatNode(procs: Processes, o: NodeOptions): Promise<HardhatNode> {
  const port = o.port ?? (await freePort());
  const deploymentsDir = path.join(o.work, "deployments");
  const started = Date.now();
  const proc = procs.spawn("npx", ["hardhat", "node", "--hostname", "127.0.0.1", "--port", String(port)], {
    GRIDLEDGER_INTERVAL_SECONDS: String(o.intervalSeconds),
    GRIDLEDGER_MARKET_START: String(o.marketStart),
    GRIDLEDGER_DEPLOYMENTS_DIR: deploymentsDir,
    ...(o.blockMs === undefined ? {} : { GRIDLEDGER_NODE_BLOCK_MS: String(o.blockMs) }),
    ...(o.chainStartsAt === undefined ? {} : { GRIDLEDGER_NODE_INITIAL_DATE: new Date(o.chainStartsAt * 1000).toISOString() }),
  });
  await waitFor(() => /Started HTTP and WebSocket JSON-RPC server/.test(proc.output()) || proc.ended(), "hardhat node", 120_000, 200);
  if (proc.ended()) throw new Error(`hardhat node exited: ${proc.output()}`);
  const rpcUrl = `http://127.0.0.1:${port}`;
  const provider = new JsonRpcProvider(rpcUrl, 31337, { staticNetwork: true, cacheTimeout: -1 });
  const record = (name: string) => JSON.parse(fs.readFileSync(path.join(deploymentsDir, "localhost", `${name}.json`), "utf8"));
  await waitFor(async () => {
    const f = path.join(deploymentsDir, "localhost", "EnergyMarket.json");
    return fs.existsSync(f) && fs.statSync(f).mtimeMs >= started - 1000 && (await provider.getCode(record("EnergyMarket").address)) !== "0x";
  }, "the deploy scripts on the node", 60_000, 200);
  return { port, rpcUrl, deploymentsDir, provider, proc, record };
}

export const MOSQUITTO = ["/usr/sbin/mosquitto", "/usr/local/sbin/mosquitto", "/opt/homebrew/sbin/mosquitto"].find((p) => fs.existsSync(p)) ??
  (spawnSync("which", ["mosquitto"]).stdout?.toString().trim() || undefined);

/** A Mosquitto broker on `port` (127.0.0.1, anonymous, no persistence); resolves once it listens. */
export async function startMosquitto(procs: Processes, dir: string, port: number): Promise<Tracked> {
  if (!MOSQUITTO) throw new Error("mosquitto is not installed: apt-get install -y mosquitto");
  const conf = path.join(dir, `mosquitto-${port}.conf`);
  fs.writeFileSync(conf, `listener ${port} 127.0.0.1\nallow_anonymous true\npersistence false\nlog_dest stderr\n`);
  const broker = procs.spawn(MOSQUITTO, ["-c", conf]);
  await waitFor(() => /running|Opening ipv4 listen socket/.test(broker.output()) || broker.ended(), "mosquitto to start", 10_000);
  if (broker.ended()) throw new Error(`mosquitto exited: ${broker.output()}`);
  return broker;
}

/** Moves a node started in the past (`chainStartsAt`) to the wall clock with one block. */
export async function catchUpClock(provider: JsonRpcProvider): Promise<void> {
  await provider.send("evm_setNextBlockTimestamp", [Math.floor(Date.now() / 1000)]);
  await provider.send("evm_mine", []);
}
