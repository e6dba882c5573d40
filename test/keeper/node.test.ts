/**
 * The whole pipeline as separate processes against `npx hardhat node`, in real time: meters post
 * samples over HTTP to the oracle daemon (`gridledger oracle`), which signs and submits readings;
 * the keeper daemon (`gridledger keeper`) clears and settles each interval as soon as every meter
 * has reported — no manual step. Intervals are 10 s long so the test takes about a minute.
 */
import { expect } from "chai";
import * as path from "node:path";
import { Contract, JsonRpcProvider, NonceManager, id } from "ethers";
import { writeKeystore } from "../../src/oracle/keystore";
import { hardhatAccount } from "../oracle/chain";
import { freePort, tmpDir, waitFor } from "../oracle/helpers";
import { HardhatNode, Processes, startHardhatNode } from "../helpers/node";

describe("keeper + oracle daemons against a hardhat node (real time)", function () {
  this.timeout(300_000);
  const procs = new Processes();
  const I = 10;
  const METERS = ["ada", "ben", "cleo"];
  const PASSWORD = "node-test-password";
  let work = "";
  let rpcUrl = "";
  let oraclePort = 0;
  let provider: JsonRpcProvider;
  let node: HardhatNode;
  const record = (name: string) => node.record(name);
  const spawnTracked = (cmd: string, args: string[], env: NodeJS.ProcessEnv) => procs.spawn(cmd, args, env);

  before(async () => {
    work = tmpDir("gl-node-");
    oraclePort = await freePort();
    const marketStart = Math.floor(Date.now() / 1000 / I) * I;
    node = await startHardhatNode(procs, { work, intervalSeconds: I, marketStart });
    rpcUrl = node.rpcUrl;
    provider = node.provider;

    // The operator onboards three households; ada sells, ben and cleo buy with deposits.
    const admin = new NonceManager(hardhatAccount(0).connect(provider));
    const registry = new Contract(record("CommunityRegistry").address, record("CommunityRegistry").abi, admin);
    const credit = new Contract(record("CommunityCredit").address, record("CommunityCredit").abi, admin);
    const marketAddr = record("EnergyMarket").address;
    for (const [k, m] of METERS.entries()) {
      const owner = hardhatAccount(1 + k);
      await (await registry.onboardMember(owner.address, k === 0 ? 2 : 1, id(`identity:${m}`))).wait();
      await (await registry.registerMeter(id(`meter:${m}`), owner.address, hardhatAccount(5).address, 20_000, 1, 5_000, 1_000)).wait();
      const market = new Contract(marketAddr, record("EnergyMarket").abi, owner.connect(provider));
      if (k === 0) {
        await (await market.placeOrder(1, 100_000, 0, 0, 1_000_000)).wait();
      } else {
        await (await credit.mint(owner.address, 50_000_000n)).wait();
        const c = new Contract(record("CommunityCredit").address, record("CommunityCredit").abi, owner.connect(provider));
        await (await c.approve(marketAddr, 50_000_000n)).wait();
        await (await market.deposit(50_000_000n)).wait();
        await (await market.placeOrder(0, 250_000, 0, 0, 1_000_000)).wait();
      }
    }
    // 10-second intervals on a loaded machine: give readings a minute, as an operator of a fast
    // chain would (the node's clock no longer runs ahead of the wall clock: see hardhat.config.ts).
    const readings = new Contract(record("MeterReadings").address, record("MeterReadings").abi, admin);
    await (await readings.setReadingDeadlineSeconds(60)).wait();
    await writeKeystore(path.join(work, "keys"), hardhatAccount(0), PASSWORD, true);
    await writeKeystore(path.join(work, "keys"), hardhatAccount(5), PASSWORD, true);
  });

  after(() => {
    procs.killAll();
    provider?.destroy();
  });

  it("settles the oracle's intervals with trades, with no manual step", async () => {
    const oracle = spawnTracked(process.execPath, ["bin/gridledger.js", "oracle"], {
      LOG_LEVEL: process.env.GRIDLEDGER_TEST_DAEMON_LOG ?? "info",
      GRIDLEDGER_NETWORK: "localhost",
      GRIDLEDGER_DEPLOYMENTS_DIR: node.deploymentsDir,
      GRIDLEDGER_RPC_URL: rpcUrl,
      GRIDLEDGER_ORACLE_DB: path.join(work, "oracle.sqlite"),
      GRIDLEDGER_ORACLE_KEYSTORE_DIR: path.join(work, "keys"),
      GRIDLEDGER_ORACLE_KEYSTORE_PASSWORD: PASSWORD,
      GRIDLEDGER_ORACLE_SUBMITTER: hardhatAccount(0).address,
      GRIDLEDGER_ORACLE_GATEWAY: hardhatAccount(5).address,
      GRIDLEDGER_ORACLE_METERS: JSON.stringify(METERS.map((m) => ({ meterKey: m, meterId: id(`meter:${m}`) }))),
      GRIDLEDGER_ORACLE_HTTP_PORT: String(oraclePort),
      GRIDLEDGER_ORACLE_POLL_MS: "200",
      GRIDLEDGER_ORACLE_BOUNDARY_GRACE_SECONDS: "1",
    });
    const keeper = spawnTracked(process.execPath, ["bin/gridledger.js", "--network", "localhost", "keeper", "--poll-ms", "300"], {
      LOG_LEVEL: process.env.GRIDLEDGER_TEST_DAEMON_LOG ?? "info",
      LOCALHOST_RPC_URL: rpcUrl,
      GRIDLEDGER_DEPLOYMENTS_DIR: node.deploymentsDir,
      GRIDLEDGER_PRIVATE_KEY: hardhatAccount(9).privateKey, // any account: keeping needs no role
    });
    await waitFor(async () => {
      try {
        return (await fetch(`http://127.0.0.1:${oraclePort}/healthz`)).ok;
      } catch {
        return oracle.child.exitCode !== null;
      }
    }, "the oracle's HTTP server", 60_000, 200);
    if (oracle.child.exitCode !== null) throw new Error(`oracle exited: ${oracle.output()}`);

    const market = new Contract(record("EnergyMarket").address, record("EnergyMarket").abi, provider);
    const readings = new Contract(record("MeterReadings").address, record("MeterReadings").abi, provider);
    const first = Number(await readings.currentInterval());
    const registers = METERS.map(() => ({ imp: 5_000, exp: 1_000 }));
    // Each boundary: ada exports 30 Wh, ben and cleo import 15 and 10 Wh (20 kW over 10 s is 55 Wh at
    // most); the first post repeats the registers the meters were registered with.
    for (let step = 0; step < 4; step++) {
      const boundary = (Number(await readings.marketStart()) + (first + step + 1) * I) * 1000;
      await new Promise((r) => setTimeout(r, Math.max(0, boundary - Date.now() + 200)));
      const body = METERS.map((m, k) => {
        if (step > 0) {
          if (k === 0) registers[k].exp += 30;
          else registers[k].imp += k === 1 ? 15 : 10;
        }
        return { meterKey: m, timestamp: Math.floor(boundary / 1000), importWhTotal: registers[k].imp, exportWhTotal: registers[k].exp };
      });
      const res = await fetch(`http://127.0.0.1:${oraclePort}/readings`, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify(body) });
      expect(res.status, await res.text()).to.be.lessThan(300);
    }
    const last = first + 3;
    try {
      await waitFor(async () => Number(await market.nextInterval()) > last || keeper.child.exitCode !== null, "the keeper to settle every interval", 150_000, 300);
    } catch (e) {
      const next = Number(await market.nextInterval());
      const reported = [];
      for (let t = first; t <= last; t++) reported.push(`${t}:${await readings.reportedCount(t)}`);
      throw new Error(`${(e as Error).message}; market next ${next}, first ${first}, reported ${reported.join(" ")}\nkeeper: ${keeper.output().slice(-2500)}\noracle: ${oracle.output().slice(-4000)}`);
    }
    if (keeper.child.exitCode !== null) throw new Error(`keeper exited: ${keeper.output()}`);

    const traded = await market.queryFilter(market.filters.Traded(), 0);
    const intervals = new Set(traded.map((l) => Number((l as unknown as { args: { interval: bigint } }).args.interval)));
    if ([...intervals].sort((a, b) => a - b).join() !== [first + 1, first + 2, first + 3].join()) {
      // Say what the chain holds for each interval, so a failure on a loaded machine explains itself.
      const lines = [];
      for (let t = first; t <= last + 1; t++) {
        const positions = [];
        for (let k = 0; k < METERS.length; k++) {
          const p = await readings.positionOf(t, hardhatAccount(1 + k).address);
          positions.push(`${METERS[k]} +${p.exportWh}/-${p.importWh}`);
        }
        const st = await market.intervalState(t);
        lines.push(`interval ${t}: reported ${await readings.reportedCount(t)}, ${positions.join(" ")}, phase ${st.phase} price ${st.pricePerKWh} matched ${st.matchedWh}`);
      }
      throw new Error(`traded in [${[...intervals].join(", ")}], expected ${first + 1}..${last}\n${lines.join("\n")}\nkeeper: ${keeper.output().slice(-3000)}\noracle: ${oracle.output().slice(-5000)}`);
    }
    // 30 Wh offered each interval, 25 Wh bid: 25 Wh traded at 0.10, the ask of the seller whose
    // 5 unmatched Wh bound the equilibrium range.
    const settled = await market.queryFilter(market.filters.IntervalCleared(), 0);
    const cleared = settled
      .map((l) => (l as unknown as { args: { interval: bigint; pricePerKWh: bigint; matchedWh: bigint } }).args)
      .filter((a) => Number(a.interval) > first && Number(a.interval) <= last);
    expect(cleared.map((a) => [a.pricePerKWh, a.matchedWh])).to.deep.equal(Array(3).fill([100_000n, 25n]));
    oracle.signal("SIGTERM");
    keeper.signal("SIGTERM");
  });
});
