/**
 * The GridLedger auditor: index every event, rebuild the ledger, check it against the rule.
 *
 *   const audit = await runAudit({ provider, deploymentsDir: "deployments/localhost", dbPath: "audit.sqlite" });
 *   audit.violations; // [] when the ledger is sound
 *   audit.close();
 */
import type Database from "better-sqlite3";
import type { Provider } from "ethers";
import { getAddress } from "ethers";
import { ChainMismatchError, DeploymentNotFoundError, NoContractError } from "../sdk/errors";
import type { Logger } from "../sdk/logger";
import { CONTRACT_KEYS, DEPLOYMENT_NAMES } from "./abi";
import { Addresses, getMeta, Indexer, IndexResult, loadDeployments, openAuditDb } from "./indexer";
import { AuditState, buildState } from "./state";
import { AuditNote, notesOf, verifyState, VerifyOptions, Violation } from "./verify";
import { checkViews } from "./views";

export interface RunAuditOptions {
  /** Any ethers provider; omit to audit what the database already holds (no indexing). */
  provider?: Provider;
  /** Folder of hardhat-deploy records (`deployments/<network>`). */
  deploymentsDir?: string;
  /** Or the five addresses directly (then give `fromBlock`). */
  addresses?: Addresses;
  fromBlock?: number;
  dbPath: string;
  blockRange?: number;
  reorgWindow?: number;
  confirmations?: number;
  toBlock?: number;
  maxPages?: number;
  /** Run the checks (default true). */
  verify?: boolean | VerifyOptions;
  /** Compare the rebuilt state with the contracts' public views at the audited block (default: with a provider and `verify`). */
  views?: boolean;
  /** Re-index from scratch when the database is of another chain or deployment (default true). */
  rebuild?: boolean;
  /** How to name the chain in messages ("localhost (http://127.0.0.1:8545)"). */
  networkLabel?: string;
  logger?: Logger;
}

export interface AuditRun {
  db: Database.Database;
  indexed?: IndexResult;
  state: AuditState;
  violations: Violation[];
  /** Not violations, but worth knowing (a credit surplus in the market). */
  notes: AuditNote[];
  close(): void;
}

/**
 * Checks that there is code at every address, before any call: a wrong node or stale records
 * give "no contract at 0x... on <network>" instead of "could not decode result data".
 */
export async function requireCode(provider: Provider, addresses: Addresses, networkLabel = "this chain", source = "the deployment records"): Promise<void> {
  for (const k of CONTRACT_KEYS) {
    const code = await provider.getCode(addresses[k]);
    if (code === "0x") {
      throw new NoContractError(`no contract at ${addresses[k]} on ${networkLabel}: ${DEPLOYMENT_NAMES[k]} of ${source} is not deployed there`, {
        details: "point the command at the node that has the deployment (--network, LOCALHOST_RPC_URL, POA_RPC_URL), or deploy again (npx hardhat deploy --network <name>) so that the records match the chain",
        meta: { contract: DEPLOYMENT_NAMES[k], address: addresses[k] },
      });
    }
  }
}

function addressesFromDb(db: Database.Database): Addresses | undefined {
  const out = {} as Addresses;
  for (const k of CONTRACT_KEYS) {
    const v = getMeta(db, `address.${k}`);
    if (!v) return undefined;
    out[k] = v;
  }
  return out;
}

