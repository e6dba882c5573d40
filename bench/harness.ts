/**
 * The benchmark scenarios of issue 8 on one Hardhat chain (embedded by default): every figure
 * with its unit and sizes, targets marked met / not met, written to `bench/results.json`.
 * Loaded by bench/run.ts once HARDHAT_NETWORK is set. See bench/README.md.
 */
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import type { HardhatRuntimeEnvironment } from "hardhat/types";
import { BrowserProvider, Eip1193Provider, HDNodeWallet, Mnemonic, version as ethersVersion } from "ethers";
import type { ContractTransactionReceipt } from "ethers";
import pino from "pino";
import { deployCore, Core } from "../test/helpers/fixtures";
import { goToInterval } from "../test/helpers/readings";
import { buildCommunity, Community, readInterval, wallet } from "./lib/community";
import { timeClearing } from "./lib/clearing";
import { boundaryToOutbox, outboxInsert, pipelineIngest, rawSamplesDurable, signedReadings } from "./lib/ingest";
import { gasBreakdown, GasBreakdown, renderBreakdown } from "./lib/trace";
import { gitInfo } from "./lib/git";
import { settleInterval, KeeperContracts } from "../src/keeper/interval";
import { marketDomain, ORDER_INTENT_TYPES, Side } from "../src/sdk/eip712";
import { startOracle } from "../src/oracle/daemon";
import { parseConfig } from "../src/oracle/config";
import { writeKeystore } from "../src/oracle/keystore";
import { DemoProvider } from "../src/demo/chain";

export const SCENARIOS = ["readings", "orders", "intervals", "ingest", "oracle", "keeper"] as const;
export type Scenario = (typeof SCENARIOS)[number];

/** Every figure a run of all scenarios reports (each at one or more sizes). */
export const EXPECTED_FIGURES: [Scenario, string][] = [
  ["keeper", "off-chain clearing time (median)"],
  ["keeper", "off-chain clearing time (max)"],
  ["ingest", "outbox insert path, pre-signed readings, tmpfs"],
  ["ingest", "pipeline (validate + sign + outbox), tmpfs"],
  ["ingest", "pipeline (validate + sign + outbox), disk"],
  ["ingest", "outbox insert path, group commit, tmpfs"],
  ["ingest", "pipeline, group commit (validate + sign + outbox), disk"],
  ["ingest", "raw samples accepted per second, durable (disk)"],
  ["ingest", "interval readings signed per second"],
  ["ingest", "boundary to all readings in the outbox, 5,000 meters at 1 Hz"],
  ["readings", "gas per reading"],
  ["readings", "gas per batch transaction"],
  ["orders", "gas per order placed by transaction"],
  ["orders", "gas per order updated by transaction"],
  ["orders", "gas per order placed by relayed signature"],
  ["intervals", "clear + settle gas, total"],
  ["intervals", "clear + settle gas per household"],
  ["intervals", "reading gas per household"],
  ["intervals", "all-in gas per household-interval"],
  ["intervals", "transactions per interval"],
  ["intervals", "30M-gas blocks per interval"],
  ["intervals", "30M-gas blocks from the last reading to settlement"],
  ["intervals", "largest transaction"],
  ["intervals", "clear + settle wall time, embedded chain"],
  ["intervals", "clear + settle gas per household, a member's first clearing"],
  ["oracle", "end-to-end: last reading received -> all on chain"],
  ["oracle", "pipeline time to take the interval's samples"],
];

export interface BenchOptions {
  quick: boolean;
  only?: Scenario[];
  out: string;
  log?: (line: string) => void;
}

export interface Figure {
  scenario: Scenario;
  name: string;
  value: number;
  unit: string;
  sizes: Record<string, number | string>;
  note?: string;
}

export interface Target {
  name: string;
  rule: string;
  measured?: number;
  limit: number;
  unit: string;
  status: "met" | "not met" | "not measured";
}

export interface Results {
  machine: Record<string, unknown>;
  versions: Record<string, string>;
  git: { commit: string; branch: string; dirty: boolean };
  date: string;
  network: string;
  mode: "quick" | "full";
  runtimeSeconds: number;
  figures: Figure[];
  targets: Target[];
  breakdown: { title: string; per: number; unit: string; gas: GasBreakdown }[];
  /** Wall time of each stage of the run, in seconds (where a run's time goes; not a figure). */
  stageSeconds?: Record<string, number>;
  /** When `--only` runs replaced some scenarios' figures: each such scenario's run (the top-level date and git are the full run's). */
  scenarioRuns?: Record<string, { date: string; commit: string; dirty: boolean; mode: string; runtimeSeconds: number }>;
}

