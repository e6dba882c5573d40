import { expect } from "chai";
import * as path from "node:path";
import { deployments, ethers, network } from "hardhat";
import { time } from "@nomicfoundation/hardhat-network-helpers";
import { BrowserProvider } from "ethers";
import * as fs from "node:fs";
import { isReplayOnly, startOracle, OracleHandle } from "../../src/oracle/daemon";
import { iterableSource } from "../../src/oracle/sources/iterable";
import { writeKeystore } from "../../src/oracle/keystore";
import { ConfigError } from "../../src/sdk/errors";
import { loadConfig } from "../../src/oracle/config";
import { Core, deployCommunity, meterId } from "../helpers/fixtures";
import { hardhatAccount } from "./chain";
import { tmpDir, waitFor } from "./helpers";

const PASSWORD = "correct horse battery staple";

describe("oracle / daemon on the in-process chain", () => {
  let c: Core;
  let oracle: OracleHandle | undefined;
  let keystoreDir: string;

  before(async () => {
    keystoreDir = tmpDir("gl-keys-");
    await writeKeystore(keystoreDir, hardhatAccount(0), PASSWORD, true); // deployer: ORACLE_ROLE
    await writeKeystore(keystoreDir, hardhatAccount(5), PASSWORD, true); // signerKey: the meters' signer
  });
  beforeEach(async () => {
    c = await deployCommunity();
    expect(c.signerKey.address).to.equal(hardhatAccount(5).address);
    await c.readings.setReadingDeadlineSeconds(30 * 86_400);
  });
  afterEach(async () => {
    await oracle?.stop();
    oracle = undefined;
  });

  async function start(dbPath: string, samples: AsyncIterable<never> | Iterable<never> = [], clock = { now: 0 }) {
    return startOracle(
      {
        network: network.name,
        keystoreDir,
        keystorePassword: PASSWORD,
        submitter: hardhatAccount(0).address,
        readingsAddress: (await deployments.get("MeterReadings")).address,
        registryAddress: (await deployments.get("CommunityRegistry")).address,
        dbPath,
        meters: [
          { meterKey: "alice-p1", meterId: meterId("alice") },
          { meterKey: "bob-p1", meterId: meterId("bob") },
        ],
        batchSize: 3,
        pollMs: 20,
        http: { enabled: false },
        boundaryGraceSeconds: 0,
      },
      { provider: new BrowserProvider(network.provider as never), sources: [iterableSource("test", samples)], now: () => clock.now },
    );
  }

  async function acceptedEvents() {
    const evs = await c.readings.queryFilter(c.readings.filters.ReadingAccepted());
    return evs.map((e) => `${e.args.meterId}:${e.args.interval}`);
  }

  it("lands every reading on chain exactly once, and a restart resends nothing", async () => {
    const start0 = Number(await c.readings.marketStart());
    const I = Number(await c.readings.intervalSeconds());
    await time.increaseTo(start0 + 6 * I + 5);
    const clock = { now: start0 + 6 * I + 5 };
    const samples: { meterKey: string; timestamp: number; importWhTotal: bigint; exportWhTotal: bigint }[] = [];
    for (let t = 0; t < 5; t++) {
      samples.push({ meterKey: "alice-p1", timestamp: start0 + (t + 1) * I, importWhTotal: BigInt(1000 + 100 * t), exportWhTotal: BigInt(500 + 300 * t) });
      samples.push({ meterKey: "bob-p1", timestamp: start0 + (t + 1) * I - 10, importWhTotal: BigInt(2000 + 400 * t), exportWhTotal: 0n });
    }
    // closes bob's interval 4; once the clock passes the next boundary, bob's silence makes it interval 5's reading
    samples.push({ meterKey: "bob-p1", timestamp: start0 + 5 * I + 20, importWhTotal: 3610n, exportWhTotal: 0n });
    const dbPath = path.join(tmpDir(), "oracle.sqlite");
    oracle = await start(dbPath, samples as never, clock);
    await oracle.sourcesDone();
    await waitFor(() => oracle!.outbox.counts().confirmed === 11, "11 confirmed readings");
    const evs = await acceptedEvents();
    expect(evs).to.have.length(11);
    expect(new Set(evs).size).to.equal(11);
    expect(await c.readings.isRecorded(meterId("bob"), 5)).to.equal(true);
    expect((await c.readings.meterState(meterId("bob"))).importWhTotal).to.equal(3610n);
    const st = await c.readings.meterState(meterId("alice"));
    expect([st.lastInterval, st.importWhTotal, st.exportWhTotal]).to.deep.equal([4n, 1400n, 1700n]);
    expect(await c.energy.totalSupply(), "nothing minted (issue 16)").to.equal(0n);
    const metrics = await oracle.metrics.registry.getSingleMetricAsString("gridledger_oracle_readings_confirmed_total");
    expect(metrics).to.contain('outcome="accepted"} 11');
    await oracle.stop();

    // restart on the same database with the same samples: nothing new reaches the chain
    oracle = await start(dbPath, samples as never, clock);
    await oracle.sourcesDone();
    await oracle.tick();
    await oracle.tick();
    expect(await acceptedEvents()).to.have.length(11);
    expect(oracle.outbox.counts()).to.deep.equal({ pending: 0, submitted: 0, confirmed: 11, quarantined: 0 });
    expect(oracle.outbox.listQuarantine()).to.deep.equal([]);
  });

  it("treats AlreadyRecorded as done and quarantines a reading the contract rejects", async () => {
    const start0 = Number(await c.readings.marketStart());
    const I = Number(await c.readings.intervalSeconds());
    await time.increaseTo(start0 + 4 * I);
    const clock = { now: start0 + 4 * I };
    const dbPath = path.join(tmpDir(), "oracle.sqlite");
    oracle = await start(dbPath, [], clock);
    const p = oracle.pipeline;
    // (the fixture registered alice's meter at 1000 / 500 Wh)
    p.sample({ source: "test", meterKey: "alice-p1", timestamp: start0 + I, importWhTotal: 1010n, exportWhTotal: 500n });
    await waitFor(async () => (await acceptedEvents()).length === 1 && oracle!.outbox.counts().confirmed === 1, "the first reading on chain");
    // the same reading once more (a second oracle instance, or a lost outbox row): AlreadyRecorded -> done
    oracle.outbox.db.prepare("UPDATE readings SET status = 'pending', tx_hash = NULL").run();
    await waitFor(() => oracle!.outbox.all()[0].outcome === "already_recorded", "AlreadyRecorded to count as done");
    expect(await acceptedEvents()).to.have.length(1);
    // the meter is retired behind the oracle's back: the contract rejects, the row is quarantined with the reason
    await c.registry.retireMeter(meterId("alice"));
    p.sample({ source: "test", meterKey: "alice-p1", timestamp: start0 + 2 * I, importWhTotal: 1020n, exportWhTotal: 500n });
    await waitFor(() => oracle!.outbox.counts().quarantined === 1, "the rejected reading in quarantine");
    const q = oracle.outbox.listQuarantine({ source: "chain" });
    expect(q[0]).to.include({ meterKey: "alice-p1", interval: 1, field: "reading" });
    expect(q[0].reason).to.match(/MeterRetired/);
  });

  it("quarantines a reading whose stored signature cannot be read, and sends the rest of its batch", async () => {
    const start0 = Number(await c.readings.marketStart());
    const I = Number(await c.readings.intervalSeconds());
    await time.increaseTo(start0 + 4 * I);
    const clock = { now: start0 + 4 * I };
    oracle = await start(path.join(tmpDir(), "oracle.sqlite"), [], clock);
    // Both readings and the damage in one synchronous turn (the loop cannot send in between):
    // the contract takes the compact (r, vs) form, which a damaged 65-byte signature has none of.
    oracle.pipeline.sample({ source: "test", meterKey: "alice-p1", timestamp: start0 + I, importWhTotal: 1010n, exportWhTotal: 500n });
    oracle.pipeline.sample({ source: "test", meterKey: "bob-p1", timestamp: start0 + I, importWhTotal: 2010n, exportWhTotal: 0n });
    oracle.outbox.db.prepare("UPDATE readings SET signature = '0x1234' WHERE meter_id = ?").run(meterId("alice").toLowerCase());
    await waitFor(() => oracle!.outbox.counts().confirmed === 1 && oracle!.outbox.counts().quarantined === 1, "bob's reading on chain, alice's in quarantine");
    expect(await acceptedEvents()).to.deep.equal([`${meterId("bob")}:0`]); // the sample at the end of interval 0
    const q = oracle.outbox.listQuarantine({ source: "outbox" });
    expect(q).to.have.length(1);
    expect(q[0]).to.include({ meterKey: "alice-p1", interval: 0, field: "signature" });
    expect(q[0].reason).to.match(/^the stored signature cannot be read/);
  });

  it("reports every invalid setting at once", () => {
    try {
      loadConfig({ keystoreDir: "", keystorePassword: "", batchSize: 0, meters: [{ meterKey: "x", meterId: "0x12" }], mqtt: { url: "http://nope" } }, {});
      expect.fail("no ConfigError");
    } catch (e) {
      expect(e).to.be.instanceOf(ConfigError);
      const problems = (e as ConfigError).problems.join("\n");
      for (const what of ["keystoreDir", "keystorePassword", "batchSize (GRIDLEDGER_ORACLE_BATCH_SIZE)", "meters.0.meterId", "mqtt.url"]) expect(problems).to.contain(what);
      expect((e as ConfigError).message).not.to.contain("nope-password");
    }
    void ethers;
  });

  it("waits for 2 confirmations on a PoA chain unless told otherwise", () => {
    const base = { keystoreDir: "/tmp/k", keystorePassword: "p", rpcUrls: ["http://127.0.0.1:1"] };
    expect(loadConfig({ ...base, network: "localhost" }, {}).confirmations).to.equal(1);
    expect(loadConfig({ ...base, network: "poa" }, {}).confirmations).to.equal(2);
    expect(loadConfig({ ...base, network: "poa" }, { GRIDLEDGER_ORACLE_CONFIRMATIONS: "3" }).confirmations).to.equal(3);
    expect(loadConfig({ ...base, network: "poa", confirmations: 1 }, {}).confirmations).to.equal(1);
  });
});

