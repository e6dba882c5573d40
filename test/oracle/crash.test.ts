import { expect } from "chai";
import * as fs from "node:fs";
import * as path from "node:path";
import { Contract, Interface, JsonRpcProvider, NonceManager, id } from "ethers";
import { METER_READINGS_ABI } from "../../src/oracle/abi";
import { writeKeystore } from "../../src/oracle/keystore";
import { hardhatAccount } from "./chain";
import { tmpDir, waitFor } from "./helpers";
import { catchUpClock, HardhatNode, Processes, startHardhatNode } from "../helpers/node";

/**
 * Crash safety end to end: a `npx hardhat node` on a free 127.0.0.1 port, the oracle as a child
 * process replaying a CSV, SIGKILL in the middle of submitting, a restart, and then the chain
 * must hold every reading exactly once.
 */
describe("oracle / crash safety (child processes)", function () {
  this.timeout(240_000);
  const procs = new Processes();
  const I = 60;
  const METERS = ["alice-p1", "bob-p1", "carol-p1"];
  const INTERVALS = 30;
  const PASSWORD = "crash-test-password";
  let rpcUrl = "";
  let provider: JsonRpcProvider;
  let readingsAddress = "";
  let work = "";
  let node: HardhatNode;

  before(async () => {
    work = tmpDir("gl-crash-");
    const marketStart = Math.floor(Date.now() / 1000 / I) * I - 100 * I;
    // Records go to the test's own folder, never the project's deployments/.
    node = await startHardhatNode(procs, { work, intervalSeconds: I, marketStart, chainStartsAt: marketStart });
    rpcUrl = node.rpcUrl;
    provider = node.provider;
    const record = node.record;
    readingsAddress = record("MeterReadings").address;

    const admin = new NonceManager(hardhatAccount(0).connect(provider));
    const registry = new Contract(record("CommunityRegistry").address, record("CommunityRegistry").abi, admin);
    const readings = new Contract(readingsAddress, record("MeterReadings").abi, admin);
    for (let k = 0; k < METERS.length; k++) {
      const owner = hardhatAccount(1 + k).address;
      await (await registry.onboardMember(owner, 2, id(`identity:${k}`))).wait();
      await (await registry.registerMeter(id(`meter:${METERS[k]}`), owner, hardhatAccount(5).address, 100_000, 1, 1000 + k, 0)).wait();
    }
    await (await readings.setReadingDeadlineSeconds(30 * 86_400)).wait();
    await catchUpClock(provider); // the meters were registered in interval 0; the replay runs now

    await writeKeystore(path.join(work, "keys"), hardhatAccount(0), PASSWORD, true);
    await writeKeystore(path.join(work, "keys"), hardhatAccount(5), PASSWORD, true);
    const lines = ["meterKey,timestamp,importWhTotal,exportWhTotal"];
    for (let t = 0; t < INTERVALS; t++) for (const [k, m] of METERS.entries()) lines.push(`${m},${marketStart + (t + 1) * I},${1000 + 100 * t + k},${50 * t}`);
    fs.writeFileSync(path.join(work, "replay.csv"), lines.join("\n") + "\n");
  });

  after(async () => {
    procs.killAll();
    provider?.destroy();
  });

  const accepted = async () => {
    const iface = new Interface(METER_READINGS_ABI);
    const logs = await provider.getLogs({ address: readingsAddress, topics: [iface.getEvent("ReadingAccepted")!.topicHash], fromBlock: 0 });
    return logs.map((l) => iface.parseLog(l)!).map((e) => `${e.args.meterId}:${e.args.interval}`);
  };

  const oracleEnv = (): NodeJS.ProcessEnv => ({
    TS_NODE_TRANSPILE_ONLY: "1",
    LOG_LEVEL: "warn",
    GRIDLEDGER_NETWORK: "localhost",
    GRIDLEDGER_DEPLOYMENTS_DIR: node.deploymentsDir,
    GRIDLEDGER_RPC_URL: rpcUrl,
    GRIDLEDGER_ORACLE_CHAIN_ID: "31337",
    GRIDLEDGER_ORACLE_DB: path.join(work, "oracle.sqlite"),
    GRIDLEDGER_ORACLE_KEYSTORE_DIR: path.join(work, "keys"),
    GRIDLEDGER_ORACLE_KEYSTORE_PASSWORD: PASSWORD,
    GRIDLEDGER_ORACLE_SUBMITTER: hardhatAccount(0).address,
    GRIDLEDGER_ORACLE_METERS: JSON.stringify(METERS.map((m) => ({ meterKey: m, meterId: id(`meter:${m}`) }))),
    GRIDLEDGER_ORACLE_CSV: path.join(work, "replay.csv"),
    GRIDLEDGER_ORACLE_HTTP_PORT: "0",
    GRIDLEDGER_ORACLE_BATCH_SIZE: "4",
    GRIDLEDGER_ORACLE_MAX_IN_FLIGHT: "1",
    GRIDLEDGER_ORACLE_POLL_MS: "150",
    GRIDLEDGER_ORACLE_BOUNDARY_GRACE_SECONDS: "0",
  });

  it("holds every reading exactly once after a SIGKILL mid-submission and a restart", async () => {
    const total = METERS.length * INTERVALS;
    const first = procs.spawn(process.execPath, ["-r", "ts-node/register", "src/oracle/main.ts"], oracleEnv());
    await waitFor(async () => (await accepted()).length >= 12 || first.ended(), "the first batches on chain", 120_000, 25);
    if (first.ended()) throw new Error(`oracle exited early: ${first.output()}`);
    first.signal("SIGKILL");
    await first.exited();
    const atKill = (await accepted()).length;
    expect(atKill, "the kill came after everything was sent; slow the oracle down").to.be.lessThan(total);

    const second = procs.spawn(process.execPath, ["-r", "ts-node/register", "src/oracle/main.ts"], oracleEnv());
    await waitFor(async () => (await accepted()).length >= total || second.ended(), "every reading on chain", 120_000, 100);
    // graceful stop: SIGTERM finishes the batch and closes the database
    await new Promise((r) => setTimeout(r, 1000));
    second.signal("SIGTERM");
    expect(await second.exited(), second.output()).to.equal(0);

    const evs = await accepted();
    expect(evs).to.have.length(total);
    expect(new Set(evs).size).to.equal(total);
    const readings = new Contract(readingsAddress, METER_READINGS_ABI, provider);
    for (const m of METERS) {
      const st = await readings.meterState(id(`meter:${m}`));
      expect(Number(st.lastInterval)).to.equal(INTERVALS - 1);
    }
  });
});
