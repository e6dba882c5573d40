/**
 * One community day on a chain, in one process: deploy with the production scripts, onboard
 * the community, then interval by interval move the chain's clock, feed the simulated meters
 * through the real oracle daemon, let members place and update orders from their wallets
 * (by transaction, or signed and relayed), and clear and settle with the keeper. The report
 * is built from the chain's events afterwards.
 *
 * Chains: the embedded Hardhat network (default) or any Hardhat JSON-RPC node
 * (`npx hardhat node`, `--network localhost`), where the demo moves the clock
 * (`evm_setNextBlockTimestamp`) and sets balances to run a day in a minute; or a real chain
 * (`--network poa`), where it waits for real interval ends, funds the wallets with transfers
 * from the deployer and talks to every node of POA_RPC_URL through the SDK's failover provider.
 */
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import type { HardhatRuntimeEnvironment } from "hardhat/types";
import { AbstractProvider, AbstractSigner, ContractTransactionResponse, JsonRpcSigner, Eip1193Provider, Wallet, id, toQuantity } from "ethers";
import type { CommunityCredit, CommunityRegistry, EnergyMarket, EnergyToken, MeterReadings } from "../../typechain-types";
import { settleInterval, KeeperContracts, loadClearingInput } from "../keeper/interval";
import { StorageAgent } from "../agent/storage/agent";
import { simulatorStatus } from "../agent/storage/status";
import { Battery, PPM, splitRoundTrip } from "../sim/battery";
import { dispatchBattery } from "../sim/dispatch";
import pino from "pino";
import { marketDomain, ORDER_INTENT_TYPES, OrderAction, Side } from "../sdk/eip712";
import { GridLedgerError } from "../sdk/errors";
import { makeProvider, resolveNetwork } from "../sdk/network";
import { ROLES } from "../sdk/roles";
import { MeterSimulator } from "../sim/household";
import { Clock, DemoProvider, isHardhatChain, realClock, simulatedClock } from "./chain";
import { DemoAuditInput, runAuditIfAvailable } from "./audit";
import { DemoCommunity, DemoMember, OrderPlan, planCommunity } from "./community";
import { OracleFeed } from "./feed";
import type { DemoOptions } from "./options";
import { Progress } from "./progress";
import { buildReport, ChainEvents, DemoReport, kWh, MemberInfo, plural, price, RunInfo, timeLabel } from "./report";

/** Credits in base units (6 decimals). */
const CREDIT = 1_000_000n;
/** Credits minted to every member, and deposited in the market by every member with a buy order. */
const MINT = 100n * CREDIT;
const DEPOSIT = 60n * CREDIT;
/** Seconds after an interval's end during which its readings are accepted (the operator's setting). */
const READING_DEADLINE_SECONDS = 120;
const ETH_FOR_GAS = 10n ** 21n;
/** On a real chain the deployer pays the wallets' gas money with transfers: 100 ETH each is plenty. */
const ETH_FOR_GAS_REAL = 10n ** 20n;
/** The demo's community battery: power 0.5 C (kW = kWh / 2), 90 % round trip, starts empty. */
const BATTERY_C_RATE_PPM = 500_000n;
const BATTERY_ROUND_TRIP_PPM = 900_000n;

/** What the community battery did in a run (`--battery-kwh`). */
export interface DemoBattery {
  name: string;
  address: string;
  capacityWh: bigint;
  powerW: bigint;
  roundTripPpm: bigint;
  /** Equivalent full cycles (energy discharged from store / capacity), ppm. */
  cyclesPpm: bigint;
  socStartWh: bigint;
  socEndWh: bigint;
  /** Order decisions the agent made and the order transactions it sent. */
  decisions: number;
  orderTxs: number;
}

export interface DemoStats {
  readingsAccepted: number;
  readingsRejected: number;
  oracleBatches: number;
  oracleRestarts: number;
  keeperTxs: number;
  keeperGas: bigint;
  ordersByTx: number;
  ordersSigned: number;
  orderUpdates: number;
}

