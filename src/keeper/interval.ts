/**
 * Clearing and settling one interval: read the chain, run the reference clearing, and drive
 * `collect` and `settle` page by page. Every step starts from the chain's own progress
 * (`intervalState`), so a killed keeper, a restarted keeper or two keepers at once never do
 * the work twice: a page another keeper already sent makes ours revert, and we re-read.
 */
import type { ContractTransactionReceipt } from "ethers";
import type { CommunityRegistry, EnergyMarket, MeterReadings } from "../../typechain-types";
import type { IEnergyMarket } from "../../typechain-types/contracts/market/EnergyMarket";
import { clearInterval as clearMarketInterval, ClearingInput, ClearingOrder } from "../sdk/clearing";
import { decodeRevertData, findRevertData } from "../sdk/decode-error";
import { continueWalkHint, HintItem, pages, walkHint } from "../sdk/hint";

export const Phase = { Open: 0, Collecting: 1, Settling: 2, Settled: 3 } as const;

export interface KeeperContracts {
  registry: CommunityRegistry;
  readings: MeterReadings;
  market: EnergyMarket;
  /** First block to scan for events (the deployment block). */
  fromBlock: number;
}

export interface IntervalOutcome {
  interval: number;
  pricePerKWh: bigint;
  matchedWh: bigint;
  participants: number;
  collectTxs: number;
  settleTxs: number;
  gasUsed: bigint;
}

export interface SettleOptions {
  /** Participants per `collect` page (and so per `settle` page). */
  pageSize?: number;
  /** Stop once pass 1 is complete (the price is fixed, nothing paid yet): settle later. */
  collectOnly?: boolean;
  /** Called after every transaction, for progress and metrics. */
  onTx?: (kind: "collect" | "settle", receipt: ContractTransactionReceipt) => void;
  /**
   * How long to wait for the interval to be ready again when the node answers that it is not
   * (ms, default 60 s). That happens on a multi-node chain after a failover: the node taken over
   * from had sealed the interval's last readings in a block the others never received; the
   * readings are in their transaction pools and come back within a few blocks.
   */
  notReadyWaitMs?: number;
  /** Poll period while waiting (ms, default 1 s). */
  pollMs?: number;
}

/**
 * The participants of `interval`: the member keys (`MeterReadings.memberKeyAt`) of the member
 * indexes with metered energy in its `ReadingAccepted` events, each once (a member with several
 * meters, or whose wallet migrated between two readings of the interval, is one participant).
 */
export async function participantsOf(c: KeeperContracts, interval: number): Promise<string[]> {
  const logs = await c.readings.queryFilter(c.readings.filters.ReadingAccepted(undefined, interval), c.fromBlock);
  const indexes = new Set<bigint>();
  for (const log of logs) {
    const { memberIndex, importWh, exportWh } = log.args;
    if (importWh === 0n && exportWh === 0n) continue;
    indexes.add(memberIndex);
  }
  return Promise.all([...indexes].map((i) => c.readings.memberKeyAt(i)));
}

/**
 * The reference clearing's input for `interval` from chain state, as the contract will see it
 * when collecting: positions, member status, and the orders and deposits frozen at the end of
 * `interval` (`orderAt`, `availableAt`: nothing a member does after the interval ended changes
 * them), and the tariffs in force. Members are keyed by member key, like the market's accounts.
 */
export async function loadClearingInput(c: KeeperContracts, interval: number): Promise<ClearingInput> {
  const participants = await participantsOf(c, interval);
  const tariff = await c.market.tariffAt(interval);
  const members: ClearingInput["members"] = [];
  const orders: ClearingOrder[] = [];
  await Promise.all(
    participants.map(async (participant) => {
      const [position, wallet] = await Promise.all([
        c.readings.positionOf(interval, participant),
        c.registry.walletOf(participant),
      ]);
      const [active, deposit, buy, sell] = await Promise.all([
        c.registry.isActiveMember(wallet),
        c.market.availableAt(participant, interval),
        c.market.orderAt(participant, 0, interval),
        c.market.orderAt(participant, 1, interval),
      ]);
      members.push({
        member: participant,
        importWh: position.importWh,
        exportWh: position.exportWh,
        active,
        availableCredits: deposit,
      });
      for (const [side, o] of [
        ["buy", buy],
        ["sell", sell],
      ] as const) {
        if (o.orderId !== 0n && o.firstInterval <= BigInt(interval) && BigInt(interval) <= o.lastInterval) {
          orders.push({
            orderId: o.orderId,
            member: participant,
            side,
            limitPricePerKWh: o.limitPricePerKWh,
            capWhPerInterval: o.capWhPerInterval,
          });
        }
      }
    }),
  );
  // Deterministic input order (Promise.all completion order is not).
  const rank = new Map(participants.map((p, i) => [p, i]));
  members.sort((a, b) => rank.get(a.member)! - rank.get(b.member)!);
  orders.sort((a, b) => (a.orderId < b.orderId ? -1 : a.orderId > b.orderId ? 1 : 0));
  return {
    interval,
    retailTariffPerKWh: tariff.retailPerKWh,
    feedInTariffPerKWh: tariff.feedInPerKWh,
    members,
    orders,
  };
}