const NOON = 52; // simulator interval 13:00-13:15, PV at its peak
const BLOCK_GAS = 30_000_000;
const READING_BATCH = 400; // the largest batch that fits a 30M block (~69k gas per reading)
const PAGE_SIZE = 200; // the keeper's default page
// Gas breakdowns trace small transactions: debug_traceTransaction's time grows faster than the
// opcodes it returns (a batch of 20 readings took 75x a single one), and per reading or per
// household the breakdown of 10 is the breakdown of 100.
const TRACE_SIZE = 10;
const INGEST_BATCH = 100; // samples arriving together (an MQTT message or HTTP body of a gateway)

export function sizesFor(quick: boolean) {
  return quick
    ? { community: 100, households: [10, 50, 100], batches: [1, 20, 50], ingestOutbox: 2_000, ingestPipelineTmpfs: 1_000, ingestPipelineDisk: 200, rawMeters: 1_000, rawSeconds: 5, signedIntervals: 1, oracleMeters: 100, keeper: [1_000, 5_000], keeperRuns: 5 }
    : { community: 5_000, households: [50, 100, 500, 1_000, 5_000], batches: [1, 100, 500], ingestOutbox: 100_000, ingestPipelineTmpfs: 10_000, ingestPipelineDisk: 2_000, rawMeters: 5_000, rawSeconds: 40, signedIntervals: 4, oracleMeters: 1_000, keeper: [1_000, 5_000], keeperRuns: 15 };
}


/** Transactions packed in order into blocks of `limit` gas (what a chain with that block size needs at least). */
export function blocksNeeded(gas: number[], limit = BLOCK_GAS): number {
  let blocks = 0;
  let room = 0;
  for (const g of gas) {
    if (g > room) {
      blocks++;
      room = limit;
    }
    room -= g;
  }
  return blocks;
}

