/**
 * The whole system on a real private proof-of-authority network: three geth 1.13 Clique
 * signers on 127.0.0.1 (scripts/poa), the production deploy command, then the demo (oracle
 * daemon, orders, keeper, audit) with one signer stopped in the middle of the run.
 *
 * Runs with `npm run test:poa` (GRIDLEDGER_TEST_POA=1); `npm test` leaves it out (listed in
 * the summary as not selected). When geth can be neither found nor built
 * (scripts/poa/install-geth.sh) it is a failure under CI and a skip with the reason elsewhere.
 */
import { expect } from "chai";
import { execFileSync, spawn } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { Contract, JsonRpcProvider } from "ethers";
import { noteNotSelected, requirePrerequisite } from "../helpers/prereq";
import { blockSigner, downNetwork, heads, PoaState, portFree, rpc, startNode, stopNode, upNetwork, waitForAgreement } from "../../scripts/poa/network";

const root = path.resolve(__dirname, "../..");
const hardhatBin = path.join(root, "node_modules/.bin/hardhat");
const tsNodeBin = path.join(root, "node_modules/.bin/ts-node");
// Long enough for one interval's work (oracle batch, orders, two keeper transactions, each
// waiting for its block) on a loaded 2-core machine: the demo must keep up with real time.
const INTERVAL_SECONDS = 30;
const INTERVALS = 6;

interface Run {
  code: number | null;
  out: string;
  err: string;
}

