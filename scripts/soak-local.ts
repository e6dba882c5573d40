/**
 * `npm run soak:local -- --minutes 30`: the documented local set-up, for real time, and its figures.
 *
 * Starts `npx hardhat node` (blocks every 2 s, as the config makes it) with 60-second intervals and
 * the default reading deadline (one interval), onboards three households (a seller, two buyers)
 * with meters signed by a gateway key, runs the oracle daemon (its own account, ORACLE_ROLE) and the
 * keeper daemon (another account, no role) as processes, posts every meter's registers at each
 * interval end like a smart meter, and samples the chain's clock against the wall clock and both
 * daemons' /healthz. At the end it prints: clock skew (min, max, drift), readings accepted and
 * refused (by reason, `IntervalClosed` = late), intervals settled and with how many meters.
 * Everything runs in a temporary folder; every process it starts is stopped.
 */
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { Command } from "commander";
import { Contract, NonceManager, id } from "ethers";
import { writeKeystore } from "../src/oracle/keystore";
import { REJECT_REASONS } from "../src/sdk/reject-reasons";
import { ROLES } from "../src/sdk/roles";
import { hardhatAccount } from "../test/oracle/chain";
import { freePort, waitFor } from "../test/oracle/helpers";
import { Processes, startHardhatNode } from "../test/helpers/node";

const METERS = ["ada", "ben", "cleo"];
const PASSWORD = "soak-password";