export async function runBench(hre: HardhatRuntimeEnvironment, options: BenchOptions): Promise<Results> {
  const started = Date.now();
  const log = options.log ?? ((l: string) => process.stderr.write(l + "\n"));
  /** One transaction's gas breakdown (debug_traceTransaction: its cost grows with the opcodes run). */
  const traced = async (what: string, hash: string, names: Record<string, string>) => {
    const t0 = performance.now();
    const gas = await gasBreakdown(network.provider, hash, names);
    log(`  traced ${what} in ${((performance.now() - t0) / 1000).toFixed(1)} s`);
    return gas;
  };
  const want = (s: Scenario) => !options.only || options.only.includes(s);
  // Where the run's time goes: each stage's wall time, to stderr and into results.json.
  const stageSeconds: Record<string, number> = {};
  let stageName = "";
  let stageStart = Date.now();
  const stage = (next: string) => {
    const now = Date.now();
    if (stageName) {
      stageSeconds[stageName] = round((now - stageStart) / 1000, 1);
      log(`[${((now - started) / 1000).toFixed(0)} s] ${stageName}: ${stageSeconds[stageName]} s`);
    }
    stageName = next;
    stageStart = now;
  };
  const S = sizesFor(options.quick);
  const figures: Figure[] = [];
  const breakdown: Results["breakdown"] = [];
  const fig = (scenario: Scenario, name: string, value: number, unit: string, sizes: Figure["sizes"], note?: string) => {
    figures.push({ scenario, name, value, unit, sizes, ...(note ? { note } : {}) });
  };
  const { ethers, network, deployments } = hre;
  const send = (m: string, p: unknown[] = []) => network.provider.send(m, p);
  const setBlockGas = (g: number) => send("evm_setBlockGasLimit", ["0x" + g.toString(16)]);

  // ------------------------------------------------------------ off-chain scenarios first
  if (want("keeper")) {
    stage("keeper (off-chain clearing)");
    for (const n of S.keeper) {
      log(`keeper: clearing ${n} households off chain, ${S.keeperRuns} runs`);
      const r = timeClearing(n, S.keeperRuns);
      fig("keeper", "off-chain clearing time (median)", round(r.medianMs, 2), "ms", { households: n, runs: r.runs, fills: r.fills });
      fig("keeper", "off-chain clearing time (max)", round(r.maxMs, 2), "ms", { households: n, runs: r.runs });
    }
  }
  if (want("ingest")) {
    stage("ingest");
    log(`ingest: ${S.ingestOutbox} readings through the outbox insert path (tmpfs)`);
    const a = outboxInsert(S.ingestOutbox, "tmpfs");
    fig("ingest", "outbox insert path, pre-signed readings, tmpfs", Math.round(a.perSecond), "readings/s", { readings: a.readings, meters: a.meters }, "one SQLite transaction per reading, synchronous=FULL; tmpfs makes fsync free");
    log(`ingest: ${S.ingestPipelineTmpfs} samples through Pipeline.sample (tmpfs)`);
    const b = pipelineIngest(S.ingestPipelineTmpfs, "tmpfs");
    fig("ingest", "pipeline (validate + sign + outbox), tmpfs", Math.round(b.perSecond), "readings/s", { readings: b.readings, meters: b.meters }, "EIP-712 signature per reading");
    log(`ingest: ${S.ingestPipelineDisk} samples through Pipeline.sample (disk)`);
    const c = pipelineIngest(S.ingestPipelineDisk, "disk");
    fig("ingest", "pipeline (validate + sign + outbox), disk", Math.round(c.perSecond), "readings/s", { readings: c.readings, meters: c.meters }, `fsync to ${os.tmpdir()} per reading`);
    // Group commit: the samples that arrive together (one MQTT message, one HTTP body) in one commit.
    log(`ingest: ${S.ingestOutbox} readings through the outbox insert path, ${INGEST_BATCH} per transaction (tmpfs)`);
    const d = outboxInsert(S.ingestOutbox, "tmpfs", 1000, INGEST_BATCH);
    fig("ingest", "outbox insert path, group commit, tmpfs", Math.round(d.perSecond), "readings/s", { readings: d.readings, meters: d.meters, batch: INGEST_BATCH }, "one SQLite transaction per batch, a savepoint per reading");
    log(`ingest: ${S.ingestPipelineTmpfs} samples through Pipeline.sampleBatch, ${INGEST_BATCH} at a time (disk)`);
    const e = pipelineIngest(S.ingestPipelineTmpfs, "disk", 1000, INGEST_BATCH);
    fig("ingest", "pipeline, group commit (validate + sign + outbox), disk", Math.round(e.perSecond), "readings/s", { readings: e.readings, meters: e.meters, batch: INGEST_BATCH }, `Pipeline.sampleBatch: one fsync to ${os.tmpdir()} per batch`);
    // Issue 19: meters at their real rate (one message per meter and second, group commit of the daemon).
    const load = () => os.loadavg()[0].toFixed(1);
    log(`ingest: ${S.rawMeters} meters x ${S.rawSeconds} s of 1 Hz samples through GroupCommit (disk)`);
    const f = await rawSamplesDurable(S.rawMeters, S.rawSeconds, "disk");
    fig("ingest", "raw samples accepted per second, durable (disk)", Math.round(f.perSecond), "samples/s", { samples: f.samples, meters: f.meters, commits: f.commits }, `each sample its own message, GroupCommit (5 ms / 2,000 samples) -> one fsync to ${os.tmpdir()} per batch; ${f.cpuSeconds.toFixed(1)} CPU s in ${f.seconds.toFixed(1)} s, load ${load()}`);
    log(`ingest: ${S.rawMeters} meters x ${S.signedIntervals} boundaries, one signed reading per sample (disk)`);
    const g = await signedReadings(S.rawMeters, S.signedIntervals, "disk");
    fig("ingest", "interval readings signed per second", Math.round(g.perSecond), "readings/s", { readings: g.readings, meters: g.meters, commits: g.commits, signer: g.signer }, `EIP-712 digest + secp256k1 (${g.signer}) per reading, durable on disk; ${g.cpuSeconds.toFixed(1)} CPU s in ${g.seconds.toFixed(1)} s, load ${load()}`);
    log(`ingest: 5,000 meters at 1 Hz in real time across an interval boundary (disk)`);
    const h = await boundaryToOutbox(5_000, "disk");
    fig("ingest", "boundary to all readings in the outbox, 5,000 meters at 1 Hz", round(h.seconds, 2), "s", { meters: h.meters, readings: h.readings, commits: h.commits, signer: h.signer }, `real time; the last meter's boundary sample was handed in ${h.lastArrivalSeconds.toFixed(2)} s after the boundary; load ${load()}`);
  }

  // ------------------------------------------------------------ on-chain scenarios
  const onChain = want("readings") || want("orders") || want("intervals") || want("oracle");
  if (onChain) {
    stage("chain: deploy");
    log(`chain: deploying (network ${network.name})`);
    const core = await deployCore();
    const names: Record<string, string> = {};
    // Every deployment record (contracts and linked libraries) names its address in the breakdown.
    for (const [k, d] of Object.entries(await deployments.all())) names[d.address.toLowerCase()] = k;
    const fromBlock = (await deployments.get("EnergyMarket")).receipt?.blockNumber ?? 0;
    const keeper: KeeperContracts = { registry: core.registry, readings: core.readings, market: core.market, fromBlock };
    // The same keeper through the demo's provider: a transaction is run once (eth_call) instead of
    // being estimated by bisection. Same gas, about half the wall time; used for every interval
    // but the one whose wall time is the figure (1,000 households, or the largest in --quick).
    const demo = await DemoProvider.connect(network.provider as never);
    const demoSigner = await demo.getSigner(core.deployer.address);
    const fastKeeper: KeeperContracts = {
      registry: core.registry.connect(demoSigner),
      readings: core.readings.connect(demoSigner),
      market: core.market.connect(demoSigner),
      fromBlock,
    };
    // Set-up only (catching up and the warm-up interval, whose wall time is no figure): no
    // estimate and no eth_call before a transaction, each runs once; a revert still throws.
    const setupProvider = await FixedGasProvider.connect(network.provider as never);
    const setupSigner = await setupProvider.getSigner(core.deployer.address);
    const setupKeeper: KeeperContracts = {
      registry: core.registry.connect(setupSigner),
      readings: core.readings.connect(setupSigner),
      market: core.market.connect(setupSigner),
      fromBlock,
    };
    const wallTimeSize = S.households.includes(1_000) ? 1_000 : S.households[S.households.length - 1];
    const size = want("intervals") ? S.community : Math.max(S.batches[S.batches.length - 1], want("oracle") ? S.oracleMeters : 0, 10);
    const t0 = Date.now();
    stage(`chain: build ${size} households`);
    log(`chain: building a community of ${size} households`);
    const community = await buildCommunity(core, size, 7, (k, n) => log(`  built ${k}/${n} (${((Date.now() - t0) / 1000).toFixed(0)} s)`));
    log(`chain: built in ${((Date.now() - t0) / 1000).toFixed(0)} s; baseline readings`);
    stage("chain: baseline readings + clearing");
    // Building mines thousands of blocks, each a second later: start from wherever the clock is.
    const b = Number(await core.readings.currentInterval()) + 1;
    await goToInterval(core.readings, b + 1);
    await readInterval(core, community, community.members, b, undefined, READING_BATCH);
    const catchUp = async (upTo: number) => {
      for (let t = Number(await core.market.nextInterval()); t <= upTo; t++) await settleInterval(setupKeeper, t, { pageSize: PAGE_SIZE });
    };
    await catchUp(b);
    let t = b + 1;
    if (want("intervals") || want("readings")) {
      // A warm-up interval in which everybody reports and trades: the figures below are the steady
      // state (a member's second and later clearing), not first-time writes of new storage slots.
      stage(`chain: warm-up interval, ${size} households`);
      log(`chain: warm-up interval ${t}, all ${size} households`);
      await goToInterval(core.readings, t + 1);
      await readInterval(core, community, community.members, t, NOON - 1, READING_BATCH);
      await catchUp(t - 1);
      const w = await settleInterval(setupKeeper, t, { pageSize: PAGE_SIZE });
      fig("intervals", "clear + settle gas per household, a member's first clearing", Math.round(Number(w.gasUsed) / w.participants), "gas", { households: size, participants: w.participants }, "warm-up interval: new storage slots for every member");
      t++;
    }

    if (want("readings")) {
      stage("readings");
      await goToInterval(core.readings, t + 1);
      const registers = community.members.map((m) => [m.importWhTotal, m.exportWhTotal] as const);
      for (const batch of S.batches) {
        const snap = await send("evm_snapshot");
        if (batch > READING_BATCH) await setBlockGas(batch * 90_000 + 1_000_000);
        const [r] = await readInterval(core, community, community.members.slice(0, batch), t, NOON, batch, Math.max(29_000_000, batch * 90_000));
        const rejected = r.logs.filter((l) => core.readings.interface.parseLog(l)?.name === "ReadingRejected").length;
        if (rejected) throw new Error(`${rejected} readings rejected in the batch of ${batch}`);
        fig("readings", "gas per reading", Math.round(Number(r.gasUsed) / batch), "gas", { batch });
        fig("readings", "gas per batch transaction", Number(r.gasUsed), "gas", { batch }, Number(r.gasUsed) > BLOCK_GAS ? "exceeds a 30M block (measured in a raised block)" : undefined);
        if (batch === 1) breakdown.push({ title: "One reading (batch of 1, signed, verified, recorded)", per: 1, unit: "reading", gas: await traced("a batch of 1", r.hash, names) });
        await send("evm_revert", [snap]);
        if (batch > READING_BATCH) await setBlockGas(BLOCK_GAS);
        community.members.forEach((m, i) => ([m.importWhTotal, m.exportWhTotal] = registers[i]));
      }
      const snap = await send("evm_snapshot");
      const [r] = await readInterval(core, community, community.members.slice(0, TRACE_SIZE), t, NOON, TRACE_SIZE, 29_000_000);
      breakdown.push({ title: `One reading in a batch of ${TRACE_SIZE}`, per: TRACE_SIZE, unit: "reading", gas: await traced(`a batch of ${TRACE_SIZE}`, r.hash, names) });
      await send("evm_revert", [snap]);
      community.members.forEach((m, i) => ([m.importWhTotal, m.exportWhTotal] = registers[i]));
    }

    if (want("orders")) {
      stage("orders");
      const snap = await send("evm_snapshot");
      const newcomer = wallet("bench-newcomer");
      const relayed = wallet("bench-relayed");
      await core.registry.onboardMember(newcomer.address, 1, ethers.ZeroHash);
      await core.registry.onboardMember(relayed.address, 1, ethers.ZeroHash);
      await send("hardhat_setBalance", [newcomer.address, "0x56BC75E2D63100000"]);
      const placed = await (await core.market.connect(newcomer).placeOrder(Side.Buy, 200_000, 0, t, 100_000)).wait();
      fig("orders", "gas per order placed by transaction", Number(placed!.gasUsed), "gas", { orders: 1 }, "a member's first order (new slots)");
      const updated = await (await core.market.connect(newcomer).updateOrder(Side.Buy, 210_000, 0, t, 100_000)).wait();
      fig("orders", "gas per order updated by transaction", Number(updated!.gasUsed), "gas", { orders: 1 }, "updateOrder: the same member replaces its live order");
      const { chainId } = await ethers.provider.getNetwork();
      const msg = { member: relayed.address, action: 0, side: Side.Buy, limitPricePerKWh: 200_000n, capWhPerInterval: 0n, firstInterval: t, lastInterval: 100_000, nonce: 0n, deadline: 2n ** 40n };
      const sig = await relayed.signTypedData(marketDomain(chainId, await core.market.getAddress()), ORDER_INTENT_TYPES, msg);
      const r = await (await core.market.submitSignedOrder(msg, sig)).wait();
      fig("orders", "gas per order placed by relayed signature", Number(r!.gasUsed), "gas", { orders: 1 }, "EIP-712 intent relayed by another account");
      breakdown.push({ title: "One order placed by transaction", per: 1, unit: "order", gas: await traced("an order", placed!.hash, names) });
      breakdown.push({ title: "One order updated by transaction", per: 1, unit: "order", gas: await traced("an update", updated!.hash, names) });
      breakdown.push({ title: "One order placed by relayed signature", per: 1, unit: "order", gas: await traced("a relayed order", r!.hash, names) });
      await send("evm_revert", [snap]);
    }

    if (want("intervals")) {
      // Where a household's clearing gas goes: one interval of TRACE_SIZE households, one page each.
      {
        stage(`intervals: trace, ${TRACE_SIZE} households`);
        await goToInterval(core.readings, t + 1);
        await readInterval(core, community, community.members.slice(0, TRACE_SIZE), t, NOON, TRACE_SIZE);
        await goToInterval(core.readings, t + 2, 2);
        await catchUp(t - 1);
        const txs: ContractTransactionReceipt[] = [];
        const o = await settleInterval(fastKeeper, t, { pageSize: PAGE_SIZE, onTx: (_k, r) => txs.push(r) });
        const collect = txs.find((r) => r.logs.some((l) => core.market.interface.parseLog(l)?.name === "PageCollected"));
        const settle = txs.filter((r) => r !== collect).pop();
        for (const [title, r] of [["collect", collect], ["settle", settle]] as const) {
          if (r) breakdown.push({ title: `One household's clearing: ${title} page of ${o.participants}`, per: o.participants, unit: "household", gas: await traced(`a ${title} page of ${o.participants}`, r.hash, names) });
        }
        t++;
      }
      for (const n of S.households) {
        stage(`intervals: ${n} households`);
        const members = community.members.slice(0, n);
        await goToInterval(core.readings, t + 1);
        const readTx = await readInterval(core, community, members, t, NOON + (t % 4), READING_BATCH);
        const readGas = readTx.reduce((s, r) => s + Number(r.gasUsed), 0);
        // Others missed the interval: it is ready once the reading deadline has passed.
        if (n < community.members.length) await goToInterval(core.readings, t + 2, 2);
        await catchUp(t - 1);
        const txs: ContractTransactionReceipt[] = [];
        const w0 = performance.now();
        const standard = n === wallTimeSize;
        const o = await settleInterval(standard ? keeper : fastKeeper, t, { pageSize: PAGE_SIZE, onTx: (_k, r) => txs.push(r) });
        const wallMs = performance.now() - w0;
        if (o.participants !== n) log(`  note: ${o.participants} participants of ${n} households reported`);
        const hh = { households: n };
        const clearGas = Number(o.gasUsed);
        fig("intervals", "clear + settle gas, total", clearGas, "gas", { ...hh, participants: o.participants, pageSize: PAGE_SIZE });
        fig("intervals", "clear + settle gas per household", Math.round(clearGas / o.participants), "gas", hh);
        fig("intervals", "reading gas per household", Math.round(readGas / n), "gas", { ...hh, batch: READING_BATCH });
        fig("intervals", "all-in gas per household-interval", Math.round((readGas + clearGas) / n), "gas", hh, "reading + clearing + settlement (issue 16: no mint or burn)");
        fig("intervals", "transactions per interval", readTx.length + o.collectTxs + o.settleTxs, "tx", { ...hh, readingTxs: readTx.length, collectTxs: o.collectTxs, settleTxs: o.settleTxs });
        fig("intervals", "30M-gas blocks per interval", blocksNeeded([...readTx, ...txs].map((r) => Number(r.gasUsed))), "blocks", hh, "transactions packed in order");
        // Issue 16: once the last reading is on chain, how many 30M-gas blocks the keeper's collect
        // and settle pages need at least (packed in order, starting in a block of their own).
        fig("intervals", "30M-gas blocks from the last reading to settlement", blocksNeeded(txs.map((r) => Number(r.gasUsed))), "blocks", hh, "collect + settle transactions packed in order");
        fig("intervals", "largest transaction", Math.max(...[...readTx, ...txs].map((r) => Number(r.gasUsed))), "gas", hh);
        fig("intervals", "clear + settle wall time, embedded chain", Math.round(wallMs), "ms", { ...hh, provider: standard ? "hardhat-ethers" : "demo" }, standard ? "the keeper as it runs: chain reads + gas estimate + collect/settle per page" : "demo provider: no gas estimation");
        log(`intervals: ${n} households: clear+settle ${clearGas.toLocaleString("en-US")} gas, ${(wallMs / 1000).toFixed(1)} s (${standard ? "standard" : "demo"} provider)`);
        t++;
      }
    }

    if (want("oracle")) {
      const n = Math.min(S.oracleMeters, community.members.length);
      stage(`oracle: ${n} meters`);
      log(`oracle: end-to-end with the daemon, ${n} meters`);
      await catchUp(t - 1);
      const members = community.members.slice(0, n);
      const dir = fs.mkdtempSync(path.join(os.tmpdir(), "gridledger-bench-oracle-"));
      const deployer = HDNodeWallet.fromMnemonic(Mnemonic.fromPhrase("test test test test test test test test test test test junk"), "m/44'/60'/0'/0/0");
      const password = "gridledger-bench-only";
      await writeKeystore(path.join(dir, "keys"), deployer, password, true);
      await writeKeystore(path.join(dir, "keys"), community.gateway, password, true);
      await goToInterval(core.readings, t + 1, 5);
      const marketStart = Number(await core.readings.marketStart());
      const I = Number(await core.readings.intervalSeconds());
      const boundary = marketStart + (t + 1) * I;
      const clock = { now: boundary + 5 };
      const oracle = await startOracle(
        parseConfig({
          network: network.name,
          keystoreDir: path.join(dir, "keys"),
          keystorePassword: password,
          submitter: deployer.address,
          gateway: community.gateway.address,
          readingsAddress: await core.readings.getAddress(),
          registryAddress: await core.registry.getAddress(),
          dbPath: path.join(dir, "oracle.sqlite"),
          meters: members.map((m, i) => ({ meterKey: `m${i}`, meterId: m.meterId })),
          pollMs: 50,
          boundaryGraceSeconds: 0,
          registryRefreshSeconds: 3_600,
          http: { enabled: false },
        }),
        { provider: new BrowserProvider(network.provider as never), now: () => clock.now, logger: pino({ level: "silent" }) },
      );
      try {
        const samples = members.map((m, i) => {
          const e = { importWh: BigInt(100 + (i % 50)), exportWh: BigInt(i % 3 === 0 ? 200 : 0) };
          m.importWhTotal += e.importWh;
          m.exportWhTotal += e.exportWh;
          return { source: "bench", meterKey: `m${i}`, timestamp: boundary, importWhTotal: m.importWhTotal, exportWhTotal: m.exportWhTotal };
        });
        const ingest0 = performance.now();
        for (const s of samples) oracle.pipeline.sample(s);
        const lastReceived = performance.now();
        let onChainAt = 0;
        for (;;) {
          if (Number(await core.readings.reportedCount(t)) >= n) {
            onChainAt = performance.now();
            break;
          }
          if (performance.now() - lastReceived > 600_000) throw new Error("oracle: readings not on chain after 10 minutes");
          await new Promise((r) => setTimeout(r, 10));
        }
        const cfg = oracle.config;
        const sizes = { meters: n, batchSize: cfg.batchSize, maxInFlight: cfg.maxInFlight, pollMs: cfg.pollMs };
        fig("oracle", "end-to-end: last reading received -> all on chain", Math.round(onChainAt - lastReceived), "ms", sizes, "real daemon (startOracle) on the embedded chain");
        fig("oracle", "pipeline time to take the interval's samples", Math.round(lastReceived - ingest0), "ms", sizes);
        const q = oracle.outbox.counts().quarantined;
        if (q) throw new Error(`oracle: ${q} readings quarantined`);
      } finally {
        await oracle.stop();
        fs.rmSync(dir, { recursive: true, force: true });
      }
    }
  }

  stage("");
  const targets = evaluateTargets(figures, S);
  const results: Results = {
    machine: {
      cpus: os.cpus().length,
      cpuModel: os.cpus()[0]?.model,
      memoryGiB: round(os.totalmem() / 2 ** 30, 1),
      platform: `${os.platform()} ${os.release()}`,
    },
    versions: {
      node: process.version,
      hardhat: require("hardhat/package.json").version,
      solc: hre.config.solidity.compilers[0]?.version ?? "",
      evm: hre.config.solidity.compilers[0]?.settings?.evmVersion ?? "",
      ethers: ethersVersion,
      betterSqlite3: require("better-sqlite3/package.json").version,
    },
    git: gitInfo(),
    date: new Date().toISOString(),
    network: network.name,
    mode: options.quick ? "quick" : "full",
    runtimeSeconds: Math.round((Date.now() - started) / 1000),
    figures,
    targets,
    breakdown,
    stageSeconds,
  };
  fs.mkdirSync(path.dirname(options.out), { recursive: true });
  const written = options.only ? mergeResults(options.out, results, options.only, S) : results;
  fs.writeFileSync(options.out, JSON.stringify(written, null, 2) + "\n");
  return results;
}