export interface DemoResult {
  report: DemoReport;
  audit: string;
  /** Header lines printed above the chart. */
  summary: string[];
  stats: DemoStats;
  audited: DemoAuditInput;
  /** The community battery, when the run had one (`--battery-kwh`). */
  battery?: DemoBattery;
  /** Who did what: the operator (deployer), the oracle's submitter, the keeper and the order relayer. */
  accounts: { operator: string; oracle: string; keeper: string; relayer: string };
  elapsedMs: number;
}

export interface DemoIo {
  progress?: Progress;
  /** Daemon log level (stderr), default silent. */
  oracleLogLevel?: string;
  /**
   * On a Hardhat node (not the embedded chain) the demo moves the node's clock forward by hours
   * to run a day in a minute; every other user of the node sees that jump. Without this the demo
   * refuses to start there (`--move-clock`).
   */
  allowClockMove?: boolean;
}

/** The file that marks a deployment folder as the demo's own: only such a folder is ever replaced. */
export const DEMO_MARKER = ".gridledger-demo";

/**
 * Refuses to replace deployment records the demo did not write: `dir` may be missing, empty, or
 * hold the demo's marker. The error says how to proceed.
 */
export function checkDemoDeploymentFolder(dir: string): void {
  if (!fs.existsSync(dir)) return;
  const records = fs.readdirSync(dir).filter((f) => f.endsWith(".json"));
  if (records.length === 0 || fs.existsSync(path.join(dir, DEMO_MARKER))) return;
  throw new GridLedgerError(`the demo will not replace ${dir}: it holds a deployment the demo did not create (${records.length} records, no ${DEMO_MARKER} marker)`, {
    details: "give the demo its own records folder (npm run demo -- --deployments DIR; the default is deployments/demo), or delete that folder yourself if the community in it is disposable",
  });
}

interface Contracts {
  registry: CommunityRegistry;
  energy: EnergyToken;
  credit: CommunityCredit;
  readings: MeterReadings;
  market: EnergyMarket;
}

const wait = async (tx: Promise<ContractTransactionResponse>) => (await (await tx).wait())!;

