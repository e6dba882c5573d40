#!/usr/bin/env ts-node
/**
 * `npx ts-node src/oracle/main.ts [flags]`: the meter oracle daemon. Configuration comes from
 * the environment (`.env`), flags override it; see `src/oracle/config.ts` and `.env.example`.
 * `npx ts-node src/oracle/main.ts quarantine --db <file>` lists refused payloads.
 */
import * as dotenv from "dotenv";
import { Command } from "commander";
import { ConfigError, isGridLedgerError } from "../sdk/errors";
import { componentLogger } from "../sdk/logger";
import { isReplayOnly, startOracle } from "./daemon";
import { loadConfig } from "./config";
import { listQuarantine } from "./outbox";

export { startOracle } from "./daemon";
export { listQuarantine, outboxStatus } from "./outbox";
export { loadConfig } from "./config";

/** The oracle's command (`gridledger oracle`, or standalone): the daemon, and `quarantine`. */
export function oracleCommand(name = "gridledger-oracle"): Command {
  const program = new Command(name).description("meter oracle daemon: read meters, sign readings, post them (and `quarantine`)");
  program
    .option("--network <name>", "network whose deployment records to use (localhost, poa)")
    .option("--rpc-url <urls>", "JSON-RPC URL(s), comma separated")
    .option("--db <file>", "SQLite outbox file")
    .option("--keystore-dir <dir>", "directory of encrypted keystore files")
    .option("--submitter <address>", "account that sends transactions (ORACLE_ROLE)")
    .option("--gateway <address>", "gateway key for meters without a key of their own")
    .option("--meters <json|@file>", "meter mapping: JSON array of {meterKey, meterId, signer?, maxPowerW?} or @file.json")
    .option("--mqtt-url <url>", "MQTT broker, e.g. mqtt://127.0.0.1:1883")
    .option("--dsmr <ports>", "P1 ports: /dev/ttyUSB0[=meterKey], tcp://host:port, or a file; comma separated")
    .option("--csv <files>", "CSV files to replay, comma separated")
    .option("--http-port <port>", "port of /healthz, /metrics and POST /readings (127.0.0.1)")
    .option("--batch-size <n>", "readings per transaction")
    .option("--confirmations <n>", "blocks before a reading counts as confirmed")
    .action(async (flags: Record<string, string | undefined>) => {
      const overrides: Record<string, unknown> = {};
      const env: NodeJS.ProcessEnv = { ...process.env };
      const map: Record<string, string> = {
        network: "GRIDLEDGER_NETWORK", rpcUrl: "GRIDLEDGER_RPC_URL", db: "GRIDLEDGER_ORACLE_DB", keystoreDir: "GRIDLEDGER_ORACLE_KEYSTORE_DIR",
        submitter: "GRIDLEDGER_ORACLE_SUBMITTER", gateway: "GRIDLEDGER_ORACLE_GATEWAY", meters: "GRIDLEDGER_ORACLE_METERS",
        mqttUrl: "GRIDLEDGER_ORACLE_MQTT_URL", dsmr: "GRIDLEDGER_ORACLE_DSMR", csv: "GRIDLEDGER_ORACLE_CSV", httpPort: "GRIDLEDGER_ORACLE_HTTP_PORT",
        batchSize: "GRIDLEDGER_ORACLE_BATCH_SIZE", confirmations: "GRIDLEDGER_ORACLE_CONFIRMATIONS",
      };
      // Flags go through the same parsing as the environment, then the one schema validates all.
      for (const [flag, name] of Object.entries(map)) if (flags[flag] !== undefined) env[name] = flags[flag];
      const config = loadConfig(overrides, env);
      const oracle = await startOracle(config);
      const log = componentLogger("oracle-main");
      if (isReplayOnly(config)) {
        // Only --csv: the daemon ends once the files are replayed and every reading is on chain.
        void oracle.drained().then(async () => {
          log.info({ outbox: oracle.outbox.counts() }, "replay done: every reading is confirmed; exiting");
          await oracle.stop();
          process.exit(0);
        });
      }
      // Runs until SIGTERM or SIGINT, then stops gracefully (finishes the batch, closes the outbox).
      await new Promise<void>((resolve) => {
        const onSignal = (sig: string) => {
          log.info({ signal: sig }, "signal received");
          oracle.stop().then(
            () => process.exit(0),
            (e) => (log.error({ err: (e as Error).message }, "stop failed"), process.exit(1)),
          );
        };
        process.once("SIGTERM", () => onSignal("SIGTERM"));
        process.once("SIGINT", () => onSignal("SIGINT"));
        void resolve;
      });
    });
  program
    .command("quarantine")
    .description("list refused payloads, samples and readings")
    .option("--db <file>", "SQLite outbox file", process.env.GRIDLEDGER_ORACLE_DB ?? ".gridledger/oracle.sqlite")
    .option("--meter <key>", "only this meter key")
    .option("--limit <n>", "at most n entries", "100")
    .option("--json", "JSON lines")
    .action((o: { db: string; meter?: string; limit: string; json?: boolean }) => {
      const rows = listQuarantine(o.db, { meterKey: o.meter, limit: Number(o.limit) });
      for (const r of rows) {
        if (o.json) console.log(JSON.stringify(r));
        else console.log(`${new Date(r.at * 1000).toISOString()}  ${r.source.padEnd(8)} ${(r.meterKey ?? "-").padEnd(24)} ${r.interval ?? "-"}  ${r.field}: ${r.reason}`);
      }
    });
  return program;
}

async function main(argv: string[]): Promise<void> {
  dotenv.config({ quiet: true } as dotenv.DotenvConfigOptions);
  await oracleCommand().parseAsync(argv);
}

if (require.main === module) {
  main(process.argv).catch((e) => {
    if (e instanceof ConfigError) console.error(e.message);
    else if (isGridLedgerError(e)) console.error(`${e.name}: ${e.message}`);
    else console.error(e);
    process.exit(1);
  });
}