async function main(): Promise<void> {
  const o = new Command("soak:local")
    .option("--minutes <n>", "how long to run", "30")
    .option("--interval-seconds <n>", "interval length", "60")
    .parse(process.argv)
    .opts<{ minutes: string; intervalSeconds: string }>();
  const minutes = Number(o.minutes);
  const I = Number(o.intervalSeconds);
  const work = fs.mkdtempSync(path.join(os.tmpdir(), "gl-soak-"));
  const procs = new Processes();
  const say = (s: string) => process.stderr.write(`[${new Date().toISOString().slice(11, 19)}] ${s}\n`);
  const stop = () => procs.killAll();
  process.once("SIGINT", () => (stop(), process.exit(130)));
  try {
    say(`starting npx hardhat node (${I}-s intervals, a block every 2 s) in ${work}`);
    const node = await startHardhatNode(procs, { work, intervalSeconds: I, marketStart: Math.floor(Date.now() / 1000 / I) * I });
    const { provider, record } = node;
    const skews: { at: number; chain: number }[] = [];
    const sampleSkew = async () => {
      const b = await provider.getBlock("latest");
      skews.push({ at: Date.now(), chain: b!.timestamp - Date.now() / 1000 });
    };
    await sampleSkew();

    const operator = new NonceManager(hardhatAccount(0).connect(provider));
    const oracleAccount = hardhatAccount(1);
    const keeperAccount = hardhatAccount(2);
    const gateway = hardhatAccount(5);
    const registry = new Contract(record("CommunityRegistry").address, record("CommunityRegistry").abi, operator);
    const credit = new Contract(record("CommunityCredit").address, record("CommunityCredit").abi, operator);
    const marketAddr = record("EnergyMarket").address;
    await (await registry.grantRole(ROLES.ORACLE_ROLE, oracleAccount.address)).wait();
    for (const [k, m] of METERS.entries()) {
      const owner = hardhatAccount(10 + k).connect(provider);
      await (await registry.onboardMember(owner.address, k === 0 ? 2 : 1, id(`identity:${m}`))).wait();
      await (await registry.registerMeter(id(`meter:${m}`), owner.address, gateway.address, 20_000, 1, 5_000, 1_000)).wait(); // the registers the soak starts from
      const market = new Contract(marketAddr, record("EnergyMarket").abi, owner);
      if (k === 0) await (await market.placeOrder(1, 100_000, 0, 0, 1_000_000)).wait();
      else {
        await (await credit.mint(owner.address, 500_000_000n)).wait();
        await (await new Contract(record("CommunityCredit").address, record("CommunityCredit").abi, owner).approve(marketAddr, 500_000_000n)).wait();
        await (await market.deposit(500_000_000n)).wait();
        await (await market.placeOrder(0, 250_000, 0, 0, 1_000_000)).wait();
      }
    }
    const keys = path.join(work, "keys");
    await writeKeystore(keys, oracleAccount, PASSWORD, true);
    await writeKeystore(keys, gateway, PASSWORD, true);
    await sampleSkew();

    const oraclePort = await freePort();
    const keeperPort = await freePort();
    const oracle = procs.spawn(process.execPath, ["bin/gridledger.js", "oracle"], {
      GRIDLEDGER_LOG_FORMAT: "json",
      GRIDLEDGER_NETWORK: "localhost",
      GRIDLEDGER_DEPLOYMENTS_DIR: node.deploymentsDir,
      GRIDLEDGER_RPC_URL: node.rpcUrl,
      GRIDLEDGER_ORACLE_DB: path.join(work, "oracle.sqlite"),
      GRIDLEDGER_ORACLE_KEYSTORE_DIR: keys,
      GRIDLEDGER_ORACLE_KEYSTORE_PASSWORD: PASSWORD,
      GRIDLEDGER_ORACLE_SUBMITTER: oracleAccount.address,
      GRIDLEDGER_ORACLE_GATEWAY: gateway.address,
      GRIDLEDGER_ORACLE_METERS: JSON.stringify(METERS.map((m) => ({ meterKey: m, meterId: id(`meter:${m}`) }))),
      GRIDLEDGER_ORACLE_HTTP_PORT: String(oraclePort),
    });
    const keeper = procs.spawn(process.execPath, ["bin/gridledger.js", "--network", "localhost", "keeper", "--http-port", String(keeperPort)], {
      GRIDLEDGER_LOG_FORMAT: "json",
      LOCALHOST_RPC_URL: node.rpcUrl,
      GRIDLEDGER_DEPLOYMENTS_DIR: node.deploymentsDir,
      GRIDLEDGER_PRIVATE_KEY: keeperAccount.privateKey,
    });
    const health = async (port: number) => {
      try {
        return (await (await fetch(`http://127.0.0.1:${port}/healthz`)).json()) as { ok: boolean; chainClockSkewSeconds?: number };
      } catch {
        return undefined;
      }
    };
    await waitFor(async () => (await health(oraclePort)) !== undefined || oracle.ended(), "the oracle's /healthz", 120_000, 500);
    await waitFor(async () => (await health(keeperPort)) !== undefined || keeper.ended(), "the keeper's /healthz", 120_000, 500);
    if (oracle.ended() || keeper.ended()) throw new Error(`a daemon exited:\n${oracle.output()}\n${keeper.output()}`);

    const readings = new Contract(record("MeterReadings").address, record("MeterReadings").abi, provider);
    const market = new Contract(marketAddr, record("EnergyMarket").abi, provider);
    const marketStart = Number(await readings.marketStart());
    const first = Math.floor((Date.now() / 1000 - marketStart) / I);
    const steps = Math.max(2, Math.round((minutes * 60) / I));
    const registers = METERS.map(() => ({ imp: 5_000, exp: 1_000 }));
    const daemonSkews: { oracle: number[]; keeper: number[] } = { oracle: [], keeper: [] };
    let unhealthy = 0;
    say(`running ${steps} intervals (${minutes} min) from interval ${first}`);
    for (let step = 0; step < steps; step++) {
      const boundary = (marketStart + (first + step + 1) * I) * 1000;
      // Sample the clocks every 10 s while waiting for the boundary.
      while (Date.now() < boundary - 10_000) {
        await new Promise((r) => setTimeout(r, 10_000));
        await sampleSkew();
      }
      await new Promise((r) => setTimeout(r, Math.max(0, boundary - Date.now() + 200)));
      const body = METERS.map((m, k) => {
        if (step > 0) {
          if (k === 0) registers[k].exp += 300;
          else registers[k].imp += k === 1 ? 150 : 100;
        }
        return { meterKey: m, timestamp: Math.floor(boundary / 1000), importWhTotal: registers[k].imp, exportWhTotal: registers[k].exp };
      });
      const res = await fetch(`http://127.0.0.1:${oraclePort}/readings`, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify(body) });
      if (res.status >= 300) say(`POST /readings: ${res.status} ${await res.text()}`);
      const [oh, kh] = await Promise.all([health(oraclePort), health(keeperPort)]);
      if (oh?.chainClockSkewSeconds !== undefined) daemonSkews.oracle.push(oh.chainClockSkewSeconds);
      if (kh?.chainClockSkewSeconds !== undefined) daemonSkews.keeper.push(kh.chainClockSkewSeconds);
      if (!oh?.ok || !kh?.ok) unhealthy++;
      await sampleSkew();
      if (step % 5 === 4) say(`interval ${first + step}: chain skew ${skews[skews.length - 1].chain.toFixed(1)} s, market next ${await market.nextInterval()}`);
    }
    // Let the last interval's readings land and the keeper settle it.
    const last = first + steps - 1;
    await waitFor(async () => Number(await market.nextInterval()) > last, "the keeper to settle the last interval", 4 * I * 1000, 1000).catch((e) => say((e as Error).message));
    await sampleSkew();

    const accepted = await readings.queryFilter(readings.filters.ReadingAccepted(), 0);
    const rejected = await readings.queryFilter(readings.filters.ReadingRejected(), 0);
    const byReason = new Map<string, number>();
    for (const e of rejected) {
      const r = REJECT_REASONS[Number((e as unknown as { args: { reason: bigint } }).args.reason)] ?? "?";
      byReason.set(r, (byReason.get(r) ?? 0) + 1);
    }
    const cleared = (await market.queryFilter(market.filters.IntervalCleared(), 0)).map((e) => (e as unknown as { args: { interval: bigint; participants: bigint } }).args);
    const run = cleared.filter((a) => Number(a.interval) > first && Number(a.interval) <= last);
    const full = [];
    for (const a of run) if (Number(await readings.reportedCount(a.interval)) === METERS.length) full.push(a);
    const c = skews.map((s) => s.chain);
    const f = (x: number) => `${x >= 0 ? "+" : ""}${x.toFixed(1)} s`;
    const range = (xs: number[]) => (xs.length ? `${f(Math.min(...xs))} .. ${f(Math.max(...xs))}` : "n/a");
    const late = byReason.get("IntervalClosed") ?? 0;
    const lines = [
      `Soak: ${minutes} min, ${steps} intervals of ${I} s, ${METERS.length} meters, npx hardhat node mining every 2 s; oracle and keeper on their own accounts`,
      `  chain clock - wall clock   ${range(c)} (first ${f(c[0])}, last ${f(c[c.length - 1])}, ${c.length} samples)`,
      `  daemons' /healthz skew     oracle ${range(daemonSkews.oracle)}, keeper ${range(daemonSkews.keeper)}; unhealthy at ${unhealthy} of ${steps} checks`,
      `  readings                   ${accepted.length} accepted, ${rejected.length} refused${rejected.length ? ` (${[...byReason].map(([k, v]) => `${k} ${v}`).join(", ")})` : ""}; late (IntervalClosed): ${late}`,
      `  intervals ${first + 1}..${last}       ${run.length} of ${steps - 1} settled, ${full.length} with every meter`,
    ];
    process.stdout.write(lines.join("\n") + "\n");
    oracle.signal("SIGTERM");
    keeper.signal("SIGTERM");
    await new Promise((r) => setTimeout(r, 1000));
    if (late > 0 || run.length < steps - 1) process.exitCode = 1;
  } finally {
    stop();
  }
}

main().catch((e) => {
  process.stderr.write(`soak failed: ${(e as Error).stack ?? e}\n`);
  process.exit(1);
});
