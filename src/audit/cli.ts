/**
 * `gridledger audit ...`: commander registration. `registerAudit(program)` adds the `audit`
 * command with its subcommands to any program (the `gridledger` CLI, `src/audit/main.ts`).
 *
 * Every subcommand first brings the index up to date (unless `--offline`), then answers from the
 * rebuilt state. `audit verify` sets a non-zero exit code and prints one line per violation.
 *
 * Settings (flag, then environment, then default):
 *   --rpc-url        GRIDLEDGER_RPC_URL         http://127.0.0.1:8545 (the first of a comma list)
 *   --network        GRIDLEDGER_NETWORK         localhost   (deployments/<network>)
 *   --deployments    GRIDLEDGER_DEPLOYMENTS_DIR deployments/<network>
 *   --db             GRIDLEDGER_AUDIT_DB        .gridledger/audit-<network>.sqlite
 *   --block-range    GRIDLEDGER_AUDIT_BLOCK_RANGE   2000
 *   --reorg-window   GRIDLEDGER_AUDIT_REORG_WINDOW  64
 *   --confirmations  GRIDLEDGER_AUDIT_CONFIRMATIONS 0
 */
import * as fs from "node:fs";
import * as path from "node:path";
import { Command } from "commander";
import { JsonRpcProvider, Provider } from "ethers";
import { ValidationError } from "../sdk/errors";
import { FailoverJsonRpcProvider } from "../sdk/network";
import { formatViolations } from "./verify";
import { parseMeterId } from "../sdk/meter-id";
import { anomalies, communitySummary, intervalReport, memberReport, memberStatement, meterReport, statementCsv, toJson } from "./reports";
import type { AuditRun, RunAuditOptions } from "./index";

export interface AuditCliDeps {
  /** A provider to use instead of `--rpc-url` (tests, the embedded chain). */
  provider?: Provider;
  /** Where output goes (default stdout). */
  write?: (text: string) => void;
  /** Defaults for the options (tests). */
  defaults?: Partial<RunAuditOptions>;
}

interface GlobalFlags {
  rpcUrl?: string;
  network?: string;
  deployments?: string;
  db?: string;
  blockRange?: string;
  reorgWindow?: string;
  confirmations?: string;
  offline?: boolean;
}

function intFlag(name: string, raw: string | undefined): number | undefined {
  if (raw === undefined || raw === "") return undefined;
  if (!/^\d+$/.test(raw)) throw new ValidationError(name, `must be a whole number, got ${raw}`);
  return Number(raw);
}

