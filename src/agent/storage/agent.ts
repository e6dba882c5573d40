/**
 * The storage agent's step: once per interval, while the interval is running (its orders freeze
 * at its end), read the battery's status, the tariffs, the market's history and the battery's
 * own orders from the chain, decide (`strategy.ts`), and bring the chain's orders to the
 * decision with as few transactions as possible: nothing when the live order already says the
 * same, `updateOrder` when it differs, `placeOrder` when there is none, `cancelOrder` when the
 * decision has no order on that side.
 *
 * Restart safety: the chain is the truth about orders. The state file records the last interval
 * decided and the event cursor; after a crash (even between a transaction and the state write)
 * the agent re-reads its orders from the chain, finds the decision already carried out and sends
 * nothing: no duplicate order, ever (the contract also holds one order per member and side).
 */
import * as fs from "node:fs";
import * as path from "node:path";
import type { ContractTransactionResponse } from "ethers";
import type { EnergyMarket, MeterReadings } from "../../../typechain-types";
import { GridLedgerError } from "../../sdk/errors";
import { componentLogger, Logger } from "../../sdk/logger";
import { forecast, IntervalHistory } from "./forecast";
import { decide, Decision, OrderDecision } from "./strategy";
import type { StatusSource } from "./status";

export interface AgentContracts {
  /** Connected to the storage member's wallet (it signs the orders). */
  market: EnergyMarket;
  readings: MeterReadings;
  /** First block to scan for events (the market's deployment block). */
  fromBlock: number;
}

export interface AgentConfig {
  /** Profit kept per kWh sold on every cycle (credit base units), default 5,000 (0.005). */
  marginPerKWh: bigint;
  /** Tariff fallback of the buy limit, ppm of the spread above feed-in, default 300,000 (30 %). */
  fallbackBuySharePpm: bigint;
  /** Past days the forecast averages over, default 7. */
  historyDays: number;
  /** Intervals ahead the forecast covers, default one day. */
  horizonIntervals?: number;
  /** Intervals an order stays live after the one it is decided for, default 96 (a safety net if the agent stops). */
  orderSpanIntervals: number;
}

export const DEFAULT_AGENT_CONFIG: AgentConfig = { marginPerKWh: 5_000n, fallbackBuySharePpm: 300_000n, historyDays: 7, orderSpanIntervals: 96 };

export interface AgentState {
  version: 1;
  member: string;
  /** Last interval whose orders were decided and carried out. */
  lastInterval: number;
  /** Next block to read events from. */
  cursorBlock: number;
}

export type OrderAction = "none" | "place" | "update" | "cancel";

export interface StepResult {
  interval: number;
  decision?: Decision;
  actions: { buy: OrderAction; sell: OrderAction };
  /** True when nothing was due (the interval was decided already). */
  skipped: boolean;
  dryRun: boolean;
}

const SIDE = { buy: 0, sell: 1 } as const;

/** Reads and writes the state file atomically (write, fsync, rename). */
export class StateFile {
  constructor(readonly file: string) {}

  load(member: string, fromBlock: number): AgentState {
    if (!fs.existsSync(this.file)) return { version: 1, member, lastInterval: -1, cursorBlock: fromBlock };
    let s: AgentState;
    try {
      s = JSON.parse(fs.readFileSync(this.file, "utf8"));
    } catch (e) {
      throw new GridLedgerError(`the storage agent's state file ${this.file} is not valid JSON`, { details: "move it away to start afresh (the agent re-reads its orders from the chain)", cause: e });
    }
    if (s.member?.toLowerCase() !== member.toLowerCase()) {
      throw new GridLedgerError(`the state file ${this.file} belongs to ${s.member}, not ${member}`, { details: "use one state file per storage member (--state)" });
    }
    return s;
  }