/**
 * The entries pass 1 collected for `interval`, grouped by the page that collected them. Only what
 * was collected after the latest `CollectionRestarted` counts (a restart discards every page and
 * entry before it, including the entries of the restarting transaction itself).
 */
export async function collectedPages(c: KeeperContracts, interval: number): Promise<IEnergyMarket.EntryStruct[][]> {
  const [entryLogs, pageLogs, restartLogs] = await Promise.all([
    c.market.queryFilter(c.market.filters.EntryCollected(interval), c.fromBlock),
    c.market.queryFilter(c.market.filters.PageCollected(interval), c.fromBlock),
    c.market.queryFilter(c.market.filters.CollectionRestarted(interval), c.fromBlock),
  ]);
  const after = (l: { blockNumber: number; index: number }, r: { blockNumber: number; index: number }) =>
    l.blockNumber > r.blockNumber || (l.blockNumber === r.blockNumber && l.index > r.index);
  const last = restartLogs.reduce<(typeof restartLogs)[number] | undefined>((m, r) => (!m || after(r, m) ? r : m), undefined);
  const current = <T extends { blockNumber: number; index: number }>(logs: T[]) => (last ? logs.filter((l) => after(l, last)) : logs);
  const entries: IEnergyMarket.EntryStruct[] = current(entryLogs).map((l) => ({
    member: l.args.member,
    tag: l.args.tag,
    orderId: l.args.orderId,
    qtyWh: l.args.qtyWh,
    pricePerKWh: l.args.pricePerKWh,
    importWh: l.args.importWh,
    exportWh: l.args.exportWh,
  }));
  const out: IEnergyMarket.EntryStruct[][] = [];
  let from = 0;
  for (const p of [...current(pageLogs)].sort((a, b) => Number(a.args.page - b.args.page))) {
    const to = Number(p.args.collected);
    out.push(entries.slice(from, to));
    from = to;
  }
  return out;
}

/**
 * The hint for `interval` from collection index `done` on. From the start it is the walk order of
 * the reference clearing. Resuming a collection (another keeper's, or ours after a failure), the
 * collected prefix is fixed as the contract took it, while the rest is computed from the chain
 * state now: a member suspended or a wallet migrated between pages changes the full walk order,
 * so slicing a fresh walk order at `done` could repeat or skip participants (and loop for ever).
 */
async function remainingHint(c: KeeperContracts, interval: number, done: number): Promise<HintItem[]> {
  const input = await loadClearingInput(c, interval);
  if (done === 0) return walkHint(clearMarketInterval(input));
  const collected = (await collectedPages(c, interval)).flat();
  // Entries and participants are both member keys, stable across wallet migrations.
  const done_ = new Set(collected.map((e) => String(e.member).toLowerCase()));
  const rest = input.members.filter((m) => !done_.has(m.member.toLowerCase()));
  const restSet = new Set(rest.map((m) => m.member.toLowerCase()));
  const restClearing = clearMarketInterval({
    ...input,
    members: rest,
    orders: input.orders.filter((o) => restSet.has(o.member.toLowerCase())),
  });
  return continueWalkHint(
    collected.map((e) => ({ tag: Number(e.tag), qtyWh: BigInt(e.qtyWh), pricePerKWh: BigInt(e.pricePerKWh) })),
    restClearing,
  );
}

/**
 * Reverts that mean the chain is not where our reading of it said: another keeper sent the same
 * page first, or (after a failover or a reorg) the node now answering had a different view when
 * the hint was built. Re-reading the chain and going on from there is the answer to each.
 */
const STALE_VIEW = new Set([
  "MarketSettleMismatch",
  "MarketWrongPhase",
  "MarketWrongInterval",
  "MarketHintDuplicate",
  "MarketHintTooMany",
  "MarketHintNotParticipant",
  "MarketHintWrongTag",
  "MarketHintNotSorted",
  "MarketEmptyPage",
  "MarketPageTooSmall",
]);