/** Runs the demo on `hre`'s network and returns the report (printing is the caller's). */
export async function runDemo(hre: HardhatRuntimeEnvironment, options: DemoOptions, io: DemoIo = {}): Promise<DemoResult> {
  const started = Date.now();
  const { ethers, deployments, network } = hre;
  if (network.name !== "hardhat" && (await isHardhatChain(network.provider as Eip1193Provider)) && !io.allowClockMove) {
    throw new GridLedgerError(`the demo moves the clock of the node behind network ${network.name} forward by hours (evm_setNextBlockTimestamp); it refuses without --move-clock`, {
      details:
        "every other user of that node (daemons, a web app, another community) sees its time jump and its intervals pass. Start a node of your own " +
        "(GRIDLEDGER_NODE_BLOCK_MS=0 npx hardhat node --port 8546, LOCALHOST_RPC_URL=http://127.0.0.1:8546) and pass --move-clock, or run the demo on the embedded chain (no --network)",
    });
  }
  const chain = await connectChain(hre);
  const clockAtStart = await chain.clock.latest();
  const { provider, clock } = chain;
  const progress = io.progress ?? new Progress(options.intervals, false);
  const latestTime = () => clock.latest();
  const goTo = (target: number) => clock.goTo(target);

  // ---- 1. deploy with the production scripts, from the start of a fresh interval
  const lengthHint = Number(process.env.GRIDLEDGER_INTERVAL_SECONDS ?? 900) || 900;
  await goTo(Math.ceil((await latestTime()) / lengthHint) * lengthHint + 1);
  if (network.name === "hardhat") {
    await deployments.fixture(["core"]);
  } else {
    // A fresh community on the node, in the demo's own records folder (scripts/demo.ts points
    // paths.deployments at deployments/demo): never a deployment someone else made.
    const folder = path.join(hre.config.paths.deployments, network.name);
    checkDemoDeploymentFolder(folder);
    // hardhat-deploy creates the records root and the network folder without `recursive`: a root
    // whose parent does not exist yet (a fresh --deployments DIR) would lose the records silently.
    fs.mkdirSync(hre.config.paths.deployments, { recursive: true });
    await deployments.run(["core"], { resetMemory: true, deletePreviousDeployments: true, writeDeploymentsToFiles: true });
    fs.mkdirSync(folder, { recursive: true });
    fs.writeFileSync(path.join(folder, DEMO_MARKER), `written by npm run demo at ${new Date().toISOString()}\n`);
  }
  const operator = await chain.operator((await ethers.getSigners())[0].address);
  const record = async (name: string) => deployments.get(name);
  const at = async <T>(name: string) => (await ethers.getContractAt(name, (await record(name)).address, operator)) as unknown as T;
  const c: Contracts = {
    registry: await at<CommunityRegistry>("CommunityRegistry"),
    energy: await at<EnergyToken>("EnergyToken"),
    credit: await at<CommunityCredit>("CommunityCredit"),
    readings: await at<MeterReadings>("MeterReadings"),
    market: await at<EnergyMarket>("EnergyMarket"),
  };
  for (const role of ["OPERATOR_ROLE", "ISSUER_ROLE", "DEFAULT_ADMIN_ROLE"] as const) {
    if (!(await c.registry.hasRole(ROLES[role], operator.address))) {
      throw new GridLedgerError(`the demo's operator ${operator.address} lacks ${role}`, {
        details: "run the demo with the deployer as operator, issuer and admin (unset GRIDLEDGER_OPERATOR, GRIDLEDGER_ISSUER, GRIDLEDGER_ADMIN)",
      });
    }
  }
  const addresses = {
    registry: await c.registry.getAddress(),
    readings: await c.readings.getAddress(),
    market: await c.market.getAddress(),
    energy: await c.energy.getAddress(),
    credit: await c.credit.getAddress(),
  };
  const fromBlock = (await record("CommunityRegistry")).receipt?.blockNumber ?? 0;
  const { chainId } = await provider.getNetwork();
  const marketStart = Number(await c.readings.marketStart());
  const intervalSeconds = Number(await c.readings.intervalSeconds());
  const boundary = (t: number) => marketStart + (t + 1) * intervalSeconds;
  const intervalsPerDay = Math.round(86_400 / intervalSeconds);
  const startOfDayInterval = Math.floor((options.startHour * 3600) / intervalSeconds);

  const tariff = await c.market.tariffAt(await c.market.nextInterval());
  const community = planCommunity(options, { retailPerKWh: tariff.retailPerKWh, feedInPerKWh: tariff.feedInPerKWh });
  const { members, schedule } = community;
  // The community battery: a member of kind storage with its own meter, wallet and agent.
  const storage =
    options.batteryKWh > 0
      ? (() => {
          const capacityWh = BigInt(options.batteryKWh) * 1000n;
          const battery = new Battery({ capacityWh, powerW: (capacityWh * BATTERY_C_RATE_PPM) / PPM, ...splitRoundTrip(BATTERY_ROUND_TRIP_PPM), socWh: 0n }, intervalSeconds);
          return { name: "BATTERY", wallet: new Wallet(id(`gridledger-demo/${options.seed}/member/BATTERY`)), meterId: id(`gridledger-demo/${options.seed}/meter/BATTERY`), battery, decisions: 0, orderTxs: 0 };
        })()
      : undefined;
  const wallet = (w: Wallet) => w.connect(provider);
  const keeperWallet = wallet(community.keeper);
  const relayer = wallet(community.relayer);
  const stats: DemoStats = { readingsAccepted: 0, readingsRejected: 0, oracleBatches: 0, oracleRestarts: 0, keeperTxs: 0, keeperGas: 0n, ordersByTx: 0, ordersSigned: 0, orderUpdates: 0 };

  // ---- 2. operator: service accounts, roles, reading deadline, members and meters
  await chain.fund(operator, [community.oracle, community.keeper, community.relayer, ...members.map((m) => m.wallet), ...(storage ? [storage.wallet] : [])].map((w) => w.address));
  await wait(c.registry.grantRole(ROLES.ORACLE_ROLE, community.oracle.address));
  // With real time and short intervals, a shorter deadline (the demo waits for it when a meter is
  // refused), but three intervals at least: on a PoA chain the demo's transactions can run late.
  const deadlineSeconds = clock.kind === "real" ? Math.min(READING_DEADLINE_SECONDS, Math.max(60, 3 * intervalSeconds)) : READING_DEADLINE_SECONDS;
  await wait(c.readings.setReadingDeadlineSeconds(deadlineSeconds));

  const orderRange = { first: 0, last: 0 };
  const onboard = async (m: DemoMember) => {
    const h = m.household;
    await wait(c.registry.onboardMember(m.wallet.address, h.kind === "prosumer" ? 2 : 1, id(`gridledger-demo/identity/${h.name}`)));
    // The meter's registers as they stand now: its first reading is measured from them.
    const sim = meters.get(m)!;
    await wait(c.registry.registerMeter(m.meterId, m.wallet.address, community.gateway.address, h.maxPowerW, 1, sim.importWhTotal, sim.exportWhTotal));
    await wait(c.credit.mint(m.wallet.address, MINT));
    if (m.orders.some((o) => o.side === "buy")) {
      const w = wallet(m.wallet);
      await wait(c.credit.connect(w).approve(addresses.market, DEPOSIT));
      await wait(c.market.connect(w).deposit(DEPOSIT));
    }
  };
  const setOrder = async (m: DemoMember, o: OrderPlan, action: "place" | "update", first: number) => {
    const side = o.side === "buy" ? Side.Buy : Side.Sell;
    if (m.signs) {
      // The member signs an OrderIntent in its wallet; the relayer pays the gas.
      const intent = {
        member: m.wallet.address,
        action: action === "place" ? OrderAction.Place : OrderAction.Update,
        side,
        limitPricePerKWh: o.limitPricePerKWh,
        capWhPerInterval: o.capWhPerInterval,
        firstInterval: first,
        lastInterval: orderRange.last,
        nonce: await c.market.nonces(m.wallet.address),
        deadline: BigInt((await latestTime()) + 3600),
      };
      const signature = await m.wallet.signTypedData(marketDomain(chainId, addresses.market), ORDER_INTENT_TYPES, intent);
      await wait(c.market.connect(relayer).submitSignedOrder(intent, signature));
      stats.ordersSigned++;
    } else {
      const market = c.market.connect(wallet(m.wallet));
      const args = [side, o.limitPricePerKWh, o.capWhPerInterval, first, orderRange.last] as const;
      await wait(action === "place" ? market.placeOrder(...args) : market.updateOrder(...args));
      stats.ordersByTx++;
    }
    if (action === "update") stats.orderUpdates++;
  };

  // The simulated meters: registered with their registers at onboarding, read at every boundary.
  const meters = new Map(members.map((m) => [m, new MeterSimulator(m.household, { intervalSeconds, startInterval: startOfDayInterval })]));
  const early = members.filter((m) => m.joinsAt === undefined);
  for (const m of early) await onboard(m);
  if (storage) {
    // Kind 3 = Storage; the meter's plausibility limit is the battery's power (plus rounding room).
    await wait(c.registry.onboardMember(storage.wallet.address, 3, id("gridledger-demo/identity/BATTERY")));
    await wait(c.registry.registerMeter(storage.meterId, storage.wallet.address, community.gateway.address, storage.battery.spec.powerW + 100n, 1, storage.battery.importWhTotal, storage.battery.exportWhTotal));
    await wait(c.credit.mint(storage.wallet.address, MINT));
    const w = wallet(storage.wallet);
    await wait(c.credit.connect(w).approve(addresses.market, DEPOSIT));
    await wait(c.market.connect(w).deposit(DEPOSIT));
  }
  orderRange.first = Number(await c.market.nextInterval());
  orderRange.last = orderRange.first + options.intervals + intervalsPerDay;
  for (const m of early) for (const o of m.orders) await setOrder(m, o, "place", orderRange.first);

  // ---- 3. the oracle daemon and the keeper
  const reading = new Set<DemoMember>(early); // meters the oracle reads (registered)
  const firstReading = new Map<DemoMember, number>(); // a late joiner: the first interval its meter may read
  const feed = await OracleFeed.create({
    provider,
    network: network.name,
    readingsAddress: addresses.readings,
    registryAddress: addresses.registry,
    submitter: community.oracle,
    gateway: community.gateway,
    meters: [...members.map((m) => ({ meterKey: m.household.name, meterId: m.meterId })), ...(storage ? [{ meterKey: storage.name, meterId: storage.meterId }] : [])],
    now: () => clock.now(),
    logLevel: io.oracleLogLevel,
  });
  const keeper: KeeperContracts = {
    registry: c.registry,
    readings: c.readings,
    market: c.market.connect(keeperWallet),
    fromBlock,
  };
  // Like a keeper with a cursor: an interval's events are all after the block before its readings.
  let cursor = fromBlock;
  const settle = async (t: number) =>
    settleInterval({ ...keeper, fromBlock: cursor }, t, {
      pageSize: options.pageSize,
      onTx: (_kind, r) => {
        stats.keeperTxs++;
        stats.keeperGas += r.gasUsed;
      },
    });
  const sampleAll = async (t: number) => {
    const ts = boundary(t);
    cursor = await provider.getBlockNumber();
    // A meter registered after t ended (on a real-time chain, onboarding can outlast a short
    // interval) has no reading for t: its energy goes into its first reading, from the registers
    // it was registered with.
    const due = [...reading].filter((m) => (firstReading.get(m) ?? t) <= t);
    await feed.push(due.map((m) => ({ meterKey: m.household.name, timestamp: ts, importWhTotal: meters.get(m)!.importWhTotal, exportWhTotal: meters.get(m)!.exportWhTotal })));
    await feed.land();
  };
  // The battery follows the market (src/sim/dispatch.ts): with the households' readings of t on
  // chain, it meters exactly what its orders buy or sell in t; then its reading goes in.
  const sampleBattery = async (t: number | undefined) => {
    if (!storage) return;
    if (t !== undefined) {
      const input = await loadClearingInput({ ...keeper, fromBlock: cursor }, t);
      for (const side of [0, 1] as const) {
        const o = await c.market.orderOf(storage.wallet.address, side);
        if (o.orderId !== 0n && o.firstInterval <= BigInt(t) && BigInt(t) <= o.lastInterval) {
          input.orders.push({ orderId: o.orderId, member: storage.wallet.address, side: side === 0 ? "buy" : "sell", limitPricePerKWh: o.limitPricePerKWh, capWhPerInterval: o.capWhPerInterval });
        }
      }
      const flow = dispatchBattery(input, storage.wallet.address, storage.battery, await c.market.depositOf(storage.wallet.address));
      storage.battery.charge(flow.importWh);
      storage.battery.discharge(flow.exportWh);
    }
    await feed.push([{ meterKey: storage.name, timestamp: boundary(t ?? base), importWhTotal: storage.battery.importWhTotal, exportWhTotal: storage.battery.exportWhTotal }]);
    await feed.land();
  };
  const agentDir = storage ? fs.mkdtempSync(path.join(os.tmpdir(), "gridledger-demo-agent-")) : undefined;
  const agent = storage
    ? new StorageAgent({
        contracts: { market: c.market.connect(wallet(storage.wallet)), readings: c.readings, fromBlock },
        member: storage.wallet.address,
        source: simulatorStatus(storage.battery, () => clock.now()),
        statePath: path.join(agentDir!, "agent-storage.json"),
        logger: pino({ level: io.oracleLogLevel ?? "silent" }, pino.destination(2)),
      })
    : undefined;
  const socStartWh = storage?.battery.socWh ?? 0n;

  let base = -1;
  try {
    // First readings: every meter's registers at the end of the setup interval (no energy since registration).
    base = Number(await c.readings.currentInterval());
    await goTo(boundary(base) + 1);
    await sampleAll(base);
    await sampleBattery(undefined);
    for (let t = Number(await c.market.nextInterval()); t <= base; t++) await settle(t);
    progress.update(0, "community onboarded, first readings in");

    // ---- 4. the day
    const label = (k: number) => timeLabel({ intervalSeconds, startOfDayInterval } as RunInfo, k);
    for (let k = 0; k < options.intervals; k++) {
      const t = base + 1 + k;
      for (const m of members) {
        if (m.joinsAt === k) {
          await onboard(m);
          for (const o of m.orders) await setOrder(m, o, "place", t);
          await feed.restart(); // the daemon re-reads the registry: the new meter is known
          stats.oracleRestarts++;
          reading.add(m);
          firstReading.set(m, Number((await c.readings.meterState(m.meterId)).nextInterval));
          progress.note(`${label(k)}  ${m.household.name} joins the community (meter registered, orders signed and relayed)`);
        }
        if (m.suspendedAt === k) {
          await wait(c.registry.suspendMember(m.wallet.address));
          progress.note(`${label(k)}  ${m.household.name} suspended by the operator: its readings are refused`);
        }
        if (m.reinstatedAt === k) {
          await wait(c.registry.reinstateMember(m.wallet.address));
          progress.note(`${label(k)}  ${m.household.name} reinstated: its next reading carries the missed energy`);
        }
        if (schedule.updateAt === k && m.update) await setOrder(m, m.update, "update", t);
      }
      if (agent) {
        // The agent decides t's orders while t runs (they freeze at its end).
        const r = await agent.step();
        storage!.decisions++;
        storage!.orderTxs += (r.actions.buy !== "none" ? 1 : 0) + (r.actions.sell !== "none" ? 1 : 0);
      }
      for (const sim of meters.values()) sim.next();
      await goTo(boundary(t) + 1);
      await sampleAll(t);
      await sampleBattery(t);
      if (!(await c.readings.isReady(t))) await goTo(boundary(t) + deadlineSeconds + 1); // a meter was refused
      const out = await settle(t);
      progress.update(k + 1, `${label(k)} price ${out.matchedWh > 0n ? price(out.pricePerKWh) : "  -   "} P2P ${kWh(out.matchedWh).padStart(5)} kWh`);
    }
  } finally {
    await feed.close();
    if (agentDir) fs.rmSync(agentDir, { recursive: true, force: true });
  }

  // ---- 5. the report, from events
  const first = base + 1;
  const last = base + options.intervals;
  const m = c.market;
  const [events, accepted, rejected] = await Promise.all([
    readChainEvents(m, fromBlock),
    c.readings.queryFilter(c.readings.filters.ReadingAccepted(), fromBlock),
    c.readings.queryFilter(c.readings.filters.ReadingRejected(), fromBlock),
  ]);
  const run: RunInfo = { households: options.households, seed: options.seed, network: network.name, firstInterval: first, intervals: options.intervals, intervalSeconds, startOfDayInterval };
  const infos: MemberInfo[] = members.map((mb) => {
    const notes: string[] = [];
    if (mb.joinsAt !== undefined) notes.push(`joined ${timeLabel(run, mb.joinsAt)}`);
    if (mb.suspendedAt !== undefined) {
      notes.push(`suspended ${timeLabel(run, mb.suspendedAt)}-${mb.reinstatedAt !== undefined ? timeLabel(run, mb.reinstatedAt) : "end"}`);
    }
    if (mb.update) notes.push(`${mb.update.side} limit ${price(mb.orders.find((o) => o.side === mb.update!.side)!.limitPricePerKWh)} -> ${price(mb.update.limitPricePerKWh)} at ${timeLabel(run, schedule.updateAt!)}`);
    return { address: mb.wallet.address, name: mb.household.name, kind: mb.household.kind, pvPeakW: mb.household.pvPeakW, ordersBy: mb.signs ? "signed" : "tx", notes };
  });
  if (storage) {
    const b = storage.battery.spec;
    infos.push({ address: storage.wallet.address, name: storage.name, kind: "storage", pvPeakW: 0, ordersBy: "agent", notes: [`${kWh(b.capacityWh)} kWh, ${kWh(b.powerW)} kW`] });
  }
  const report = buildReport(run, events, infos);

  const inRun = (t: bigint) => Number(t) >= first && Number(t) <= last;
  const acceptedInRun = accepted.filter((e) => inRun(e.args.interval));
  stats.readingsAccepted = acceptedInRun.length;
  stats.readingsRejected = rejected.filter((e) => inRun(e.args.interval)).length;
  stats.oracleBatches = new Set(acceptedInRun.map((e) => e.transactionHash)).size;

  const audited: DemoAuditInput = { provider, network: network.name, addresses, fromBlock, firstInterval: first, lastInterval: last };
  const audit = await runAuditIfAvailable(audited);
  const summary = [
    `Contracts: market ${addresses.market}, readings ${addresses.readings} (chain interval ${first}-${last})`,
    `Oracle: ${plural(stats.readingsAccepted, "reading")} signed by the meter gateway and sent in ${plural(stats.oracleBatches, "batched transaction")} through the daemon's outbox` +
      (stats.readingsRejected ? `; ${stats.readingsRejected} refused on chain (owner suspended)` : ""),
    `Orders: ${stats.ordersByTx} sent by the member, ${stats.ordersSigned} signed by the member and relayed (of which ${plural(stats.orderUpdates, "mid-day update")}); ` +
      `keeper: ${plural(stats.keeperTxs, "transaction")}, ${(Number(stats.keeperGas) / 1e6).toFixed(1)} Mgas`,
  ];
  if (clock.kind === "simulated" && network.name !== "hardhat") {
    const moved = (await clock.latest()) - clockAtStart;
    summary.push(`Clock: the demo moved the node's clock forward by ${moved} s (${(moved / 3600).toFixed(1)} h); records in ${path.join(hre.config.paths.deployments, network.name)}`);
  }
  const accounts = { operator: operator.address, oracle: community.oracle.address, keeper: community.keeper.address, relayer: community.relayer.address };
  const battery: DemoBattery | undefined = storage && {
    name: storage.name,
    address: storage.wallet.address,
    capacityWh: storage.battery.spec.capacityWh,
    powerW: storage.battery.spec.powerW,
    roundTripPpm: (storage.battery.spec.chargeEfficiencyPpm * storage.battery.spec.dischargeEfficiencyPpm) / PPM,
    cyclesPpm: storage.battery.cyclesPpm,
    socStartWh,
    socEndWh: storage.battery.socWh,
    decisions: storage.decisions,
    orderTxs: storage.orderTxs,
  };
  if (battery) {
    summary.push(
      `Battery: ${kWh(battery.capacityWh)} kWh / ${kWh(battery.powerW)} kW, ${Number(battery.roundTripPpm) / 1e4} % round trip, a storage member whose agent made ${battery.decisions} decisions and sent ${plural(battery.orderTxs, "order transaction")}; ` +
        `SoC ${kWh(battery.socStartWh)} -> ${kWh(battery.socEndWh)} kWh, ${(Number(battery.cyclesPpm) / 1e6).toFixed(2)} cycles`,
    );
  }
  return { report, audit, summary, stats, audited, battery, accounts, elapsedMs: Date.now() - started };
}