/** Indexes (when a provider is given), rebuilds the state and runs every check. */
export async function runAudit(options: RunAuditOptions): Promise<AuditRun> {
  const db = openAuditDb(options.dbPath);
  try {
    let addresses = options.addresses;
    let fromBlock = options.fromBlock;
    if (!addresses && options.deploymentsDir) {
      const d = loadDeployments(options.deploymentsDir);
      addresses = d.addresses;
      fromBlock = fromBlock ?? d.fromBlock;
    }
    const stored = addressesFromDb(db);
    if (!options.provider && addresses && stored && CONTRACT_KEYS.some((k) => getAddress(addresses![k]) !== getAddress(stored[k]))) {
      throw new ChainMismatchError(`the audit index ${options.dbPath} is of another deployment than ${options.deploymentsDir ?? "the addresses given"} (market ${stored.market}, records say ${addresses.market})`, {
        details: "run without --offline to rebuild the index for the deployment",
      });
    }
    addresses = addresses ?? stored;
    if (!addresses) {
      throw new DeploymentNotFoundError(`no deployment to audit: no records${options.deploymentsDir ? ` in ${options.deploymentsDir}` : ""} and the index ${options.dbPath} is empty`, {
        details: "deploy first (npx hardhat deploy --network <name>), or pass --network / --deployments <dir>",
      });
    }
    addresses = Object.fromEntries(CONTRACT_KEYS.map((k) => [k, getAddress(addresses![k])])) as Addresses;
    fromBlock = fromBlock ?? Number(getMeta(db, "fromBlock") ?? "0");

    let indexed: IndexResult | undefined;
    if (options.provider) {
      await requireCode(options.provider, addresses, options.networkLabel, options.deploymentsDir ?? "the addresses given");
      const indexer = new Indexer(
        {
          provider: options.provider,
          dbPath: options.dbPath,
          addresses,
          fromBlock,
          blockRange: options.blockRange,
          reorgWindow: options.reorgWindow,
          confirmations: options.confirmations,
          toBlock: options.toBlock,
          maxPages: options.maxPages,
          rebuild: options.rebuild,
          logger: options.logger,
        },
        db,
      );
      indexed = await indexer.run();
    }
    const state = buildState(db);
    const v = options.verify ?? true;
    const violations = v === false ? [] : verifyState(state, v === true ? {} : v);
    if (options.provider && v !== false && (options.views ?? true)) violations.push(...(await checkViews(state, options.provider, state.cursor)));
    return { db, indexed, state, violations, notes: notesOf(state), close: () => db.close() };
  } catch (e) {
    db.close();
    throw e;
  }
}

export { Indexer, openAuditDb, loadDeployments, cursorOf, loadEvents } from "./indexer";
export type { Addresses, IndexerOptions, IndexResult, StoredEvent } from "./indexer";
export { buildState } from "./state";
export type { AuditState } from "./state";
export { verifyState, formatViolations, reclear, clearingInputOf, notesOf } from "./verify";
export type { Violation, VerifyOptions, CheckKind, AuditNote } from "./verify";
export { checkViews, expectedViews } from "./views";
export { memberStatement, statementCsv, communitySummary, anomalies, intervalReport, meterReport, memberReport, toJson } from "./reports";
export type { Statement, StatementRow, CommunitySummary, Anomalies } from "./reports";
export { registerAudit } from "./cli";

/** What the demo hands the auditor (see `src/demo/audit.ts`). */
export interface DemoAuditInput {
  provider: Provider;
  network: string;
  addresses: Addresses;
  fromBlock: number;
  firstInterval: number;
  lastInterval: number;
}

/**
 * The demo's verdict line: index the demo chain from scratch into a temporary database,
 * rebuild the ledger and run every check, re-clearing every interval with the rule.
 */
export async function auditDemo(input: DemoAuditInput): Promise<{ ok: boolean; summary: string }> {
  const os = await import("node:os");
  const fs = await import("node:fs");
  const path = await import("node:path");
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "gridledger-demo-audit-"));
  const run = await runAudit({
    provider: input.provider,
    addresses: input.addresses,
    fromBlock: input.fromBlock,
    dbPath: path.join(dir, "audit.sqlite"),
  });
  try {
    const settled = [...run.state.intervals.values()].filter((r) => r.interval >= input.firstInterval && r.interval <= input.lastInterval);
    const checked = `${settled.length} intervals re-cleared, every reading signature, energy and credit conservation`;
    if (run.violations.length === 0) return { ok: true, summary: `${checked}: no violation` };
    const first = run.violations.slice(0, 3).map((v) => v.message).join("; ");
    return { ok: false, summary: `${run.violations.length} violation(s): ${first}` };
  } finally {
    run.close();
    fs.rmSync(dir, { recursive: true, force: true });
  }
}