function runProcess(cmd: string, args: string[], env: NodeJS.ProcessEnv): { done: Promise<Run>; pid?: number } {
  const child = spawn(cmd, args, { cwd: root, env, stdio: ["ignore", "pipe", "pipe"] });
  let out = "";
  let err = "";
  child.stdout.on("data", (d) => (out += d));
  child.stderr.on("data", (d) => (err += d));
  const done = new Promise<Run>((resolve) => child.on("exit", (code) => resolve({ code, out, err })));
  return { done, pid: child.pid };
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function freeBasePort(): Promise<number> {
  for (let base = 29545; base < 60000; base += 1000) {
    const ports = [0, 1, 2].flatMap((i) => [base + i, base + 10 + i, base + 20 + i]);
    let free = true;
    for (const p of ports) if (!(await portFree(p))) free = false;
    if (free) return base;
  }
  throw new Error("no free ports for the test network");
}

const TITLE = "poa / three Clique signers run the market through a signer outage";
const SELECTED = Boolean(process.env.GRIDLEDGER_TEST_POA);
if (!SELECTED) noteNotSelected(TITLE, "npm run test:poa");
const describeIfSelected = SELECTED ? describe : ((() => undefined) as unknown as Mocha.SuiteFunction);

describeIfSelected(TITLE, function () {
  this.timeout(20 * 60_000);
  let state: PoaState | undefined;
  let dir: string;
  let env: NodeJS.ProcessEnv;
  const started = Date.now();
  const log = (m: string) => console.log(`      [poa +${((Date.now() - started) / 1000).toFixed(0)} s] ${m}`);

  before(async function () {
    let geth = "";
    try {
      geth = execFileSync(path.join(root, "scripts/poa/install-geth.sh"), { stdio: ["ignore", "pipe", "inherit"], encoding: "utf8" }).trim();
    } catch {
      requirePrerequisite(this, "geth 1.13 is not installed and could not be built (see the message above)", "scripts/poa/install-geth.sh (needs the Go toolchain), or GETH=/path/to/geth-1.13");
    }
    dir = fs.mkdtempSync(path.join(os.tmpdir(), "gridledger-poa-"));
    const basePort = await freeBasePort();
    state = await upNetwork({ dir, geth: geth!, chainId: 1337, basePort, periodSeconds: 2, nodes: 3, log });
    env = {
      ...process.env,
      POA_RPC_URL: state.nodes.map((n) => n.url).join(","),
      POA_CHAIN_ID: "1337",
      POA_DEPLOYER_KEY: state.funded[0].key,
      GRIDLEDGER_RPC_URL: state.nodes.map((n) => n.url).join(","),
      GRIDLEDGER_INTERVAL_SECONDS: String(INTERVAL_SECONDS),
      HARDHAT_NETWORK: "poa",
    };
    delete env.GRIDLEDGER_MARKET_START;
    log(`network up in ${dir}, base port ${basePort}`);
  });

  after(async () => {
    if (!state) return;
    if (process.env.GRIDLEDGER_KEEP_POA) log(`kept ${dir}`);
    const stopped = await downNetwork(state, !process.env.GRIDLEDGER_KEEP_POA);
    log(`stopped pids ${stopped.join(", ")}`);
  });

  it("deploys the contracts with npx hardhat deploy --network poa", async () => {
    const records = path.join(dir, "deployments");
    const run = runProcess(hardhatBin, ["deploy", "--network", "poa", "--tags", "core"], { ...env, GRIDLEDGER_DEPLOYMENTS_DIR: records });
    const r = await run.done;
    expect(r.code, r.err + r.out).to.equal(0);
    const market = JSON.parse(fs.readFileSync(path.join(records, "poa", "EnergyMarket.json"), "utf8")) as { address: string };
    const code = await rpc<string>(state!.nodes[2].url, "eth_getCode", [market.address, "latest"]);
    expect(code.length).to.be.greaterThan(1000, "EnergyMarket's code, read from another node");
    log(`deployed (market ${market.address})`);
  });

  it("seals blocks by all three signers", async () => {
    const [head] = await heads(state!, [state!.nodes[1]]);
    const signers = new Set<string>();
    for (let n = 1; n <= head; n++) signers.add(await blockSigner(state!.nodes[1].url, n));
    expect([...signers].sort()).to.deep.equal(state!.nodes.map((n) => n.signer).sort());
    log(`blocks 1-${head} sealed by ${signers.size} signers`);
  });

  it("runs the demo on the chain while a signer is down: blocks keep coming, nothing is lost, the node catches up", async () => {
    const records = path.join(dir, "deployments-demo");
    const demo = runProcess(
      tsNodeBin,
      ["--transpile-only", "scripts/demo.ts", "--network", "poa", "--households", "6", "--intervals", String(INTERVALS), "--seed", "3", "--start-hour", "11", "--no-progress", "--oracle-log", "info"],
      // DEBUG=1: the demo prints the whole error (with the failing call) if it fails.
      { ...env, GRIDLEDGER_DEPLOYMENTS_DIR: records, DEBUG: "1" },
    );
    let exited: Run | undefined;
    void demo.done.then((r) => (exited = r));
    const watch = new JsonRpcProvider(state!.nodes[1].url, 1337, { staticNetwork: true });
    try {
      // Wait until the demo has settled two intervals of its run (the baseline interval counts too).
      // scripts/demo.ts keeps the demo's records under <root>/demo/<network>.
      const marketFile = path.join(records, "demo", "poa", "EnergyMarket.json");
      const settledCount = async () => {
        if (!fs.existsSync(marketFile)) return 0;
        const { address } = JSON.parse(fs.readFileSync(marketFile, "utf8")) as { address: string };
        const m = new Contract(address, ["event IntervalSettled(uint32 indexed interval)"], watch);
        return (await m.queryFilter("IntervalSettled", 0)).length;
      };
      const waitSettled = async (n: number, what: string) => {
        const deadline = Date.now() + 8 * 60_000;
        while ((await settledCount().catch(() => 0)) < n) {
          if (exited) throw new Error(`the demo ended before ${what}: code ${exited.code}\n${exited.err}\n${exited.out}`);
          if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
          await sleep(1000);
        }
      };
      await waitSettled(3, "its first intervals settled");
      log("demo has settled its first intervals; stopping node 0 (the first RPC URL, Hardhat's own)");

      const before = state!.nodes.map((n) => n.signer);
      const stoppedAt = (await heads(state!, [state!.nodes[1]]))[0];
      expect(await stopNode(state!, 0)).to.equal(true);
      const alive = state!.nodes.slice(1);

      // Blocks keep coming from the other two signers, and only from them.
      await sleep(6 * 2000 + 1000);
      const [h1, h2] = await heads(state!, alive);
      expect(Math.min(h1, h2)).to.be.at.least(stoppedAt + 4, "blocks after the signer stopped");
      const sealers = new Set<string>();
      for (let n = stoppedAt + 2; n <= Math.min(h1, h2); n++) sealers.add(await blockSigner(alive[0].url, n));
      expect([...sealers].sort()).to.deep.equal(before.slice(1).sort());
      log(`blocks ${stoppedAt}-${Math.min(h1, h2)} sealed by the other two signers`);

      // The daemons carry on through the other nodes: two more intervals settle while node 0 is down.
      const settledWhenStopped = await settledCount();
      await waitSettled(settledWhenStopped + 2, "two intervals settled with node 0 down");
      log("two more intervals settled with node 0 down; restarting it");

      await startNode(state!, 0, log);
      const common = await waitForAgreement(state!, { minHeight: Math.max(h1, h2) + 1, timeoutMs: 120_000 });
      log(`node 0 caught up: all three agree on block ${common}`);

      const r = await demo.done;
      expect(r.code, r.err + r.out).to.equal(0);
      expect(r.out).to.contain(`Intervals settled   ${INTERVALS}/${INTERVALS}`);
      expect(r.out).to.match(/Audit: ok/);
      const accepted = /Oracle: (\d+) readings?/.exec(r.out);
      expect(Number(accepted?.[1])).to.be.greaterThan(0);
      log(`demo finished: ${r.out.split("\n").find((l) => l.startsWith("Oracle:"))}`);
      log(r.out.split("\n").find((l) => l.startsWith("Audit:")) ?? "");

      // Nothing lost: every refused reading is the suspended member's (or a harmless resubmission
      // of a batch already landed, after a failover); none came too late or was otherwise bad.
      const readingsRecord = JSON.parse(fs.readFileSync(path.join(records, "demo", "poa", "MeterReadings.json"), "utf8")) as { address: string };
      const rd = new Contract(readingsRecord.address, ["event ReadingRejected(bytes32 indexed meterId, uint32 indexed interval, uint8 reason)", "event IntervalClosed(uint32 indexed interval)"], watch);
      const rejected = await rd.queryFilter("ReadingRejected", 0);
      const reasons = rejected.map((e) => Number((e as unknown as { args: [string, bigint, bigint] }).args[2]));
      const unexpected = rejected.filter((_, i) => reasons[i] !== 1 && reasons[i] !== 4);
      if (unexpected.length) {
        // Everything needed to see why: when each refused reading landed, and the demo's own log.
        const kept = fs.mkdtempSync(path.join(os.tmpdir(), "gridledger-poa-demo-"));
        fs.writeFileSync(path.join(kept, "demo.out"), r.out);
        fs.writeFileSync(path.join(kept, "demo.err"), r.err);
        for (const e of unexpected) {
          const { args } = e as unknown as { args: [string, bigint, bigint] };
          const b = await watch.getBlock(e.blockNumber);
          const closed = (await rd.queryFilter(rd.filters.IntervalClosed(args[1]), 0))[0];
          const cb = closed ? await watch.getBlock(closed.blockNumber) : undefined;
          log(
            `refused reading: interval ${args[1]} reason ${args[2]} in block ${e.blockNumber} (time ${b?.timestamp}, sealed by ${await blockSigner(state!.nodes[1].url, e.blockNumber)}) tx ${e.transactionHash}; ` +
              `interval closed in block ${closed?.blockNumber} (time ${cb?.timestamp})`,
          );
        }
        log(`demo output kept in ${kept}/demo.out and demo.err`);
      }
      const byReason = reasons.reduce((m, r) => m.set(r, (m.get(r) ?? 0) + 1), new Map<number, number>());
      log(`refused readings by reason: ${JSON.stringify(Object.fromEntries(byReason))} (1 AlreadyRecorded, 4 OwnerNotActive)`);
      expect(reasons.filter((r) => r !== 1 && r !== 4), "readings refused for another reason than the suspension").to.deep.equal([]);

      // The restarted node serves the same settled history as the others.
      const market = JSON.parse(fs.readFileSync(marketFile, "utf8")) as { address: string };
      const n0 = new JsonRpcProvider(state!.nodes[0].url, 1337, { staticNetwork: true });
      const m0 = new Contract(market.address, ["event IntervalSettled(uint32 indexed interval)"], n0);
      const settled0 = await m0.queryFilter("IntervalSettled", 0);
      expect(settled0.length).to.equal(await settledCount());
      n0.destroy();
    } finally {
      if (!exited && demo.pid) process.kill(demo.pid, "SIGTERM");
      watch.destroy();
    }
  });
});