/**
 * A run of some scenarios (`--only`) replaces only their figures in an existing results file: the
 * other scenarios' figures, breakdowns and stage times stay, each scenario's run is recorded in
 * `scenarioRuns`, and the targets are evaluated on the merged figures.
 */
export function mergeResults(file: string, run: Results, only: Scenario[], S: ReturnType<typeof sizesFor>): Results {
  let prev: Results | undefined;
  try {
    prev = JSON.parse(fs.readFileSync(file, "utf8")) as Results;
  } catch {
    return run;
  }
  const kept = prev.figures.filter((f) => !only.includes(f.scenario));
  const figures = [...kept, ...run.figures].sort((a, b) => SCENARIOS.indexOf(a.scenario) - SCENARIOS.indexOf(b.scenario));
  const onChain = only.some((s) => s === "readings" || s === "orders" || s === "intervals");
  const scenarioRuns = { ...(prev.scenarioRuns ?? {}) };
  for (const s of only) scenarioRuns[s] = { date: run.date, commit: run.git.commit, dirty: run.git.dirty, mode: run.mode, runtimeSeconds: run.runtimeSeconds };
  return {
    ...prev,
    figures,
    targets: evaluateTargets(figures, S),
    breakdown: onChain ? run.breakdown : prev.breakdown,
    stageSeconds: { ...(prev.stageSeconds ?? {}), ...(run.stageSeconds ?? {}) },
    scenarioRuns,
  };
}

