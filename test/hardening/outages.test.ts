/**
 * Campaign 3, outages (issue 10). `gridledger oracle` and `gridledger keeper` run as processes
 * against a `npx hardhat node` reached through a TCP relay; the oracle reads a real Mosquitto
 * broker and keeps its outbox on a small tmpfs mounted for the test (root only; the disk-full
 * case is skipped with the reason otherwise).
 * - RPC outage: the relay closes its port and every connection for OUTAGE seconds (clients get
 *   connection refused, as from a stopped node; a hardhat node cannot be restarted with its
 *   chain, so the node itself stays up behind the relay) while meters keep posting;
 * - broker restart: Mosquitto is stopped and started again on the same port;
 * - disk full: a filler file takes the tmpfs's last byte while meters post; then it is removed.
 * Each time the daemons must say so (log, /healthz 503, metrics), back off, recover by
 * themselves, and every reading must end on chain exactly once.
 * Short form (npm test): 5 s RPC outage, 3 s broker outage, 8 meters; long form
 * (`npm run harden -- outages`): 60 s, 30 s, 200 meters.
 */
import { expect } from "chai";
import { execFileSync } from "node:child_process";
import * as fs from "node:fs";
import * as path from "node:path";
import mqtt from "mqtt";
import { Contract } from "ethers";
import { freePort, tmpDir } from "../oracle/helpers";
import { catchUpClock, Processes, startHardhatNode, HardhatNode, Tracked } from "../helpers/node";
import { Broker, brokerKind, startBroker } from "../helpers/broker";
import { requirePrerequisite } from "../helpers/prereq";
import { hardhatAccount } from "../oracle/chain";
import { LONG, TcpRelay, healthz, meterIdOf, meterKey, metric, onboard, oracleEnv, oracleFiles, pick, readingEvents, waitFor } from "./helpers";