export function registerAudit(program: Command, deps: AuditCliDeps = {}): Command {
  const write = deps.write ?? ((t: string) => process.stdout.write(t.endsWith("\n") ? t : t + "\n"));
  const audit = program
    .command("audit")
    .description("rebuild the ledger from chain events, re-check every clearing, statements and bills")
    .option("--rpc-url <url>", "JSON-RPC node (env GRIDLEDGER_RPC_URL)")
    .option("--network <name>", "deployment records to read: deployments/<name> (env GRIDLEDGER_NETWORK)")
    .option("--deployments <dir>", "folder of deployment records (env GRIDLEDGER_DEPLOYMENTS_DIR)")
    .option("--db <file>", "SQLite index (env GRIDLEDGER_AUDIT_DB)")
    .option("--block-range <n>", "blocks per eth_getLogs call (env GRIDLEDGER_AUDIT_BLOCK_RANGE, 2000)")
    .option("--reorg-window <n>", "blocks re-checked for a reorganisation (env GRIDLEDGER_AUDIT_REORG_WINDOW, 64)")
    .option("--confirmations <n>", "stay n blocks behind the head (env GRIDLEDGER_AUDIT_CONFIRMATIONS, 0)")
    .option("--offline", "do not index; answer from the database as it is");

  const open = async (cmd: Command, verify: boolean): Promise<AuditRun> => {
    const f = audit.opts<GlobalFlags>();
    // An empty variable (as `.env.example` leaves them) counts as unset.
    const env = Object.fromEntries(Object.entries(process.env).filter(([, v]) => v !== undefined && v.trim() !== "")) as NodeJS.ProcessEnv;
    const network = f.network ?? env.GRIDLEDGER_NETWORK ?? "localhost";
    // GRIDLEDGER_DEPLOYMENTS_DIR is the records root (<dir>/<network>/) for the CLI, the daemons and the web app; accept it here too.
    const envDir = env.GRIDLEDGER_DEPLOYMENTS_DIR?.trim();
    const fromEnv = envDir && fs.existsSync(path.join(envDir, network)) ? path.join(envDir, network) : envDir || undefined;
    const deploymentsDir = f.deployments ?? fromEnv ?? deps.defaults?.deploymentsDir ?? path.join("deployments", network);
    const dbPath = f.db ?? env.GRIDLEDGER_AUDIT_DB ?? deps.defaults?.dbPath ?? path.join(".gridledger", `audit-${network}.sqlite`);
    // Several comma-separated URLs (a PoA network's nodes): fail over between them.
    const urls = (f.rpcUrl ?? env.GRIDLEDGER_RPC_URL ?? "http://127.0.0.1:8545").split(",").map((u) => u.trim()).filter(Boolean);
    const provider = f.offline ? undefined : deps.provider ?? (urls.length > 1 ? new FailoverJsonRpcProvider(urls) : new JsonRpcProvider(urls[0]));
    const { runAudit } = await import("./index");
    void cmd;
    const useDeployments = !deps.defaults?.addresses && fs.existsSync(deploymentsDir);
    return runAudit({
      ...deps.defaults,
      provider,
      dbPath,
      deploymentsDir: useDeployments ? deploymentsDir : undefined,
      blockRange: intFlag("--block-range", f.blockRange ?? env.GRIDLEDGER_AUDIT_BLOCK_RANGE) ?? deps.defaults?.blockRange,
      reorgWindow: intFlag("--reorg-window", f.reorgWindow ?? env.GRIDLEDGER_AUDIT_REORG_WINDOW) ?? deps.defaults?.reorgWindow,
      confirmations: intFlag("--confirmations", f.confirmations ?? env.GRIDLEDGER_AUDIT_CONFIRMATIONS) ?? deps.defaults?.confirmations,
      verify: verify,
    });
  };
  const json = (v: unknown) => write(JSON.stringify(toJson(v), null, 2));

  audit
    .command("verify")
    .description("run every check; exit code 1 and one line per violation when any fails")
    .option("--json", "print the violations as JSON")
    .action(async (opts: { json?: boolean }, cmd: Command) => {
      const run = await open(cmd, true);
      try {
        const { violations, state } = run;
        if (opts.json) json({ ok: violations.length === 0, violations });
        else if (violations.length === 0) {
          write(`audit verify: OK — ${state.events} events to block ${state.cursor}, ${state.readings.length} readings, ${[...state.intervals.values()].filter((r) => r.settled).length} intervals settled, no violations`);
        } else {
          write(`audit verify: ${violations.length} violation(s)\n${formatViolations(violations)}`);
        }
        if (violations.length > 0) process.exitCode = 1;
      } finally {
        run.close();
      }
    });

  audit
    .command("member <address>")
    .description("a member's statement: P2P trades with counterparties, grid flows at the tariffs, totals, saving against grid-only")
    .option("--from <interval>", "first interval")
    .option("--to <interval>", "last interval")
    .option("--csv <file>", "write the statement as CSV to <file> ('-' for stdout)")
    .option("--json", "print the statement as JSON")
    .action(async (address: string, opts: { from?: string; to?: string; csv?: string; json?: boolean }, cmd: Command) => {
      if (!/^0x[0-9a-fA-F]{40}$/.test(address)) throw new ValidationError("address", `must be a 0x address, got ${address}`);
      const run = await open(cmd, false);
      try {
        const st = memberStatement(run.state, address, { from: intFlag("--from", opts.from), to: intFlag("--to", opts.to) });
        if (opts.csv === "-") write(statementCsv(st));
        else if (opts.csv) {
          fs.mkdirSync(path.dirname(path.resolve(opts.csv)), { recursive: true });
          fs.writeFileSync(opts.csv, statementCsv(st));
        }
        if (opts.json) json({ ...memberReport(run.state, address), statement: st });
        else if (opts.csv !== "-") {
          const t = st.totals;
          write(
            [
              `member ${st.member} (wallets ${st.wallets.join(", ")}), intervals ${st.fromInterval}..${st.toInterval}, ${st.rows.length} rows`,
              `  import ${t.importWh} Wh = self ${t.selfSupplyWh} + P2P ${t.boughtWh} + grid ${t.gridImportWh}`,
              `  export ${t.exportWh} Wh = self ${t.selfSupplyWh} + P2P ${t.soldWh} + grid ${t.gridExportWh}`,
              `  P2P paid ${t.p2pPaidCredits}, received ${t.p2pReceivedCredits}; grid import ${t.gridImportCostCredits}, export ${t.gridExportRevenueCredits}`,
              `  net cost ${t.netCostCredits}; grid-only ${t.gridOnlyCostCredits}; saving ${t.savingCredits} (credit base units)`,
              opts.csv ? `  CSV written to ${opts.csv}` : "",
            ]
              .filter(Boolean)
              .join("\n"),
          );
        }
      } finally {
        run.close();
      }
    });

  audit
    .command("interval <t>")
    .description("one interval: readings, collected entries, price, fills, settlements")
    .action(async (t: string, _o: unknown, cmd: Command) => {
      const n = intFlag("interval", t)!;
      const run = await open(cmd, false);
      try {
        json(intervalReport(run.state, n));
      } finally {
        run.close();
      }
    });

  audit
    .command("meter <meterId>")
    .description("one meter: signer and owner history, readings, refusals")
    .action(async (id: string, _o: unknown, cmd: Command) => {
      const meterId = parseMeterId(id, "meterId"); // the CLI's resolver: a 0x id or a name such as alice-roof
      const run = await open(cmd, false);
      try {
        json(meterReport(run.state, meterId));
      } finally {
        run.close();
      }
    });

  audit
    .command("summary")
    .description("community summary: volumes, prices, self-sufficiency, savings")
    .option("--from <interval>", "first interval")
    .option("--to <interval>", "last interval")
    .action(async (opts: { from?: string; to?: string }, cmd: Command) => {
      const run = await open(cmd, false);
      try {
        json(communitySummary(run.state, { from: intFlag("--from", opts.from), to: intFlag("--to", opts.to) }));
      } finally {
        run.close();
      }
    });

  audit
    .command("anomalies")
    .description("missing and late readings, refused readings, gaps, suspensions")
    .action(async (_o: unknown, cmd: Command) => {
      const run = await open(cmd, false);
      try {
        json(anomalies(run.state));
      } finally {
        run.close();
      }
    });

  return audit;
}
