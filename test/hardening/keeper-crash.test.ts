/**
 * Campaign 2, keeper crash (issue 10). A community of households on a `npx hardhat node`, every
 * meter's readings of several intervals on chain, and `gridledger keeper` (a real process)
 * clearing and settling them page by page; it is SIGKILLed whenever its account has sent a
 * random number of transactions (plus a random delay: before, during or after a page is mined)
 * and started again. At the end every interval is cleared and settled exactly once, every
 * member settled once per interval, and prices, volumes, each member's result and every deposit
 * equal the TypeScript reference (`clearInterval`, run by the test on its own inputs, interval
 * after interval, deposits carried forward). Short form (npm test): 16 households, 2 intervals,
 * pages of 4, 2 kills; long form (`npm run harden -- keeper-crash`): 1,000 households,
 * 8 intervals, pages of 100, 20 kills.
 */
import { expect } from "chai";
import { Contract } from "ethers";
import { clearInterval, ClearingInput, ClearingOrder } from "../../src/sdk/clearing";
import { READING_TYPES, readingsDomain, signedReading } from "../../src/sdk/eip712";
import { hardhatAccount } from "../oracle/chain";
import { freePort, tmpDir } from "../oracle/helpers";
import { catchUpClock, Processes, startHardhatNode, HardhatNode } from "../helpers/node";
import { GATEWAY, LONG, SEED, expectOk, healthz, memberWallet, meterIdOf, onboard, pick, prng, waitFor } from "./helpers";