describe(`hardening / outages (${LONG ? "long" : "short"} form)`, function () {
  const METERS = pick(8, 200);
  const RPC_OUTAGE_S = pick(5, 60);
  const BROKER_OUTAGE_S = pick(3, 30);
  const I = 60;
  this.timeout(pick(240_000, 1_800_000));
  const procs = new Processes();
  let node: HardhatNode;
  let relay: TcpRelay;
  let work = "";
  let disk = "";
  let mounted = false;
  let mqttPort = 0;
  let broker: Broker;
  let mountError = "";
  let oracle: Tracked;
  let keeper: Tracked;
  let oraclePort = 0;
  let keeperPort = 0;
  let marketStart = 0;
  let readings: Contract;
  let nextInterval = 0;
  const wanted = new Map<string, { imp: bigint; exp: bigint }>();

  before(async function () {
    work = tmpDir("gl-harden-outage-");
    marketStart = Math.floor(Date.now() / 1000 / I) * I - 200 * I;
    node = await startHardhatNode(procs, { work, intervalSeconds: I, marketStart, chainStartsAt: marketStart });
    await onboard(node, METERS, 100_000, (i) => [BigInt(1_000 + i), 0n]); // the registers of interval 0's reading
    await catchUpClock(node.provider);
    await oracleFiles(work, METERS);
    readings = new Contract(node.record("MeterReadings").address, node.record("MeterReadings").abi, node.provider);
    relay = new TcpRelay(await freePort(), node.port);
    await relay.up();
    mqttPort = await freePort();
    broker = await startBroker(procs, work, mqttPort);
    // The outbox on a 16 MiB tmpfs of its own, so that filling the disk is real and harmless.
    disk = path.join(work, "disk");
    fs.mkdirSync(disk);
    try {
      execFileSync("mount", ["-t", "tmpfs", "-o", "size=16m", "tmpfs", disk], { stdio: "pipe" });
      mounted = true;
    } catch (e) {
      // The disk-full case needs it: a failure under CI, a skip with the reason elsewhere.
      mountError = (e as Error).message.split("\n")[0];
      console.log(`      cannot mount a tmpfs (${mountError}): the outbox stays on the ordinary disk`);
    }
    oraclePort = await freePort();
    oracle = procs.spawn(
      process.execPath,
      ["bin/gridledger.js", "oracle"],
      oracleEnv({
        node,
        work,
        rpcUrl: relay.url,
        db: path.join(disk, "oracle.sqlite"),
        httpPort: oraclePort,
        extra: { GRIDLEDGER_ORACLE_MQTT_URL: `mqtt://127.0.0.1:${mqttPort}`, GRIDLEDGER_ORACLE_BATCH_SIZE: "10", GRIDLEDGER_ORACLE_RETRY_MAX_MS: "4000" },
      })
    );
    keeperPort = await freePort();
    keeper = procs.spawn(process.execPath, ["bin/gridledger.js", "--network", "localhost", "keeper", "--poll-ms", "500", "--http-port", String(keeperPort)], {
      LOG_LEVEL: "warn",
      LOCALHOST_RPC_URL: relay.url,
      GRIDLEDGER_DEPLOYMENTS_DIR: node.deploymentsDir,
      GRIDLEDGER_PRIVATE_KEY: hardhatAccount(9).privateKey,
    });
    await waitFor(async () => oracle.ended() || keeper.ended() || ((await healthz(oraclePort))?.status === 200 && (await healthz(keeperPort))?.status === 200), "both daemons healthy", 120_000, 250);
    if (oracle.ended() || keeper.ended()) throw new Error(`a daemon exited: ${oracle.output()}\n${keeper.output()}`);
  });
  after(async () => {
    await relay?.down();
    procs.killAll();
    await new Promise((r) => setTimeout(r, 300));
    if (mounted) execFileSync("umount", ["-l", disk]);
    node?.provider.destroy();
  });

  afterEach(function () {
    if (this.currentTest?.state === "failed") console.log(`oracle log (tail):\n${oracle?.output().slice(-4000)}`);
  });

  /** Samples of every meter for the next `n` interval boundaries (one reading each). */
  const nextSamples = (n: number) => {
    const out: { meterKey: string; timestamp: number; importWhTotal: string; exportWhTotal: string }[] = [];
    for (let k = 0; k < n; k++, nextInterval++) {
      for (let i = 0; i < METERS; i++) {
        const imp = BigInt(1_000 + nextInterval * 40 + i);
        const exp = BigInt(nextInterval * 10);
        wanted.set(`${meterIdOf(i)}:${nextInterval}`, { imp, exp });
        out.push({ meterKey: meterKey(i), timestamp: marketStart + (nextInterval + 1) * I, importWhTotal: imp.toString(), exportWhTotal: exp.toString() });
      }
    }
    return out;
  };
  /** POSTs until the oracle takes it (a 5xx is "try again", as a meter gateway would). */
  const postUntilTaken = async (body: unknown) => {
    let attempts = 0;
    for (;;) {
      attempts++;
      const res = await fetch(`http://127.0.0.1:${oraclePort}/readings`, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify(body) }).catch(() => undefined);
      if (res && res.status === 202) return attempts;
      if (res && res.status < 500) throw new Error(`refused: ${res.status} ${await res.text()}`);
      await new Promise((r) => setTimeout(r, 500));
    }
  };
  const allOnChain = async () => {
    const { accepted } = await readingEvents(node.provider, await readings.getAddress());
    return accepted.length >= wanted.size;
  };
  const expectExactlyOnce = async () => {
    const { accepted, rejected } = await readingEvents(node.provider, await readings.getAddress());
    const keys = accepted.map((a) => `${a.meterId}:${a.interval}`);
    expect(new Set(keys).size, "duplicated readings").to.equal(keys.length);
    const wrong = accepted.filter((a) => {
      const w = wanted.get(`${a.meterId}:${a.interval}`);
      return !w || w.imp !== a.importWhTotal || w.exp !== a.exportWhTotal;
    });
    expect(wrong, "readings not from the source data").to.deep.equal([]);
    expect(keys.length, "lost readings").to.equal(wanted.size);
    expect(
      rejected.filter((r) => r.reason !== 1),
      "readings rejected on chain"
    ).to.deep.equal([]);
  };
  const alive = () => {
    if (oracle.ended()) throw new Error(`the oracle died: ${oracle.output().slice(-3000)}`);
    if (keeper.ended()) throw new Error(`the keeper died: ${keeper.output().slice(-3000)}`);
  };

  it(`rides out a ${RPC_OUTAGE_S} s RPC outage: reports it, backs off, recovers, loses nothing`, async () => {
    await postUntilTaken(nextSamples(1));
    await waitFor(allOnChain, "the first readings on chain", 60_000, 200);
    const failuresBefore = await metric(oraclePort, "gridledger_oracle_chain_errors_total");
    const keeperFailuresBefore = await metric(keeperPort, "gridledger_keeper_loop_failures_total");
    const logBefore = oracle.output().length;
    await relay.down();
    const downAt = Date.now();
    let delays: number[] = [];
    try {
      // Meters keep posting during the outage; the oracle takes them into its outbox.
      await postUntilTaken(nextSamples(2));
      await waitFor(async () => (await healthz(oraclePort))?.status === 503 && (await healthz(keeperPort))?.status === 503, "both /healthz to report the outage", RPC_OUTAGE_S * 1000 + 20_000, 250);
      const oh = (await healthz(oraclePort))!.body;
      expect(String(oh.lastError ?? oh.chain), "the oracle's /healthz names the chain").to.match(/unreachable|ECONNREFUSED|ECONNRESET|hang up|connect/i);
      expect((await healthz(keeperPort))!.body.lastError, "the keeper's /healthz").to.match(/ECONNREFUSED|ECONNRESET|hang up|connect|network|fetch/i);
      await new Promise((r) => setTimeout(r, Math.max(0, RPC_OUTAGE_S * 1000 - (Date.now() - downAt))));
      expect(await metric(oraclePort, "gridledger_oracle_chain_errors_total"), "oracle chain error metric").to.be.greaterThan(failuresBefore);
      expect(await metric(keeperPort, "gridledger_keeper_loop_failures_total", 'kind="transient"'), "keeper failure metric").to.be.greaterThan(keeperFailuresBefore);
      alive();
      // Backoff: the oracle's retries wait longer and longer (up to the configured 4 s).
      const retries = oracle
        .output()
        .slice(logBefore)
        .split("\n")
        .filter((l) => l.includes("retrying"))
        .map((l) => JSON.parse(l) as { delayMs?: number; attempt?: number });
      delays = retries.map((r) => r.delayMs ?? 0);
      expect(retries.length, "retries logged").to.be.greaterThan(1);
      expect(Math.max(...delays), "the backoff grows").to.be.greaterThan(Math.min(...delays));
    } finally {
      await relay.up();
    }
    await waitFor(async () => (await healthz(oraclePort))?.status === 200 && (await healthz(keeperPort))?.status === 200, "both daemons healthy again", 60_000, 250);
    await waitFor(allOnChain, "every reading on chain after the outage", 120_000, 250);
    alive();
    await expectExactlyOnce();
    console.log(
      `      RPC down ${((Date.now() - downAt) / 1000).toFixed(0)} s: ${delays.length} oracle retries logged (delays ${Math.min(...delays)}..${Math.max(
        ...delays
      )} ms), both /healthz 503 during, 200 after; ${wanted.size} readings on chain once`
    );
  });

  it(`rides out a broker restart (${brokerKind()}, ${BROKER_OUTAGE_S} s down): reports it, reconnects, loses nothing`, async () => {
    const pub = await mqtt.connectAsync(`mqtt://127.0.0.1:${mqttPort}`, { clientId: "meters", reconnectPeriod: 500 });
    const publish = async (samples: ReturnType<typeof nextSamples>) => {
      for (const s of samples) {
        const { meterKey: k, ...body } = s;
        await pub.publishAsync(`gridledger/meters/${k}/reading`, JSON.stringify(body), { qos: 1 });
      }
    };
    try {
      await publish(nextSamples(1));
      await waitFor(allOnChain, "the MQTT readings on chain", 60_000, 200);
      await broker.stop();
      await waitFor(async () => (await healthz(oraclePort))?.status === 503, "the oracle's /healthz to report the broker", 20_000, 200);
      const h = (await healthz(oraclePort))!.body as { sources?: Record<string, { up: boolean }> };
      expect(Object.entries(h.sources ?? {}).find(([k]) => k.startsWith("mqtt"))?.[1].up, "the MQTT source is reported down").to.equal(false);
      expect(await metric(oraclePort, "gridledger_oracle_source_up", "mqtt"), "source_up metric").to.equal(0);
      await new Promise((r) => setTimeout(r, BROKER_OUTAGE_S * 1000));
      alive();
      broker = await startBroker(procs, work, mqttPort);
      await waitFor(async () => (await healthz(oraclePort))?.status === 200, "the oracle to reconnect to the broker", 60_000, 200);
      await waitFor(() => pub.connected, "the meters to reconnect", 60_000, 100);
      await publish(nextSamples(2));
      await waitFor(allOnChain, "every MQTT reading on chain after the restart", 120_000, 250);
      alive();
      await expectExactlyOnce();
      expect(oracle.output()).to.match(/MQTT offline/);
      console.log(`      broker down ${BROKER_OUTAGE_S} s: /healthz 503 and source_up 0 during, reconnected by itself; ${wanted.size} readings on chain once`);
    } finally {
      await pub.endAsync(true);
    }
  });

  it("rides out a full disk under the outbox: refuses with 503, reports it, recovers when space returns, loses nothing", async function () {
    if (!mounted) requirePrerequisite(this, `cannot mount a tmpfs for the outbox (${mountError})`, "run the tests as root (mount -t tmpfs), as CI does");
    const filler = path.join(disk, "filler");
    const fd = fs.openSync(filler, "w");
    const chunk = Buffer.alloc(64 * 1024, 1);
    try {
      for (;;) fs.writeSync(fd, chunk);
    } catch (e) {
      expect((e as NodeJS.ErrnoException).code).to.equal("ENOSPC");
    }
    try {
      for (;;) fs.writeSync(fd, Buffer.alloc(512, 1));
    } catch {
      /* the last bytes */
    }
    fs.closeSync(fd);
    // SQLite reuses the space its write-ahead log already holds, so the first posts after the
    // disk filled up may still be taken (durably: that space is real). The meters go on posting
    // until the outbox needs a page the disk no longer has.
    const post = (body: unknown) => fetch(`http://127.0.0.1:${oraclePort}/readings`, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify(body) });
    let samples = nextSamples(1);
    let res = await post(samples);
    let takenWhileFull = 0;
    while (res.status === 202 && takenWhileFull < 100) {
      takenWhileFull++;
      samples = nextSamples(1);
      res = await post(samples);
    }
    expect(res.status, await res.clone().text()).to.equal(503);
    expect(((await res.json()) as { error: string }).error).to.match(/disk|full|SQLITE_FULL/i);
    await waitFor(async () => (await healthz(oraclePort))?.status === 503, "/healthz to report the disk", 20_000, 200);
    expect(JSON.stringify((await healthz(oraclePort))!.body)).to.match(/disk|full|SQLITE_FULL/i);
    expect(await metric(oraclePort, "gridledger_oracle_outbox_write_failures_total")).to.be.greaterThan(0);
    alive();
    // The meter gateway retries; space comes back after a while.
    const retrying = postUntilTaken(samples);
    await new Promise((r) => setTimeout(r, 3000));
    alive();
    fs.rmSync(filler);
    const attempts = await retrying;
    await waitFor(async () => (await healthz(oraclePort))?.status === 200, "/healthz healthy again", 30_000, 200);
    await waitFor(allOnChain, "every reading on chain after the disk freed up", 120_000, 250);
    alive();
    await expectExactlyOnce();
    console.log(`      disk full: ${takenWhileFull} posts still fitted the outbox's log, then POST answered 503 (${attempts} attempts), /healthz 503, outbox_write_failures counted; ${wanted.size} readings on chain once`);
  });
});