/**
 * The custom error's name in a revert. A node's answer to `eth_estimateGas` carries only the
 * raw revert data (ethers does not decode it with the contract's ABI), the embedded chain puts
 * the name in its message: both are recognised.
 */
export function revertName(e: unknown): string | undefined {
  const data = findRevertData(e);
  if (data) {
    const decoded = decodeRevertData(data);
    if (decoded) return decoded.errorName;
  }
  const msg = String((e as { message?: string })?.message ?? e);
  return /custom error '?(\w+)\(/.exec(msg)?.[1];
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/**
 * Clears and settles `interval` (which must be the market's next interval and ready), resuming
 * from wherever the chain stands. Returns the outcome; throws on a revert that is not a race
 * with another keeper.
 */
export async function settleInterval(
  c: KeeperContracts,
  interval: number,
  options: SettleOptions = {},
): Promise<IntervalOutcome> {
  // The market refuses collect pages below min(participants left, minCollectPage).
  const pageSize = Math.max(options.pageSize ?? 200, Number(await c.market.minCollectPage()));
  const outcome: IntervalOutcome = {
    interval,
    pricePerKWh: 0n,
    matchedWh: 0n,
    participants: 0,
    collectTxs: 0,
    settleTxs: 0,
    gasUsed: 0n,
  };
  const record = (kind: "collect" | "settle", r: ContractTransactionReceipt | null) => {
    if (!r) return;
    outcome.gasUsed += r.gasUsed;
    if (kind === "collect") outcome.collectTxs++;
    else outcome.settleTxs++;
    options.onTx?.(kind, r);
  };

  let hint: HintItem[] | undefined;
  let hintFrom = 0; // hint[0] is the participant at this collection index
  let hintRestarts = 0; // the chain's restart count when the hint was built
  let collected: IEnergyMarket.EntryStruct[][] | undefined;
  let lastProgress = "";
  let racesWithoutProgress = 0;
  for (let guard = 0; guard < 100_000; guard++) {
    const st = await c.market.intervalState(interval);
    const phase = Number(st.phase);
    const next = Number(await c.market.nextInterval());
    if (phase === Phase.Settled || next > interval) break;
    if (options.collectOnly && phase === Phase.Settling) break;

    try {
      if (phase === Phase.Open || phase === Phase.Collecting) {
        const done = Number(st.collected);
        // A restart (CollectionRestarted: someone's page closed a side too early) discards the
        // collected prefix our hint continued from: build it again from the start.
        if (!hint || Number(st.restarts) !== hintRestarts) {
          hintFrom = done;
          hintRestarts = Number(st.restarts);
          hint = await remainingHint(c, interval, done);
        }
        const page = hint.slice(done - hintFrom, done - hintFrom + pageSize);
        const tx = await c.market.collect(interval, page);
        record("collect", await tx.wait());
      } else {
        // Read pass 1's entries once per interval, not once per page (pages x households).
        collected ??= await collectedPages(c, interval);
        const k = Number(st.pagesSettled);
        const tx = await c.market.settle(interval, collected[k]);
        record("settle", await tx.wait());
      }
    } catch (e) {
      const name = revertName(e);
      if (name === "MarketIntervalNotReady") {
        // The node answering now lacks some of the interval's readings (see notReadyWaitMs).
        const deadline = Date.now() + (options.notReadyWaitMs ?? 60_000);
        while (!(await c.readings.isReady(interval))) {
          if (Date.now() > deadline) throw e;
          await sleep(options.pollMs ?? 1_000);
        }
      } else if (!name || !STALE_VIEW.has(name)) {
        throw e;
      } else {
        await sleep(Math.min(options.pollMs ?? 250, 250)); // let a node that is behind catch up
      }
      // A race means another keeper moved the interval on; the same "race" with no progress on
      // chain means our own hint is wrong: stop rather than spin.
      const progress = `${st.phase}:${st.collected}:${st.pagesSettled}`;
      racesWithoutProgress = progress === lastProgress ? racesWithoutProgress + 1 : 1;
      lastProgress = progress;
      if (racesWithoutProgress >= 5) throw e;
      hint = undefined; // another keeper moved on: re-read and go on from there
      collected = undefined;
    }
  }
  const st = await c.market.intervalState(interval);
  outcome.pricePerKWh = st.pricePerKWh;
  outcome.matchedWh = st.matchedWh;
  outcome.participants = Number(st.participants);
  return outcome;
}

export { pages };