describe(`hardening / keeper crash (${LONG ? "long" : "short"} form, seed ${SEED}: GRIDLEDGER_HARDEN_SEED replays it)`, function () {
  const N = pick(16, 1000);
  const INTERVALS = pick(2, 8); // intervals with energy, after a baseline interval 0
  const PAGE = pick(4, 100);
  const KILLS = pick(2, 20);
  const I = pick(3, 10);
  // Bounded by the work: start-up and onboarding, then at most 250 ms per household-interval
  // (the long form, 1,000 x 8 with 20 kills, took 15 min; docs/reliability.md).
  this.timeout(300_000 + N * (INTERVALS + 1) * 250);
  const procs = new Processes();
  const random = prng(SEED + 1);
  let node: HardhatNode;
  let work = "";
  let market: Contract;
  let credit: Contract;
  let energy: Contract;
  const keeperKey = hardhatAccount(9);
  // energy[t][i] for t = 1..INTERVALS
  const flows: { importWh: bigint; exportWh: bigint }[][] = [];
  let base = 0; // the market's first interval (the baseline readings); base + k for k = 1..INTERVALS

  before(async () => {
    work = tmpDir("gl-harden-keeper-");
    const marketStart = Math.floor(Date.now() / 1000 / I) * I;
    // The node's clock starts 10 minutes before the market: meters are registered (readings start
    // at a meter's registration) and orders placed before interval 0, then the clock catches up.
    node = await startHardhatNode(procs, { work, intervalSeconds: I, marketStart, chainStartsAt: marketStart - 600 });
    const admin = await onboard(node, N, 5_000_000, (i) => [5_000n + BigInt(i), 1_000n]); // 5 MW: a few hundred Wh in a 3 s interval stay plausible
    const rec = (n: string) => node.record(n);
    market = new Contract(rec("EnergyMarket").address, rec("EnergyMarket").abi, node.provider);
    credit = new Contract(rec("CommunityCredit").address, rec("CommunityCredit").abi, admin);
    energy = new Contract(rec("EnergyToken").address, rec("EnergyToken").abi, node.provider);
    const readings = new Contract(rec("MeterReadings").address, rec("MeterReadings").abi, admin);
    // Pages of PAGE households (the operator lowers the market's minimum collect page to it): the
    // short form's 16 households then take several pages per interval, so every kill can land
    // while pages are left.
    await (await (market.connect(admin) as Contract).setMinCollectPage(PAGE)).wait();

    // Orders and deposits: even households sell, odd ones buy; sent without waiting, mined in bulk.
    const gas = { gasLimit: 400_000 };
    const pendingTxs = [];
    for (let i = 0; i < N; i++) {
      const w = memberWallet(i, node.provider);
      await node.provider.send("hardhat_setBalance", [w.address, "0x56BC75E2D63100000"]);
      const m = market.connect(w) as Contract;
      if (i % 2 === 0) {
        pendingTxs.push(await m.placeOrder(1, 80_000 + ((i * 7919) % 120_000), 0, 0, 100_000, { ...gas, nonce: 0 }));
      } else {
        pendingTxs.push(await credit.mint(w.address, 100_000_000n, gas));
        pendingTxs.push(await (credit.connect(w) as Contract).approve(await market.getAddress(), 2n ** 255n, { ...gas, nonce: 0 }));
        // Small deposits so that some bids are limited by what their owner can pay.
        pendingTxs.push(await m.deposit(BigInt(1_000 + ((i * 104_729) % 60_000)), { ...gas, nonce: 1 }));
        pendingTxs.push(await m.placeOrder(0, 120_000 + ((i * 6007) % 180_000), i % 5 === 0 ? 40 : 0, 0, 100_000, { ...gas, nonce: 2 }));
      }
    }
    for (const tx of pendingTxs) expectOk(await tx.wait(), "orders and deposits");
    expect((await node.provider.getBlock("latest"))!.timestamp, "setup done before the market started").to.be.lessThan(marketStart);
    await catchUpClock(node.provider);

    // Readings of intervals base (baseline) .. base + INTERVALS once they ended, signed by the gateway.
    base = Number(await market.nextInterval());
    await waitFor(async () => Number(await readings.currentInterval()) > base + INTERVALS, "the intervals to end", 600_000, 500);
    const domain = readingsDomain(31337n, await readings.getAddress());
    const totals = Array.from({ length: N }, (_, i) => ({ imp: 5_000n + BigInt(i), exp: 1_000n }));
    for (let k = 0; k <= INTERVALS; k++) {
      const t = base + k;
      if (k > 0) {
        flows[k] = totals.map((_, i) => {
          const prosumer = i % 2 === 0;
          const r = random();
          return { importWh: BigInt(Math.floor(r * (prosumer ? 60 : 300))), exportWh: prosumer ? BigInt(Math.floor(random() * 400)) : 0n };
        });
        flows[k].forEach((f, i) => ((totals[i].imp += f.importWh), (totals[i].exp += f.exportWh)));
      }
      const batch = await Promise.all(totals.map(async (r, i) => {
        const msg = { meterId: meterIdOf(i), interval: t, importWhTotal: r.imp, exportWhTotal: r.exp };
        return signedReading(msg, await GATEWAY.signTypedData(domain, READING_TYPES, msg));
      }));
      const txs = [];
      for (let k = 0; k < batch.length; k += 200) txs.push(await readings.submitReadings(batch.slice(k, k + 200), { gasLimit: 20_000_000 }));
      for (const tx of txs) expectOk(await tx.wait(), `readings of interval ${t}`);
      const reported = Number(await readings.reportedCount(t));
      if (reported !== N) {
        const rej = await readings.queryFilter(readings.filters.ReadingRejected(undefined, t), 0);
        throw new Error(`${reported} of ${N} readings of interval ${t} accepted; rejected: ${rej.map((l) => (l as unknown as { args: { reason: bigint } }).args.reason).join(",")}`);
      }
    }
  });
  after(() => {
    procs.killAll();
    node?.provider.destroy();
  });

  it(`settles every interval exactly once, as the reference does, over ${KILLS} SIGKILLs`, async () => {
    console.log(`      seed ${SEED} (GRIDLEDGER_HARDEN_SEED to replay); ${N} households, ${INTERVALS + 1} intervals, pages of ${PAGE}, ${KILLS} kills`);
    const members = Array.from({ length: N }, (_, i) => memberWallet(i).address);
    const depositsBefore = await Promise.all(members.map((m) => market.depositOf(m) as Promise<bigint>));

    // The reference, interval after interval (deposits carried forward).
    const orders: ClearingOrder[] = [];
    for (const m of members) {
      for (const [side, s] of [["buy", 0], ["sell", 1]] as const) {
        const o = await market.orderOf(m, s);
        if (o.orderId !== 0n) orders.push({ orderId: o.orderId, member: m, side, limitPricePerKWh: o.limitPricePerKWh, capWhPerInterval: o.capWhPerInterval });
      }
    }
    const deposits = new Map(members.map((m, i) => [m, depositsBefore[i]]));
    const expected: { price: bigint; matched: bigint; settled: Map<string, bigint[]> }[] = [{ price: 0n, matched: 0n, settled: new Map() }];
    for (let k = 1; k <= INTERVALS; k++) {
      const t = base + k;
      const tariff = await market.tariffAt(t);
      const inMembers = members
        .map((m, i) => ({ member: m, importWh: flows[k][i].importWh, exportWh: flows[k][i].exportWh, active: true, availableCredits: deposits.get(m)! }))
        .filter((m) => m.importWh !== 0n || m.exportWh !== 0n);
      const present = new Set(inMembers.map((m) => m.member));
      const input: ClearingInput = { interval: t, retailTariffPerKWh: tariff.retailPerKWh, feedInTariffPerKWh: tariff.feedInPerKWh, members: inMembers, orders: orders.filter((o) => present.has(o.member)) };
      const r = clearInterval(input);
      const settled = new Map<string, bigint[]>();
      for (const o of r.members) {
        deposits.set(o.member, deposits.get(o.member)! - o.paidCredits + o.receivedCredits);
        settled.set(o.member.toLowerCase(), [o.selfSupplyWh, o.soldWh, o.boughtWh, o.gridExportWh, o.gridImportWh, o.paidCredits, o.receivedCredits]);
      }
      expected.push({ price: r.pricePerKWh, matched: r.matchedWh, settled });
    }

    // The keeper, killed KILLS times when its account reaches distinct random transaction counts.
    // The keeper's pages hold at least min(participants left, the market's minimum collect page).
    const page = Math.max(PAGE, Math.min(N, Number(await market.minCollectPage())));
    const pagesPerInterval = 2 * Math.ceil(N / page);
    // The keeper's transactions: the baseline interval (no energy, one collect) and each interval's
    // collect and settle pages. Kill points leave at least a quarter of them (and 3) still to do,
    // so that a fast keeper cannot finish during the random delay before the kill.
    const total = 1 + INTERVALS * pagesPerInterval;
    const pool = Array.from({ length: Math.max(KILLS, total - Math.max(3, Math.ceil(total / 4))) }, (_, j) => j + 1);
    const targets = Array.from({ length: Math.min(KILLS, pool.length) }, () => pool.splice(Math.floor(random() * pool.length), 1)[0]).sort((a, b) => a - b);
    expect(targets.length, "distinct kill points").to.equal(KILLS);
    /** Per kill: the keeper's transaction count when it was killed, whether it had sent one in this life, and whether work was left. */
    const kills: { at: number; sentThisLife: number; workLeft: boolean }[] = [];
    const keeperEnv = async () => ({
      LOG_LEVEL: process.env.GRIDLEDGER_TEST_DAEMON_LOG ?? "warn",
      LOCALHOST_RPC_URL: node.rpcUrl,
      GRIDLEDGER_DEPLOYMENTS_DIR: node.deploymentsDir,
      GRIDLEDGER_PRIVATE_KEY: keeperKey.privateKey,
    });
    const startKeeper = async () => {
      const port = await freePort();
      const k = procs.spawn(process.execPath, ["bin/gridledger.js", "--network", "localhost", "keeper", "--poll-ms", "200", "--page-size", String(PAGE), "--http-port", String(port)], await keeperEnv());
      return { k, port };
    };
    const allSettled = async () => Number(await market.nextInterval()) > base + INTERVALS;
    const sent = () => node.provider.getTransactionCount(keeperKey.address, "pending");
    const log: string[] = [];
    const t0 = Date.now();
    for (const target of targets) {
      if (await allSettled()) break;
      const startedAt = await sent();
      const { k } = await startKeeper();
      // At least one transaction of this life, so each kill interrupts work this keeper started.
      const at = Math.max(target, startedAt + 1);
      await waitFor(async () => k.ended() || (await sent()) >= at || (await allSettled()), "the kill moment", 900_000, 30);
      await new Promise((r) => setTimeout(r, Math.floor(random() * 200)));
      if (k.ended()) throw new Error(`keeper exited early: ${k.output()}`);
      const workLeft = !(await allSettled());
      k.signal("SIGKILL");
      await k.exited();
      kills.push({ at: await sent(), sentThisLife: (await sent()) - startedAt, workLeft });
      const st = await market.intervalState(await market.nextInterval());
      log.push(`${((Date.now() - t0) / 1000).toFixed(1)} s: kill at tx ${await sent()} (target ${target}): next interval ${await market.nextInterval()}, phase ${st.phase}`);
    }
    // The campaign is what it reports: KILLS kills, each while the keeper was working (work left,
    // a transaction of its own sent), at distinct points.
    expect(kills.length, `kills that landed before the work was done: ${log.join("; ")}`).to.equal(KILLS);
    expect(kills.filter((x) => !x.workLeft || x.sentThisLife < 1), "kills after the work or before any of it").to.deep.equal([]);
    expect(new Set(kills.map((x) => x.at)).size, "kills at distinct transaction counts").to.equal(KILLS);
    const { k, port } = await startKeeper();
    await waitFor(async () => k.ended() || (await allSettled()), "every interval settled", 1_800_000, 200);
    if (k.ended()) throw new Error(`keeper exited: ${k.output()}`);
    await waitFor(async () => (await healthz(port))?.status === 200, "the keeper's /healthz", 30_000, 200);
    k.signal("SIGTERM");
    expect(await k.exited(), k.output()).to.equal(0);
    log.push(`${((Date.now() - t0) / 1000).toFixed(1)} s: every interval settled`);
    console.log(log.map((l) => `      ${l}`).join("\n"));
    if (process.env.GRIDLEDGER_TEST_DAEMON_LOG) console.log(k.output());

    // Exactly once, and equal to the reference.
    const count = async (ev: string) => {
      const logs = await market.queryFilter(market.filters[ev](), 0);
      const n = new Map<number, number>();
      for (const l of logs) n.set(Number((l as unknown as { args: { interval: bigint } }).args.interval), (n.get(Number((l as unknown as { args: { interval: bigint } }).args.interval)) ?? 0) + 1);
      return n;
    };
    const everyOnce = new Map(Array.from({ length: INTERVALS + 1 }, (_, k) => [base + k, 1]));
    expect(await count("IntervalCleared"), "IntervalCleared per interval").to.deep.equal(everyOnce);
    expect(await count("IntervalSettled"), "IntervalSettled per interval").to.deep.equal(everyOnce);
    const cleared = await market.queryFilter(market.filters.IntervalCleared(), 0);
    for (const l of cleared) {
      const a = (l as unknown as { args: { interval: bigint; pricePerKWh: bigint; matchedWh: bigint } }).args;
      const e = expected[Number(a.interval) - base];
      expect([a.pricePerKWh, a.matchedWh], `price and volume of interval ${a.interval}`).to.deep.equal([e.price, e.matched]);
    }
    const settledLogs = await market.queryFilter(market.filters.MemberSettled(), 0);
    const seen = new Set<string>();
    let mismatches = 0;
    for (const l of settledLogs) {
      const a = (l as unknown as { args: bigint[] & { interval: bigint; member: string } }).args;
      const key = `${a.interval}:${a.member.toLowerCase()}`;
      expect(seen.has(key), `${key} settled twice`).to.equal(false);
      seen.add(key);
      const want = expected[Number(a.interval) - base]?.settled.get(a.member.toLowerCase());
      if (!want || want.some((v, j) => v !== BigInt(a[2 + j]))) mismatches++;
    }
    const wanted = expected.reduce((s, e) => s + e.settled.size, 0);
    expect({ settled: seen.size, mismatches }).to.deep.equal({ settled: wanted, mismatches: 0 });
    const after = await Promise.all(members.map((m) => market.depositOf(m) as Promise<bigint>));
    const wrongDeposits = members.filter((m, i) => after[i] !== deposits.get(m)).length;
    expect(wrongDeposits, "deposits different from the reference").to.equal(0);
    expect(after.reduce((s, d) => s + d, 0n), "credits conserved").to.equal(depositsBefore.reduce((s, d) => s + d, 0n));
    expect(await energy.totalSupply(), "every exported Wh retired").to.equal(0n);
    console.log(`      ${INTERVALS + 1} intervals settled once each, ${seen.size} member settlements equal to the reference, ${N} deposits equal to the reference`);
  });
});
