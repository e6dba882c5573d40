/**
 * `gridledger audit ...`: commander registration. `registerAudit(program, deps)` adds the
 * `audit` command with its subcommands to the `gridledger` CLI (`src/cli/main.ts`; the
 * standalone `src/audit/main.ts` runs the same CLI).
 *
 * Every subcommand first brings the index up to date (unless `--offline`), rebuilds the state,
 * runs every check (events against the rule, and the rebuilt state against the contracts'
 * views at the audited block), prints its answer and then exits:
 *
 *   0  no violation
 *   1  violations (`audit verify` lists them; the other subcommands say how many on stderr)
 *   2  bad input or usage
 *   4  configuration: no deployment records, no contract at an address on this network
 *   5  node unreachable
 *   7  the index is of another chain or deployment and may not be rebuilt (--offline, --no-rebuild)
 *
 * (1 is also what an unexpected failure exits with; it then prints `error:` on stderr.)
 *
 * The chain and the records are the CLI's: `--network` / GRIDLEDGER_NETWORK, the RPC URL of
 * that network (LOCALHOST_RPC_URL, POA_RPC_URL; `--rpc-url` overrides), the records in
 * `deployments/<network>` or GRIDLEDGER_DEPLOYMENTS_DIR/<network> (`--deployments <dir>`
 * names the folder itself). Audit settings (flag, then environment, then default):
 *   --db             GRIDLEDGER_AUDIT_DB        .gridledger/audit-<network>.sqlite
 *   --block-range    GRIDLEDGER_AUDIT_BLOCK_RANGE   2000
 *   --reorg-window   GRIDLEDGER_AUDIT_REORG_WINDOW  64
 *   --confirmations  GRIDLEDGER_AUDIT_CONFIRMATIONS 0
 * Output: human text with units (credits, kWh); `--json` (before or after the subcommand) one
 * JSON document with amounts as decimal strings of base units (Wh, credit base units).
 */
import * as fs from "node:fs";
import * as path from "node:path";
import { Command } from "commander";
import type { Provider } from "ethers";
import { AuditViolationsError, ValidationError } from "../sdk/errors";
import { deploymentsRoot } from "../sdk/deployments";
import { makeProvider, resolveNetwork } from "../sdk/network";
import { formatCredits, formatEnergy, formatPricePerKWh } from "../sdk/units";
import { formatViolations } from "./verify";
import { parseMeterId } from "../sdk/meter-id";
import { anomalies, communitySummary, intervalReport, memberReport, memberStatement, meterReport, statementCsv, toJson } from "./reports";
import type { AuditRun, RunAuditOptions } from "./index";
import type { CliRuntime } from "../cli/context";

export interface AuditCliDeps {
  /** A provider to use instead of the network's (tests, the embedded chain). */
  provider?: Provider;
  /** Where output goes (default: the runtime's stdout). */
  write?: (text: string) => void;
  /** Defaults for the options (tests). */
  defaults?: Partial<RunAuditOptions>;
  /** The CLI runtime (embedded provider, environment, output streams). */
  runtime?: CliRuntime;
}

interface Flags {
  network?: string;
  json?: boolean;
  rpcUrl?: string;
  deployments?: string;
  db?: string;
  blockRange?: string;
  reorgWindow?: string;
  confirmations?: string;
  offline?: boolean;
  rebuild?: boolean;
}

function intFlag(name: string, raw: string | undefined): number | undefined {
  if (raw === undefined || raw === "") return undefined;
  if (!/^\d+$/.test(raw)) throw new ValidationError(name, `must be a whole number, got ${raw}`);
  return Number(raw);
}

const kwh = formatEnergy;
const credits = (v: bigint) => `${formatCredits(v)} credits`;
const price = (v: bigint) => `${formatPricePerKWh(v)} credits`.replace("/kWh credits", " credits/kWh");

