/**
 * The audit verdict line of the demo. The auditor (`src/audit`) plugs in by exporting
 * `auditDemo(input: DemoAuditInput): Promise<DemoAuditVerdict>` from `src/audit/index.ts`:
 * it rebuilds the ledger from the chain's events and re-clears every interval. Until that
 * module exists the line reads "Audit: (pending)"; the demo never depends on it.
 */
import * as fs from "node:fs";
import * as path from "node:path";
import type { Provider } from "ethers";

export interface DemoAuditInput {
  provider: Provider;
  network: string;
  addresses: { registry: string; readings: string; market: string; energy: string; credit: string };
  /** The market's deployment block: the first block to index. */
  fromBlock: number;
  /** Chain intervals the demo settled, inclusive. */
  firstInterval: number;
  lastInterval: number;
}

export interface DemoAuditVerdict {
  ok: boolean;
  /** One line: what was checked and what failed. */
  summary: string;
}

type AuditModule = { auditDemo?: (input: DemoAuditInput) => Promise<DemoAuditVerdict> };

/** Where the audit module lives (`src/audit/index.ts` from the repository root). */
export const AUDIT_MODULE = path.resolve(__dirname, "..", "audit", "index.ts");

/** "Audit: ok ..." / "Audit: FAILED ..." from `src/audit` when it is there, else "Audit: (pending)". */
export async function runAuditIfAvailable(input: DemoAuditInput, modulePath = AUDIT_MODULE): Promise<string> {
  const candidates = [modulePath, modulePath.replace(/\.ts$/, ".js")];
  const file = candidates.find((f) => fs.existsSync(f));
  if (!file) return "Audit: (pending)";
  let mod: AuditModule;
  try {
    // eslint-disable-next-line @typescript-eslint/no-var-requires
    mod = require(file) as AuditModule;
  } catch (e) {
    return `Audit: could not load ${path.relative(process.cwd(), file)}: ${(e as Error).message.split("\n")[0]}`;
  }
  if (typeof mod.auditDemo !== "function") return "Audit: (pending: src/audit does not export auditDemo yet)";
  try {
    const v = await mod.auditDemo(input);
    return `Audit: ${v.ok ? "ok" : "FAILED"} - ${v.summary}`;
  } catch (e) {
    return `Audit: FAILED to run - ${(e as Error).message.split("\n")[0]}`;
  }
}