  save(s: AgentState): void {
    fs.mkdirSync(path.dirname(path.resolve(this.file)), { recursive: true });
    const tmp = `${this.file}.tmp`;
    const fd = fs.openSync(tmp, "w");
    try {
      fs.writeSync(fd, JSON.stringify(s, null, 2));
      fs.fsyncSync(fd);
    } finally {
      fs.closeSync(fd);
    }
    fs.renameSync(tmp, this.file);
  }
}

export interface StorageAgentOptions {
  contracts: AgentContracts;
  /** The storage member (the wallet the market is connected with). */
  member: string;
  source: StatusSource;
  statePath: string;
  config?: Partial<AgentConfig>;
  /** Print the decisions, send nothing, write no state. */
  dryRun?: boolean;
  logger?: Logger;
  /** Test hook: called after each order transaction is mined, before the state is written. */
  afterTx?: (side: "buy" | "sell", action: OrderAction) => Promise<void> | void;
}

export class StorageAgent {
  readonly config: AgentConfig;
  private readonly log: Logger;
  private readonly stateFile: StateFile;
  private state?: AgentState;
  private history = new Map<number, IntervalHistory>();
  /** The battery's own purchases: interval -> [Wh, credits]. */
  private purchases = new Map<number, [bigint, bigint]>();
  /** History is rebuilt from the chain once per process (the cursor then moves on). */
  private historyLoaded = false;
  lastDecision?: Decision;

  constructor(private readonly o: StorageAgentOptions) {
    this.config = { ...DEFAULT_AGENT_CONFIG, ...o.config };
    this.log = o.logger ?? componentLogger("agent-storage");
    this.stateFile = new StateFile(o.statePath);
  }

  /** Reads new `IntervalCleared`, `MemberSettled` and `Traded` events into the history. */
  private async readHistory(): Promise<void> {
    const m = this.o.contracts.market;
    const from = this.state!.cursorBlock;
    const to = await m.runner!.provider!.getBlockNumber();
    if (to < from) return;
    const me = this.o.member.toLowerCase();
    const [cleared, settled, bought] = await Promise.all([
      m.queryFilter(m.filters.IntervalCleared(), from, to),
      m.queryFilter(m.filters.MemberSettled(), from, to),
      m.queryFilter(m.filters.Traded(undefined, undefined, this.o.member), from, to),
    ]);
    const get = (t: number) => {
      let h = this.history.get(t);
      if (!h) this.history.set(t, (h = { interval: t, pricePerKWh: 0n, matchedWh: 0n, surplusWh: 0n, deficitWh: 0n }));
      return h;
    };
    for (const e of cleared) Object.assign(get(Number(e.args.interval)), { pricePerKWh: e.args.pricePerKWh, matchedWh: e.args.matchedWh });
    for (const e of settled) {
      if (e.args.member.toLowerCase() === me) continue;
      const h = get(Number(e.args.interval));
      h.surplusWh += e.args.gridExportWh;
      h.deficitWh += e.args.gridImportWh;
    }
    for (const e of bought) {
      const t = Number(e.args.interval);
      const [wh, cr] = this.purchases.get(t) ?? [0n, 0n];
      this.purchases.set(t, [wh + e.args.wh, cr + e.args.credits]);
    }
    this.state!.cursorBlock = to + 1;
  }

  /** Average price per kWh the battery paid over the history window (0n: none). */
  private costBasis(interval: number, intervalsPerDay: number): bigint {
    let wh = 0n;
    let credits = 0n;
    const since = interval - this.config.historyDays * intervalsPerDay;
    for (const [t, [w, c]] of this.purchases) {
      if (t < since) continue;
      wh += w;
      credits += c;
    }
    return wh === 0n ? 0n : (credits * 1000n + wh - 1n) / wh;
  }

