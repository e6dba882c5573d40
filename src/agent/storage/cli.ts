/**
 * `gridledger agent storage`: the storage agent daemon for one battery (a member of kind
 * storage). The wallet (`-w`) is the battery's member wallet; it signs the orders.
 */
import * as path from "node:path";
import * as fs from "node:fs";
import type { Command } from "commander";
import { Ctx, type CliRuntime } from "../../cli/context";
import { deploymentsRoot, loadDeployment } from "../../sdk/deployments";
import { ConfigError } from "../../sdk/errors";
import { componentLogger } from "../../sdk/logger";
import type { EnergyMarket, MeterReadings } from "../../../typechain-types";
import { startStorageAgent } from "./daemon";
import { fixedStatus, mqttStatus, parseStatus, StatusSource } from "./status";

interface Flags {
  mqttUrl?: string;
  mqttTopic?: string;
  statusJson?: string;
  state?: string;
  dryRun?: boolean;
  margin: string;
  fallbackBuyShare: string;
  historyDays: string;
  orderSpan: string;
  pollMs: string;
  httpPort?: string;
  maxStatusAge: string;
}

/** A decimal credits amount per kWh ("0.005") in base units (6 decimals). */
function credits6(text: string, field: string, problems: string[]): bigint {
  const m = /^(\d+)(?:\.(\d{1,6}))?$/.exec(text.trim());
  if (!m) {
    problems.push(`${field}: must be a non-negative decimal with at most 6 decimals, got "${text}"`);
    return 0n;
  }
  return BigInt(m[1]) * 1_000_000n + BigInt((m[2] ?? "").padEnd(6, "0"));
}

function intIn(text: string, field: string, lo: number, hi: number, problems: string[]): number {
  const n = /^\d+$/.test(text.trim()) ? Number(text) : NaN;
  if (!Number.isSafeInteger(n) || n < lo || n > hi) problems.push(`${field}: must be a whole number in [${lo}, ${hi}], got "${text}"`);
  return n;
}

export function registerStorageAgent(program: Command, rt: CliRuntime): void {
  const agent = program.commands.find((c) => c.name() === "agent") ?? program.command("agent").description("daemons that trade for a member");
  agent
    .command("storage")
    .description("daemon: keep a battery's buy (charge) and sell (discharge) orders profitable, within its state of charge and power")
    .option("--mqtt-url <url>", "MQTT broker of the battery's gateway")
    .option("--mqtt-topic <topic>", "topic with the battery status JSON (socWh, capacityWh, powerW, efficiencies, timestamp)", "gridledger/storage/status")
    .option("--status-json <json|@file>", "a fixed battery status instead of MQTT (to try the agent, e.g. with --dry-run)")
    .option("--state <file>", "state file (last interval decided, event cursor)", ".gridledger/agent-storage.json")
    .option("--dry-run", "print each decision with its reason, send nothing")
    .option("--margin <credits>", "profit kept per kWh on every cycle", "0.005")
    .option("--fallback-buy-share <percent>", "buy limit without history: feed-in + this % of (retail - feed-in)", "30")
    .option("--history-days <n>", "past days of the same-time-of-day forecast", "7")
    .option("--order-span <n>", "intervals an order stays live after the one it is decided for", "96")
    .option("--poll-ms <ms>", "how often to look for a new interval", "15000")
    .option("--max-status-age <s>", "refuse a battery status older than this", "300")
    .option("--http-port <port>", "serve /healthz and /metrics on 127.0.0.1:<port>")
    .action(async (o: Flags, cmd: Command) => {
      const ctx = new Ctx(cmd, rt);
      const problems: string[] = [];
      const marginPerKWh = credits6(o.margin, "--margin", problems);
      const share = intIn(o.fallbackBuyShare, "--fallback-buy-share", 0, 100, problems);
      const historyDays = intIn(o.historyDays, "--history-days", 1, 60, problems);
      const orderSpanIntervals = intIn(o.orderSpan, "--order-span", 1, 100_000, problems);
      const pollMs = intIn(o.pollMs, "--poll-ms", 10, 3_600_000, problems);
      const maxAge = intIn(o.maxStatusAge, "--max-status-age", 1, 86_400, problems);
      const httpPort = o.httpPort === undefined ? undefined : intIn(o.httpPort, "--http-port", 0, 65_535, problems);
      if (!o.mqttUrl && !o.statusJson) problems.push("--mqtt-url or --status-json: the agent needs the battery's status");
      if (o.mqttUrl && o.statusJson) problems.push("--mqtt-url and --status-json: choose one");
      let fixed;
      if (o.statusJson) {
        try {
          fixed = parseStatus(o.statusJson.startsWith("@") ? fs.readFileSync(o.statusJson.slice(1), "utf8") : o.statusJson);
        } catch (e) {
          problems.push(`--status-json: ${(e as Error).message}`);
        }
      }
      if (problems.length) throw new ConfigError(problems);

      const log = componentLogger("agent-storage");
      await ctx.signer();
      const member = await ctx.address();
      const c = ctx.contracts;
      const record = loadDeployment(ctx.net.name, "EnergyMarket", deploymentsRoot(ctx.env));
      const source: StatusSource = fixed ? fixedStatus(fixed) : await mqttStatus({ url: o.mqttUrl!, topic: o.mqttTopic!, maxAgeSeconds: maxAge, logger: log });
      const daemon = await startStorageAgent({
        contracts: { market: c.market as unknown as EnergyMarket, readings: c.readings as unknown as MeterReadings, fromBlock: record.blockNumber },
        member,
        source,
        statePath: path.resolve(o.state!),
        dryRun: Boolean(o.dryRun),
        config: { marginPerKWh, fallbackBuySharePpm: BigInt(share) * 10_000n, historyDays, orderSpanIntervals },
        pollMs,
        httpPort,
        logger: log,
      });
      const stop = () => void daemon.stop();
      process.once("SIGTERM", stop);
      process.once("SIGINT", stop);
      await daemon.done;
    });
}