describe("oracle / start-up checks and clock skew (issue 18)", () => {
  let c: Core;
  let oracle: OracleHandle | undefined;
  let keystoreDir: string;
  before(async () => {
    keystoreDir = tmpDir("gl-keys-");
    await writeKeystore(keystoreDir, hardhatAccount(0), PASSWORD, true);
    await writeKeystore(keystoreDir, hardhatAccount(5), PASSWORD, true); // no ORACLE_ROLE
  });
  beforeEach(async () => {
    c = await deployCommunity();
  });
  afterEach(async () => {
    await oracle?.stop();
    oracle = undefined;
  });
  const base = async (submitter: string) => ({
    network: network.name,
    keystoreDir,
    keystorePassword: PASSWORD,
    submitter,
    readingsAddress: (await deployments.get("MeterReadings")).address,
    registryAddress: (await deployments.get("CommunityRegistry")).address,
    dbPath: path.join(tmpDir("gl-db-"), "o.sqlite"),
    meters: [{ meterKey: "alice-p1", meterId: meterId("alice") }],
    pollMs: 20,
    http: { enabled: true, host: "127.0.0.1", port: 0 },
  });
  const provider = () => new BrowserProvider(network.provider as never);

  it("answers /healthz 503 naming the missing ORACLE_ROLE, and 200 once the operator grants it", async () => {
    const submitter = hardhatAccount(5).address;
    oracle = await startOracle(await base(submitter), { provider: provider() });
    const healthz = async () => {
      const r = await fetch(`http://127.0.0.1:${oracle!.httpPort}/healthz`);
      return { status: r.status, body: (await r.json()) as Record<string, unknown> };
    };
    await oracle.tick();
    const down = await healthz();
    expect(down.status).to.equal(503);
    expect(String(down.body.submitterRole)).to.contain(`${submitter} lacks ORACLE_ROLE`);
    const metrics = await (await fetch(`http://127.0.0.1:${oracle.httpPort}/metrics`)).text();
    expect(metrics).to.match(/gridledger_oracle_submitter_can_submit 0/);

    await (await c.registry.grantRole(await c.registry.ORACLE_ROLE(), submitter)).wait();
    await waitFor(async () => (await healthz()).status === 200, "healthz 200 after the grant");
    expect((await healthz()).body.submitterRole).to.equal("ok");
  });

  it("refuses to start when there is no contract at the readings address, naming it", async () => {
    const cfg = { ...(await base(hardhatAccount(0).address)), readingsAddress: hardhatAccount(7).address };
    try {
      oracle = await startOracle(cfg, { provider: provider() });
      expect.fail("started without a contract");
    } catch (e) {
      expect(e).to.be.instanceOf(ConfigError);
      expect((e as ConfigError).problems.join("\n")).to.contain(`MeterReadings: no contract at ${hardhatAccount(7).address}`);
    }
  });

  it("with only --csv, finishes once the replay is delivered and every reading is on chain", async () => {
    const start0 = Number(await c.readings.marketStart());
    const I = Number(await c.readings.intervalSeconds());
    await c.readings.setReadingDeadlineSeconds(30 * 86_400);
    await time.increaseTo(start0 + 4 * I + 5);
    const file = path.join(tmpDir("gl-csv-"), "replay.csv");
    const lines = ["meterKey,timestamp,importWhTotal,exportWhTotal"];
    for (let t = 0; t < 4; t++) lines.push(`alice-p1,${start0 + (t + 1) * I},${1000 + 100 * t},${500 + 300 * t}`);
    fs.writeFileSync(file, lines.join("\n") + "\n");
    const cfg = { ...(await base(hardhatAccount(0).address)), csv: [file], http: { enabled: false }, boundaryGraceSeconds: 0 };
    oracle = await startOracle(cfg, { provider: provider(), now: () => start0 + 4 * I + 5 });
    expect(isReplayOnly(oracle.config)).to.equal(true);
    expect(isReplayOnly({ ...oracle.config, mqtt: { url: "mqtt://127.0.0.1:1" } } as never)).to.equal(false);
    await oracle.drained();
    expect(oracle.outbox.counts()).to.include({ pending: 0, submitted: 0, confirmed: 4 });
    expect((await c.readings.meterState(meterId("alice"))).lastInterval).to.equal(3n);
  });

  it("reports the skew between the chain's clock and its own in /healthz and /metrics", async () => {
    const latest = await time.latest();
    oracle = await startOracle(await base(hardhatAccount(0).address), { provider: provider(), now: () => latest - 42 });
    await oracle.tick();
    expect(oracle.health().chainClockSkewSeconds).to.equal(42);
    const metrics = await (await fetch(`http://127.0.0.1:${oracle.httpPort}/metrics`)).text();
    expect(metrics).to.match(/gridledger_oracle_chain_clock_skew_seconds 42/);
  });
});