interface DemoChain {
  provider: AbstractProvider;
  clock: Clock;
  /** The operator (the deployer), as a signer on `provider`. */
  operator(address: string): Promise<Wallet | JsonRpcSigner>;
  /** Gives every address gas money. */
  fund(operator: AbstractSigner, addresses: string[]): Promise<void>;
}

/**
 * A Hardhat chain gets the gas-saving `DemoProvider`, a simulated clock and `hardhat_setBalance`.
 * Any other chain gets the SDK's provider (for `poa`, failing over between the POA_RPC_URL nodes),
 * the real clock, the deployer's key as a local wallet and transfers for gas money.
 */
async function connectChain(hre: HardhatRuntimeEnvironment): Promise<DemoChain> {
  const eip1193 = hre.network.provider as Eip1193Provider;
  if (await isHardhatChain(eip1193)) {
    const provider = await DemoProvider.connect(eip1193);
    return {
      provider,
      clock: simulatedClock(provider),
      operator: (address) => provider.getSigner(address),
      async fund(_operator, addresses) {
        for (const a of addresses) await provider.send("hardhat_setBalance", [a, toQuantity(ETH_FOR_GAS)]);
      },
    };
  }
  const net = hre.network;
  const chainId = BigInt(net.config.chainId ?? Number(await eip1193.request({ method: "eth_chainId" })));
  const cfg = net.name === "poa" ? resolveNetwork({ name: "poa" }) : { name: "localhost" as const, chainId, urls: [(net.config as { url: string }).url] };
  const provider = makeProvider(cfg) as AbstractProvider;
  const keys = net.config.accounts;
  return {
    provider,
    clock: realClock(provider),
    async operator(address) {
      const key = Array.isArray(keys) ? keys.find((k): k is string => typeof k === "string" && new Wallet(k).address === address) : undefined;
      if (!key) {
        throw new GridLedgerError(`the demo needs the deployer's private key on network ${net.name}`, { details: "set POA_DEPLOYER_KEY (npm run poa:up writes it to .gridledger/poa/poa.env)" });
      }
      return new Wallet(key, provider);
    },
    async fund(operator, addresses) {
      let nonce = await provider.getTransactionCount(await operator.getAddress(), "pending");
      const sent = [];
      for (const to of addresses) {
        if ((await provider.getBalance(to)) >= ETH_FOR_GAS_REAL / 2n) continue;
        sent.push(await operator.sendTransaction({ to, value: ETH_FOR_GAS_REAL, nonce: nonce++ }));
      }
      await Promise.all(sent.map((tx) => tx.wait()));
    },
  };
}