/** A provider for set-up transactions: a fixed gas limit instead of an estimate (no extra run). */
class FixedGasProvider extends BrowserProvider {
  static async connect(eip1193: Eip1193Provider): Promise<FixedGasProvider> {
    const chainId = BigInt((await eip1193.request({ method: "eth_chainId" })) as string);
    return new FixedGasProvider(eip1193, chainId, { staticNetwork: true, cacheTimeout: -1 });
  }

  override async estimateGas(): Promise<bigint> {
    return BigInt(BLOCK_GAS - 1_000_000);
  }
}

function round(x: number, d: number): number {
  const k = 10 ** d;
  return Math.round(x * k) / k;
}

function find(figures: Figure[], name: string, key: string, value: number): Figure | undefined {
  return figures.find((f) => f.name === name && f.sizes[key] === value);
}

export function evaluateTargets(figures: Figure[], S: ReturnType<typeof sizesFor>): Target[] {
  const target = (name: string, rule: string, measured: number | undefined, limit: number, unit: string, ok: (m: number) => boolean): Target => ({
    name,
    rule,
    measured,
    limit,
    unit,
    status: measured === undefined ? "not measured" : ok(measured) ? "met" : "not met",
  });
  const allIn1000 = find(figures, "all-in gas per household-interval", "households", 1_000)?.value;
  const settleBlocks1000 = find(figures, "30M-gas blocks from the last reading to settlement", "households", 1_000)?.value;
  const per100 = find(figures, "clear + settle gas per household", "households", 100)?.value;
  const per5000 = find(figures, "clear + settle gas per household", "households", 5_000)?.value;
  const order = figures.find((f) => f.name === "gas per order placed by transaction")?.value;
  const updated = figures.find((f) => f.name === "gas per order updated by transaction")?.value;
  const relayed = figures.find((f) => f.name === "gas per order placed by relayed signature")?.value;
  const ingest = figures.find((f) => f.name === "pipeline (validate + sign + outbox), disk")?.value;
  const ingestOutbox = figures.find((f) => f.name === "outbox insert path, pre-signed readings, tmpfs")?.value;
  const ingestGroup = figures.find((f) => f.name === "pipeline, group commit (validate + sign + outbox), disk")?.value;
  const rawDurable = figures.find((f) => f.name === "raw samples accepted per second, durable (disk)")?.value;
  const signedRate = figures.find((f) => f.name === "interval readings signed per second")?.value;
  const boundary = figures.find((f) => f.name === "boundary to all readings in the outbox, 5,000 meters at 1 Hz")?.value;
  const keeper5000 = find(figures, "off-chain clearing time (median)", "households", 5_000)?.value;
  void S;
  return [
    target("all-in gas per household-interval, 1,000 households", "<= 25,000", allIn1000, 25_000, "gas", (m) => m <= 25_000),
    target("clear + settle gas per household, 5,000 vs 100", "ratio <= 1.1", per100 && per5000 ? round(per5000 / per100, 3) : undefined, 1.1, "x", (m) => m <= 1.1),
    // Issue 16 (lean ledger): a member's first order, an update, a relayed first order.
    target("order placement by transaction", "<= 45,000", order, 45_000, "gas", (m) => m <= 45_000),
    target("blocks from the last reading to settlement, 1,000 households", "<= 2", settleBlocks1000, 2, "blocks", (m) => m <= 2),
    target("order update by transaction", "<= 30,000", updated, 30_000, "gas", (m) => m <= 30_000),
    target("order placement by relayed signature", "<= 55,000", relayed, 55_000, "gas", (m) => m <= 55_000),
    target("oracle ingest, full pipeline into the durable (disk) outbox", ">= 20,000", ingest, 20_000, "readings/s", (m) => m >= 20_000),
    target("oracle ingest, outbox insert path alone (tmpfs)", ">= 20,000", ingestOutbox, 20_000, "readings/s", (m) => m >= 20_000),
    target("oracle ingest, full pipeline, group commit of 100 (disk)", ">= 20,000", ingestGroup, 20_000, "readings/s", (m) => m >= 20_000),
    target("keeper off-chain clearing, 5,000 households (median)", "< 100", keeper5000, 100, "ms", (m) => m < 100),
    target("raw samples accepted per second, durable (disk)", ">= 20,000", rawDurable, 20_000, "samples/s", (m) => m >= 20_000),
    target("interval readings signed per second", ">= 5,000", signedRate, 5_000, "readings/s", (m) => m >= 5_000),
    target("boundary to all readings in the outbox, 5,000 meters at 1 Hz", "<= 2", boundary, 2, "s", (m) => m <= 2),
  ];
}