export function registerAudit(program: Command, deps: AuditCliDeps = {}): Command {
  const rt = deps.runtime ?? {};
  const write = deps.write ?? ((t: string) => (rt.stdout ?? ((x: string) => process.stdout.write(x)))(t.endsWith("\n") ? t : t + "\n"));
  const warn = (t: string) => (rt.stderr ?? ((x: string) => process.stderr.write(x)))(t.endsWith("\n") ? t : t + "\n");
  const audit = program
    .command("audit")
    .description("rebuild the ledger from chain events, re-check every clearing and every view, statements and bills (exit 1 on a violation)")
    .option("--rpc-url <url>", "JSON-RPC node(s), comma separated (default: the network's, e.g. LOCALHOST_RPC_URL)")
    .option("--deployments <dir>", "folder of deployment records (default deployments/<network>, or GRIDLEDGER_DEPLOYMENTS_DIR/<network>)")
    .option("--db <file>", "SQLite index (env GRIDLEDGER_AUDIT_DB)")
    .option("--block-range <n>", "blocks per eth_getLogs call (env GRIDLEDGER_AUDIT_BLOCK_RANGE, 2000)")
    .option("--reorg-window <n>", "blocks re-checked for a reorganisation (env GRIDLEDGER_AUDIT_REORG_WINDOW, 64)")
    .option("--confirmations <n>", "stay n blocks behind the head (env GRIDLEDGER_AUDIT_CONFIRMATIONS, 0)")
    .option("--offline", "do not index; answer from the database as it is")
    .option("--no-rebuild", "fail (exit 7) instead of re-indexing when the index is of another chain or deployment");
  // Standalone use (a program without the CLI's global options) still takes --json and --network.
  if (!program.options.some((o) => o.long === "--json")) audit.option("--json", "print one JSON document");
  if (!program.options.some((o) => o.long === "--network")) audit.option("-n, --network <name>", "hardhat, localhost or poa (env GRIDLEDGER_NETWORK)");

  const flagsOf = (cmd: Command): Flags => cmd.optsWithGlobals<Flags>();

  const open = async (cmd: Command): Promise<AuditRun> => {
    const f = flagsOf(cmd);
    // An empty variable (as `.env.example` leaves them) counts as unset.
    const env = Object.fromEntries(Object.entries(rt.env ?? process.env).filter(([, v]) => v !== undefined && v.trim() !== "")) as NodeJS.ProcessEnv;
    const net = resolveNetwork({ name: f.network, env });
    const urls = f.rpcUrl ? f.rpcUrl.split(",").map((u) => u.trim()).filter(Boolean) : net.urls;
    const deploymentsDir = f.deployments ?? deps.defaults?.deploymentsDir ?? path.join(deploymentsRoot(env), net.name);
    const dbPath = f.db ?? env.GRIDLEDGER_AUDIT_DB ?? deps.defaults?.dbPath ?? path.join(".gridledger", `audit-${net.name}.sqlite`);
    const provider = f.offline ? undefined : (deps.provider ?? makeProvider({ ...net, urls }, rt.embeddedProvider));
    const { runAudit } = await import("./index");
    const useDeployments = !deps.defaults?.addresses && fs.existsSync(deploymentsDir);
    const run = await runAudit({
      ...deps.defaults,
      provider,
      dbPath,
      deploymentsDir: useDeployments ? deploymentsDir : undefined,
      networkLabel: urls.length ? `${net.name} (${urls.join(", ")})` : net.name,
      rebuild: f.rebuild !== false,
      blockRange: intFlag("--block-range", f.blockRange ?? env.GRIDLEDGER_AUDIT_BLOCK_RANGE) ?? deps.defaults?.blockRange,
      reorgWindow: intFlag("--reorg-window", f.reorgWindow ?? env.GRIDLEDGER_AUDIT_REORG_WINDOW) ?? deps.defaults?.reorgWindow,
      confirmations: intFlag("--confirmations", f.confirmations ?? env.GRIDLEDGER_AUDIT_CONFIRMATIONS) ?? deps.defaults?.confirmations,
      verify: true,
    });
    if (run.indexed?.rebuilt) warn(`audit: index rebuilt from the deployment block: ${run.indexed.rebuilt}`);
    else if (run.indexed?.deepReorg) warn(`audit: the chain reorganised deeper than the reorg window: re-indexed from the deployment block`);
    return run;
  };

  /** Prints the answer (JSON or human), then fails with exit code 1 when the ledger has violations. */
  const answer = async (cmd: Command, body: (run: AuditRun, json: boolean) => { json: unknown; human: string[] | undefined }) => {
    const run = await open(cmd);
    try {
      const asJson = Boolean(flagsOf(cmd).json);
      const { json, human } = body(run, asJson);
      const n = run.violations.length;
      if (asJson) write(JSON.stringify(toJson(json), null, 2));
      else if (human) write(human.join("\n"));
      if (!asJson) for (const note of run.notes) warn(`note: ${note.message}`);
      if (n > 0) {
        throw new AuditViolationsError(
          n,
          cmd.name() === "verify" ? `the audit found ${n} violation(s)` : `the ledger has ${n} violation(s): run \`gridledger audit verify\` for the list`,
        );
      }
    } finally {
      run.close();
    }
  };
  const verdict = (run: AuditRun) => ({ ok: run.violations.length === 0, violations: run.violations.length, notes: run.notes });

  audit
    .command("verify")
    .description("run every check; exit code 1 and one line per violation when any fails")
    .action(async (_o: unknown, cmd: Command) =>
      answer(cmd, (run) => {
        const s = run.state;
        const settled = [...s.intervals.values()].filter((r) => r.settled).length;
        const head = `${s.events} events to block ${s.cursor}, ${s.readings.length} readings (every signature), ${settled} intervals settled and re-cleared, every view compared at block ${s.cursor}`;
        return {
          json: { ok: run.violations.length === 0, block: s.cursor, events: s.events, readings: s.readings.length, intervalsSettled: settled, violations: run.violations, notes: run.notes, rebuilt: run.indexed?.rebuilt },
          human:
            run.violations.length === 0
              ? [`audit verify: OK — ${head}: no violation`]
              : [`audit verify: ${run.violations.length} violation(s) — ${head}`, formatViolations(run.violations)],
        };
      }),
    );

  audit
    .command("member <address>")
    .description("a member's statement: P2P trades with counterparties, grid flows at the tariffs, totals, saving against grid-only")
    .option("--from <interval>", "first interval")
    .option("--to <interval>", "last interval")
    .option("--csv <file>", "write the statement as CSV to <file> ('-' for stdout)")
    .action(async (address: string, opts: { from?: string; to?: string; csv?: string }, cmd: Command) => {
      if (!/^0x[0-9a-fA-F]{40}$/.test(address)) throw new ValidationError("address", `must be a 0x address, got ${address}`);
      const from = intFlag("--from", opts.from);
      const to = intFlag("--to", opts.to);
      await answer(cmd, (run) => {
        const report = memberReport(run.state, address);
        if (report.wallets.every((w) => !run.state.members.has(w))) {
          throw new ValidationError("address", `${address} was never a member of the community at ${run.state.addresses.registry} (chain id ${run.state.chainId})`);
        }
        const st = memberStatement(run.state, address, { from, to });
        if (opts.csv === "-") write(statementCsv(st));
        else if (opts.csv) {
          fs.mkdirSync(path.dirname(path.resolve(opts.csv)), { recursive: true });
          fs.writeFileSync(opts.csv, statementCsv(st));
        }
        const t = st.totals;
        const human =
          opts.csv === "-"
            ? undefined
            : [
                `member ${st.member} (${st.kind}, ${report.status}; wallets ${st.wallets.join(", ")}), intervals ${st.fromInterval}..${st.toInterval}, ${st.rows.length} settled`,
                `  import  ${kwh(t.importWh)} = self-supply ${kwh(t.selfSupplyWh)} + P2P ${kwh(t.boughtWh)} + grid ${kwh(t.gridImportWh)}`,
                `  export  ${kwh(t.exportWh)} = self-supply ${kwh(t.selfSupplyWh)} + P2P ${kwh(t.soldWh)} + grid ${kwh(t.gridExportWh)}`,
                `  P2P     paid ${credits(t.p2pPaidCredits)}, received ${credits(t.p2pReceivedCredits)}`,
                `  grid    import cost ${credits(t.gridImportCostCredits)}, export revenue ${credits(t.gridExportRevenueCredits)}`,
                `  net cost ${credits(t.netCostCredits)}; grid-only ${credits(t.gridOnlyCostCredits)}; saving ${credits(t.savingCredits)}`,
                `  now     deposit ${credits(report.deposit)}, wallet ${credits(report.creditBalance)}, unsettled energy ${kwh(report.energyBalanceWh)}`,
                ...(opts.csv ? [`  CSV written to ${opts.csv}`] : []),
              ];
        return { json: { ...report, statement: st, audit: verdict(run) }, human };
      });
    });

  audit
    .command("interval <t>")
    .description("one interval: readings, collected entries, price, fills, settlements")
    .action(async (t: string, _o: unknown, cmd: Command) => {
      const n = intFlag("interval", t)!;
      await answer(cmd, (run) => {
        const r = intervalReport(run.state, n);
        const human = [
          `interval ${r.interval} (starts ${r.start}): ${r.phase}`,
          `  readings ${r.readings.length} accepted, ${r.rejected.length} refused; participants ${r.positions.length}`,
          ...r.positions.map((p) => `    ${p.member}  import ${kwh(p.importWh)}  export ${kwh(p.exportWh)}`),
          ...r.rejected.map((x) => `    refused: meter ${x.meterId}: ${x.reason} (block ${x.blockNumber})`),
          r.cleared
            ? `  cleared at ${price(r.cleared.pricePerKWh)}, ${kwh(r.cleared.matchedWh)} matched; tariffs retail ${price(r.cleared.retailPerKWh)}, feed-in ${price(r.cleared.feedInPerKWh)}`
            : "  not cleared",
          ...r.trades.map((x) => `    trade: ${x.seller} -> ${x.buyer}  ${kwh(x.wh)} at ${price(x.pricePerKWh)} = ${credits(x.credits)}`),
          ...r.settlements.map(
            (x) =>
              `    settled ${x.member}: self ${kwh(x.selfSupplyWh)}, sold ${kwh(x.soldWh)}, bought ${kwh(x.boughtWh)}, grid out ${kwh(x.gridExportWh)}, grid in ${kwh(x.gridImportWh)}; paid ${credits(x.paidCredits)}, received ${credits(x.receivedCredits)}`,
          ),
        ];
        return { json: { ...r, audit: verdict(run) }, human };
      });
    });

  audit
    .command("meter <meterId>")
    .description("one meter: signer and owner history, readings, refusals")
    .action(async (id: string, _o: unknown, cmd: Command) => {
      const meterId = parseMeterId(id, "meterId"); // the CLI's resolver: a 0x id or a name such as alice-roof
      await answer(cmd, (run) => {
        const m = meterReport(run.state, meterId);
        const human = !m.known
          ? [`meter ${m.meterId}: not registered in this community`]
          : [
              `meter ${m.meterId}: ${m.status}, owner ${m.owner}, max power ${m.maxPowerW} W, zone ${m.zone}, registered at block ${m.registeredAtBlock}${m.retiredAtBlock !== undefined ? `, retired at block ${m.retiredAtBlock}` : ""}`,
              ...m.signers.map((x) => `  signer ${x.signer} from block ${x.fromBlock}`),
              ...m.owners.map((x) => `  owner ${x.owner} from block ${x.fromBlock}`),
              `  ${m.readings.length} readings, ${m.rejected.length} refused`,
              ...m.readings.map(
                (r) => `    interval ${r.interval}: registers import ${kwh(r.importWhTotal)}, export ${kwh(r.exportWhTotal)}; in the interval import ${kwh(r.importWh)}, export ${kwh(r.exportWh)}${r.unbookedImportWh + r.unbookedExportWh > 0n ? `; unbooked (grid) import ${kwh(r.unbookedImportWh)}, export ${kwh(r.unbookedExportWh)}` : ""}`,
              ),
              ...m.rejected.map((r) => `    interval ${r.interval}: refused, ${r.reason} (block ${r.blockNumber})`),
            ];
        return { json: { ...m, audit: verdict(run) }, human };
      });
    });

  audit
    .command("summary")
    .description("community summary: volumes, prices, self-sufficiency, savings")
    .option("--from <interval>", "first interval")
    .option("--to <interval>", "last interval")
    .action(async (opts: { from?: string; to?: string }, cmd: Command) => {
      const range = { from: intFlag("--from", opts.from), to: intFlag("--to", opts.to) };
      await answer(cmd, (run) => {
        const c = communitySummary(run.state, range);
        const pct = (ppm: bigint) => `${formatDecimalPpm(ppm)} %`;
        const human = [
          `community: ${c.members} members (${c.activeMembers} active), ${c.meters} meters; ${c.intervals} settled intervals${c.intervals ? ` (${c.fromInterval}..${c.toInterval})` : ""}`,
          `  consumption ${kwh(c.consumptionWh)}, production ${kwh(c.productionWh)}`,
          `  self-supply ${kwh(c.selfSupplyWh)}, P2P ${kwh(c.p2pWh)} for ${credits(c.p2pCredits)} (average ${price(c.averagePricePerKWh)})`,
          `  grid import ${kwh(c.gridImportWh)}, grid export ${kwh(c.gridExportWh)}`,
          `  self-sufficiency ${pct(c.selfSufficiencyPpm)}; saving against grid-only ${credits(c.savingCredits)}`,
        ];
        return { json: { ...c, audit: verdict(run) }, human };
      });
    });

  audit
    .command("anomalies")
    .description("missing and late readings, refused readings, gaps, suspensions")
    .action(async (_o: unknown, cmd: Command) => {
      await answer(cmd, (run) => {
        const a = anomalies(run.state);
        const human = [
          `missing readings: ${a.missing.length}`,
          ...a.missing.map((m) => `  interval ${m.interval}: meter ${m.meterId} (owner ${m.owner})`),
          `refused readings: ${a.rejected.length}`,
          ...a.rejected.map((r) => `  interval ${r.interval}: meter ${r.meterId}: ${r.reason}${r.late ? " (late)" : ""}, block ${r.blockNumber}`),
          `gaps: ${a.gaps.length}`,
          ...a.gaps.map((g) => `  meter ${g.meterId}: intervals ${g.fromInterval}..${g.toInterval}`),
          `suspensions: ${a.suspensions.length}`,
          ...a.suspensions.map((x) => `  ${x.member}: from block ${x.fromBlock}${x.toBlock !== undefined ? ` to block ${x.toBlock} (${x.status})` : " (still suspended)"}`),
          ...a.suspendedParticipants.map((x) => `  interval ${x.interval}: ${x.member} took part while ${x.status} (self-supply and grid only)`),
        ];
        return { json: { ...a, audit: verdict(run) }, human };
      });
    });

  return audit;
}

/** Parts per million as a percentage with one decimal ("26.8"). */
function formatDecimalPpm(ppm: bigint): string {
  const tenths = (ppm + 500n) / 1000n;
  return `${tenths / 10n}.${tenths % 10n}`;
}