/** The market events the demo report is built from (`buildReport`), from `fromBlock` on. */
export async function readChainEvents(m: EnergyMarket, fromBlock: number): Promise<ChainEvents> {
  const [cleared, traded, settled, intervalSettled] = await Promise.all([
    m.queryFilter(m.filters.IntervalCleared(), fromBlock),
    m.queryFilter(m.filters.Traded(), fromBlock),
    m.queryFilter(m.filters.MemberSettled(), fromBlock),
    m.queryFilter(m.filters.IntervalSettled(), fromBlock),
  ]);
  return {
    cleared: cleared.map((e) => ({
      interval: Number(e.args.interval),
      pricePerKWh: e.args.pricePerKWh,
      matchedWh: e.args.matchedWh,
      retailPerKWh: e.args.retailPerKWh,
      feedInPerKWh: e.args.feedInPerKWh,
      participants: Number(e.args.participants),
    })),
    traded: traded.map((e) => ({ interval: Number(e.args.interval), seller: e.args.seller, buyer: e.args.buyer, wh: e.args.wh, pricePerKWh: e.args.pricePerKWh, credits: e.args.credits })),
    settled: settled.map((e) => ({
      interval: Number(e.args.interval),
      member: e.args.member,
      selfSupplyWh: e.args.selfSupplyWh,
      soldWh: e.args.soldWh,
      boughtWh: e.args.boughtWh,
      gridExportWh: e.args.gridExportWh,
      gridImportWh: e.args.gridImportWh,
      paidCredits: e.args.paidCredits,
      receivedCredits: e.args.receivedCredits,
    })),
    intervalsSettled: intervalSettled.map((e) => Number(e.args.interval)),
  };
}
