/**
 * `gridledger keeper` (the daemon) and `gridledger settle --interval T` (one shot).
 */
import type { Command } from "commander";
import { Ctx, type CliRuntime } from "../cli/context";
import { deploymentsRoot, loadDeployment } from "../sdk/deployments";
import { ValidationError } from "../sdk/errors";
import { componentLogger } from "../sdk/logger";
import type { CommunityRegistry, EnergyMarket, MeterReadings } from "../../typechain-types";
import { startKeeper } from "./daemon";
import { KeeperContracts, Phase, settleInterval } from "./interval";

function positiveInt(value: string | undefined, field: string, fallback: number): number {
  if (value === undefined) return fallback;
  if (!/^\d+$/.test(value) || Number(value) <= 0) throw new ValidationError(field, `must be a positive whole number, got "${value}"`);
  return Number(value);
}

async function keeperContracts(ctx: Ctx): Promise<KeeperContracts> {
  await ctx.signer();
  // "no contract at 0x... on <network>" rather than a decoding error on the first call.
  for (const name of ["CommunityRegistry", "MeterReadings", "EnergyMarket"] as const) await ctx.requireCode(name);
  const c = ctx.contracts;
  const market = loadDeployment(ctx.net.name, "EnergyMarket", deploymentsRoot(ctx.env));
  return {
    registry: c.registry as unknown as CommunityRegistry,
    readings: c.readings as unknown as MeterReadings,
    market: c.market as unknown as EnergyMarket,
    fromBlock: market.blockNumber,
  };
}

export function registerKeeper(program: Command, rt: CliRuntime): void {
  program
    .command("keeper")
    .description("daemon: clear and settle every interval as soon as it is ready (anyone may run one)")
    .option("--page-size <n>", "participants per collect/settle transaction", "200")
    .option("--poll-ms <ms>", "how often to look for a ready interval", "5000")
    .option("--http-port <port>", "serve /healthz and /metrics on 127.0.0.1:<port>")
    .action(async (o: { pageSize: string; pollMs: string; httpPort?: string }, cmd: Command) => {
      const ctx = new Ctx(cmd, rt);
      const contracts = await keeperContracts(ctx);
      const keeper = await startKeeper({
        contracts,
        pageSize: positiveInt(o.pageSize, "--page-size", 200),
        pollMs: positiveInt(o.pollMs, "--poll-ms", 5000),
        httpPort: o.httpPort === undefined ? undefined : Number(o.httpPort),
        logger: componentLogger("keeper"),
        expectedChainId: ctx.net.chainId,
      });
      const stop = () => void keeper.stop();
      process.once("SIGTERM", stop);
      process.once("SIGINT", stop);
      await keeper.done;
    });

  program
    .command("settle")
    .description("clear and settle the market's intervals up to --interval T, once (resumes half-done work)")
    .requiredOption("--interval <T>", "last interval to settle (a number, now-1, ...)")
    .option("--page-size <n>", "participants per collect/settle transaction", "200")
    .action(async (o: { interval: string; pageSize: string }, cmd: Command) => {
      const ctx = new Ctx(cmd, rt);
      const target = await ctx.interval(o.interval, "--interval");
      const contracts = await keeperContracts(ctx);
      const pageSize = positiveInt(o.pageSize, "--page-size", 200);
      const done = [];
      for (;;) {
        const next = Number(await contracts.market.nextInterval());
        if (next > target) break;
        const phase = Number((await contracts.market.intervalState(next)).phase);
        if (phase === Phase.Open && !(await contracts.readings.isReady(next))) {
          const [reported, expected] = await Promise.all([
            contracts.readings.reportedCount(next),
            contracts.registry.activeMeterCount(),
          ]);
          throw new ValidationError(
            "--interval",
            `interval ${next} is not ready: ${reported} of ${expected} meters reported and its reading deadline has not passed` +
              (next < target ? ` (settled up to ${next - 1})` : ""),
          );
        }
        const out = await ctx.read("EnergyMarket", () => settleInterval(contracts, next, { pageSize }));
        done.push(out);
        ctx.log(`interval ${next}: price ${out.pricePerKWh} per kWh, ${out.matchedWh} Wh traded, ${out.participants} participants, ${out.collectTxs + out.settleTxs} tx`);
      }
      ctx.out(done.length ? `settled ${done.length} interval(s), up to ${target}` : `nothing to do: intervals up to ${target} are settled`, done);
    });
}