  /** Decides the orders for the running interval and carries the decision out (once per interval). */
  async step(): Promise<StepResult> {
    const { market, readings, fromBlock } = this.o.contracts;
    const dryRun = Boolean(this.o.dryRun);
    this.state ??= this.stateFile.load(this.o.member, fromBlock);
    if (!this.historyLoaded) {
      this.state.cursorBlock = fromBlock; // a fresh process rebuilds its history from the chain
      this.historyLoaded = true;
    }
    const interval = Number(await readings.currentInterval());
    if (this.state.lastInterval >= interval) return { interval, actions: { buy: "none", sell: "none" }, skipped: true, dryRun };

    const [status, tariff, deposit, intervalSeconds, next] = await Promise.all([
      this.o.source.read(),
      market.tariffAt(interval),
      market.depositOf(this.o.member),
      readings.intervalSeconds(),
      market.nextInterval(),
    ]);
    await this.readHistory();
    const perDay = Math.max(1, Math.round(86_400 / Number(intervalSeconds)));
    const history = [...this.history.values()].filter((h) => h.interval >= interval - this.config.historyDays * perDay);
    const decision = decide({
      interval,
      intervalSeconds: Number(intervalSeconds),
      spec: status.spec,
      socWh: status.socWh,
      tariffs: { retailPerKWh: tariff.retailPerKWh, feedInPerKWh: tariff.feedInPerKWh },
      forecast: forecast(history, { from: interval, horizon: this.config.horizonIntervals ?? perDay, intervalsPerDay: perDay, days: this.config.historyDays }),
      costBasisPerKWh: this.costBasis(interval, perDay),
      marginPerKWh: this.config.marginPerKWh,
      fallbackBuySharePpm: this.config.fallbackBuySharePpm,
      depositCredits: deposit,
    });
    this.lastDecision = decision;

    const actions = { buy: "none" as OrderAction, sell: "none" as OrderAction };
    for (const side of ["sell", "buy"] as const) {
      const want = decision[side];
      const have = await market.orderOf(this.o.member, SIDE[side]);
      const exists = have.orderId !== 0n && have.lastInterval >= next;
      const same =
        exists && want && have.limitPricePerKWh === want.limitPricePerKWh && have.capWhPerInterval === want.capWhPerInterval && Number(have.firstInterval) <= interval && Number(have.lastInterval) >= interval;
      const action: OrderAction = want ? (same ? "none" : exists ? "update" : "place") : exists ? "cancel" : "none";
      actions[side] = action;
      if (action === "none" || dryRun) continue;
      await this.send(side, action, want, interval);
      await this.o.afterTx?.(side, action);
    }
    this.log.info(
      {
        interval,
        dryRun,
        socWh: status.socWh.toString(),
        buy: fmt(decision.buy),
        sell: fmt(decision.sell),
        actions,
        basis: Object.fromEntries(Object.entries(decision.basis).map(([k, v]) => [k, typeof v === "bigint" ? v.toString() : v])),
        reasons: decision.reasons,
      },
      dryRun ? "decision (dry run: nothing sent)" : "decision",
    );
    if (!dryRun) {
      this.state.lastInterval = interval;
      this.stateFile.save(this.state);
    }
    return { interval, decision, actions, skipped: false, dryRun };
  }

  private async send(side: "buy" | "sell", action: OrderAction, want: OrderDecision | undefined, interval: number): Promise<void> {
    const m = this.o.contracts.market;
    const wait = async (tx: Promise<ContractTransactionResponse>) => (await tx).wait();
    const last = interval + this.config.orderSpanIntervals;
    if (action === "cancel") await wait(m.cancelOrder(SIDE[side]));
    else if (action === "update") await wait(m.updateOrder(SIDE[side], want!.limitPricePerKWh, want!.capWhPerInterval, interval, last));
    else await wait(m.placeOrder(SIDE[side], want!.limitPricePerKWh, want!.capWhPerInterval, interval, last));
  }
}

const fmt = (o?: OrderDecision) => (o ? { limitPricePerKWh: o.limitPricePerKWh.toString(), capWhPerInterval: o.capWhPerInterval.toString() } : null);
