#!/usr/bin/env ts-node
/**
 * Standalone auditor: `npx ts-node --transpile-only src/audit/main.ts audit verify --network localhost`
 * (`npm run auditor -- verify`). It is the `gridledger` CLI itself, so the options, the RPC URL
 * resolution, the output and the exit codes are the same (see `src/audit/cli.ts`).
 */
import * as dotenv from "dotenv";
import { run } from "../cli/main";

dotenv.config({ quiet: true } as dotenv.DotenvConfigOptions);
run(process.argv.slice(2)).then((code) => process.exit(code));