/** The table printed at the end of a run. */
export function renderTable(r: Results): string {
  const lines: string[] = [];
  const sizes = (s: Figure["sizes"]) => Object.entries(s).map(([k, v]) => `${k}=${typeof v === "number" ? v.toLocaleString("en-US") : v}`).join(" ");
  lines.push(`GridLedger bench (${r.mode}) on ${r.network}: ${r.machine.cpus} cpus, ${r.machine.memoryGiB} GiB, node ${r.versions.node}, hardhat ${r.versions.hardhat}, solc ${r.versions.solc} (${r.versions.evm}), commit ${r.git.commit.slice(0, 10)}${r.git.dirty ? "+dirty" : ""}, ${r.date}, ${r.runtimeSeconds} s`);
  lines.push("");
  lines.push(`${"scenario".padEnd(10)} ${"figure".padEnd(52)} ${"value".padStart(14)} ${"unit".padEnd(11)} sizes`);
  lines.push("-".repeat(120));
  for (const f of r.figures) {
    const v = Number.isInteger(f.value) ? f.value.toLocaleString("en-US") : String(f.value);
    lines.push(`${f.scenario.padEnd(10)} ${f.name.padEnd(52)} ${v.padStart(14)} ${f.unit.padEnd(11)} ${sizes(f.sizes)}${f.note ? `  (${f.note})` : ""}`);
  }
  lines.push("");
  lines.push("targets");
  lines.push("-".repeat(120));
  for (const t of r.targets) {
    const m = t.measured === undefined ? "-" : t.measured.toLocaleString("en-US");
    lines.push(`${t.status.toUpperCase().padEnd(13)} ${t.name.padEnd(62)} ${m.padStart(12)} ${t.unit.padEnd(11)} target ${t.rule}`);
  }
  if (r.breakdown.length) {
    lines.push("");
    lines.push("where the gas goes");
    lines.push("-".repeat(120));
    for (const b of r.breakdown) lines.push(...renderBreakdown(b.title, b.gas, b.per, b.unit), "");
  }
  return lines.join("\n") + "\n";
}
