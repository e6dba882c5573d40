#!/usr/bin/env ts-node
/**
 * Standalone auditor: `npx ts-node --transpile-only src/audit/main.ts audit verify --network localhost`.
 * The same commands are part of the `gridledger` CLI through `registerAudit`.
 */
import * as dotenv from "dotenv";
import { Command } from "commander";
import { isGridLedgerError } from "../sdk/errors";
import { registerAudit } from "./cli";

async function main(argv: string[]): Promise<void> {
  dotenv.config({ quiet: true } as dotenv.DotenvConfigOptions);
  const program = new Command("gridledger-audit").description("GridLedger auditor");
  registerAudit(program);
  await program.parseAsync(argv);
}

main(process.argv).catch((e) => {
  console.error(isGridLedgerError(e) ? `error: ${e.shortMessage}${e.details ? `\n${e.details}` : ""}` : e);
  process.exitCode = 2;
});
