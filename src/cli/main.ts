/**
 * The `gridledger` command. Each command group lives in its own file under `commands/` and
 * exports `register<Group>(program, runtime)`. Groups owned by other modules (oracle, keeper,
 * settle, audit) are added to COMMAND_GROUPS by those modules (one import and one line), or at
 * run time with `registerCommandGroup`.
 *
 * Exit codes: 0 ok; 1 unexpected failure, or (audit) violations found; 2 bad input or usage;
 * 3 the contract refused (decoded custom error); 4 configuration, missing deployment or no
 * contract at a recorded address; 5 node unreachable; 6 wrong password; 7 (audit) the index is
 * of another chain or deployment and may not be rebuilt.
 */
import { Command, CommanderError, Option } from "commander";
import { GridLedgerError } from "../sdk/errors";
import { NETWORK_NAMES } from "../sdk/network";
import { toJson, type CliRuntime } from "./context";
import { registerWallet } from "./commands/wallet";
import { registerMember } from "./commands/member";
import { registerMeter } from "./commands/meter";
import { registerTariff } from "./commands/tariff";
import { registerCredit } from "./commands/credit";
import { registerFunds } from "./commands/funds";
import { registerOrder } from "./commands/order";
import { registerBook } from "./commands/book";
import { registerInterval } from "./commands/interval";
import { registerBill } from "./commands/bill";
import { registerKeeper } from "../keeper/cli";
import { registerAudit } from "../audit/cli";
import { oracleCommand } from "../oracle/main";
import { registerStorageAgent } from "../agent/storage/cli";

export type CommandGroup = (program: Command, runtime: CliRuntime) => void;

/** Built-in groups, in help order. Add `registerOracle`, `registerKeeper`, ... here. */
export const COMMAND_GROUPS: CommandGroup[] = [
  registerWallet,
  registerMember,
  registerMeter,
  registerTariff,
  registerCredit,
  registerFunds,
  registerOrder,
  registerBook,
  registerInterval,
  registerBill,
  (program) => void program.addCommand(oracleCommand("oracle")),
  registerKeeper,
  (program, runtime) => void registerAudit(program, { runtime }),
  registerStorageAgent,
];

const extraGroups: CommandGroup[] = [];

/** Adds a command group from another module (before `run`). */
export function registerCommandGroup(group: CommandGroup): void {
  extraGroups.push(group);
}

export function buildProgram(runtime: CliRuntime = {}): Command {
  const program = new Command("gridledger")
    .description("GridLedger: peer-to-peer electricity market for a microgrid community")
    .addOption(new Option("-n, --network <name>", "chain: hardhat (embedded), localhost or poa [env GRIDLEDGER_NETWORK, default localhost]").choices([...NETWORK_NAMES]))
    .option("--json", "print one JSON document instead of human text")
    .option("--keystore <dir>", "keystore directory [env GRIDLEDGER_KEYSTORE, default ~/.gridledger/keystore]")
    .option("-w, --wallet <name|address>", "wallet that signs [env GRIDLEDGER_WALLET; GRIDLEDGER_PRIVATE_KEY for development]")
    .showHelpAfterError("(add --help for usage)")
    .exitOverride();
  program.configureOutput({
    writeOut: (s) => (runtime.stdout ?? ((t) => process.stdout.write(t)))(s),
    writeErr: (s) => (runtime.stderr ?? ((t) => process.stderr.write(t)))(s),
  });
  for (const g of [...COMMAND_GROUPS, ...extraGroups]) g(program, runtime);
  // Every subcommand reports usage errors instead of exiting the process itself.
  const walk = (c: Command) => c.commands.forEach((s) => (s.exitOverride(), walk(s)));
  walk(program);
  return program;
}

export function exitCodeOf(e: unknown): number {
  if (!(e instanceof GridLedgerError)) return 1;
  switch (e.code) {
    case "VALIDATION":
      return 2;
    case "CONTRACT_REVERT":
      return 3;
    case "AUDIT_VIOLATIONS":
      return 1;
    case "CONFIG":
    case "DEPLOYMENT_NOT_FOUND":
    case "NO_CONTRACT":
      return 4;
    case "CHAIN_MISMATCH":
      return 7;
    case "TRANSIENT":
      return 5;
    case "WRONG_PASSWORD":
      return 6;
    default:
      return 1;
  }
}

/** Runs the CLI on `argv` (without node and script); resolves to the exit code. */
export async function run(argv: string[], runtime: CliRuntime = {}): Promise<number> {
  const program = buildProgram(runtime);
  const err = runtime.stderr ?? ((t: string) => process.stderr.write(t));
  try {
    await program.parseAsync(argv, { from: "user" });
    return 0;
  } catch (e) {
    if (e instanceof CommanderError) {
      return e.code === "commander.helpDisplayed" || e.code === "commander.version" || e.code === "commander.help" ? 0 : 2;
    }
    const json = argv.includes("--json");
    if (json) {
      const g = e as GridLedgerError & { errorName?: string; args?: unknown; field?: string };
      err(toJson({ error: { code: g.code ?? "ERROR", name: g.name, message: g.shortMessage ?? String(g.message), errorName: g.errorName, args: g.args, field: g.field } }) + "\n");
    } else if (e instanceof GridLedgerError) {
      err(`error: ${e.shortMessage}\n${e.details ? `  ${e.details}\n` : ""}`);
    } else {
      err(`error: ${(e as Error)?.message ?? String(e)}\n`);
      if (runtime.env?.GRIDLEDGER_DEBUG ?? process.env.GRIDLEDGER_DEBUG) err(`${(e as Error)?.stack}\n`);
    }
    return exitCodeOf(e);
  }
}

if (require.main === module) {
  run(process.argv.slice(2)).then((code) => process.exit(code));
}
