/**
 * Where the gas of one transaction goes, from Hardhat's `debug_traceTransaction` struct logs:
 * every opcode's own cost (a call's own cost excludes what the callee spent), grouped by the
 * contract whose code ran and by kind (new storage slot, storage update, storage read, events,
 * hashing, calls, signature recovery, other computation), plus the intrinsic cost (21,000 +
 * calldata) and the refund.
 */
import type { EIP1193Provider } from "hardhat/types";

interface StructLog {
  op: string;
  gas: number;
  gasCost: number;
  depth: number;
  stack?: string[];
}

export interface GasBreakdown {
  gasUsed: number;
  intrinsic: number;
  refund: number;
  /** [contract, kind] -> gas. */
  rows: { contract: string; kind: string; gas: number; count: number }[];
}

const CALLS = new Set(["CALL", "STATICCALL", "DELEGATECALL", "CALLCODE"]);

function kindOf(op: string, cost: number, target?: string): string {
  if (op === "SSTORE") return cost >= 20_000 ? "SSTORE 0->non-zero" : cost >= 2_900 ? "SSTORE update" : "SSTORE warm/dirty";
  if (op === "SLOAD") return cost >= 2_100 ? "SLOAD cold" : "SLOAD warm";
  if (op.startsWith("LOG")) return "events (LOG)";
  if (op === "KECCAK256" || op === "SHA3") return "keccak";
  if (CALLS.has(op)) return target && BigInt(target) < 10n ? "precompile (ecrecover)" : "call overhead";
  return "other computation";
}

function addr(word: string): string {
  return "0x" + BigInt("0x" + word.replace(/^0x/, "")).toString(16).padStart(40, "0").slice(-40);
}

export async function gasBreakdown(
  provider: EIP1193Provider,
  txHash: string,
  names: Record<string, string>,
): Promise<GasBreakdown> {
  const tx = (await provider.request({ method: "eth_getTransactionByHash", params: [txHash] })) as { to: string; gas: string };
  const receipt = (await provider.request({ method: "eth_getTransactionReceipt", params: [txHash] })) as { gasUsed: string };
  const trace = (await provider.request({
    method: "debug_traceTransaction",
    params: [txHash, { disableMemory: true, disableStorage: true }],
  })) as { structLogs: StructLog[]; gas: number };
  const logs = trace.structLogs;
  const name = (a: string) => names[a.toLowerCase()] ?? (BigInt(a) < 10n ? "precompile" : a);
  const table = new Map<string, { contract: string; kind: string; gas: number; count: number }>();
  const add = (contract: string, kind: string, gas: number) => {
    const k = `${contract}|${kind}`;
    const row = table.get(k) ?? { contract, kind, gas: 0, count: 0 };
    row.gas += gas;
    row.count++;
    table.set(k, row);
  };
  // Code address per depth; open calls: index of the calling step and the callee's exclusive sum.
  const codeAt: string[] = [];
  codeAt[1] = tx.to.toLowerCase();
  const open: { i: number; target: string; childGas: number; kind: string }[] = [];
  const childSum: number[] = [];
  const intrinsic = Number(tx.gas) - logs[0].gas;
  for (let i = 0; i < logs.length; i++) {
    const s = logs[i];
    const next = logs[i + 1];
    const here = codeAt[s.depth] ?? "?";
    if (CALLS.has(s.op) && s.stack && s.stack.length >= 2) {
      const target = addr(s.stack[s.stack.length - 2]);
      if (next && next.depth > s.depth) {
        codeAt[next.depth] = s.op === "DELEGATECALL" || s.op === "CALLCODE" ? target : target;
        open.push({ i, target, childGas: 0, kind: kindOf(s.op, 0, target) });
        childSum[next.depth] = 0;
        continue;
      }
      // A call that did not enter code (precompile, empty account): its whole cost is here.
      const cost = next ? s.gas - next.gas : s.gasCost;
      add(BigInt(target) < 10n ? "precompile" : here, kindOf(s.op, cost, target), cost);
      childSum[s.depth] = (childSum[s.depth] ?? 0) + cost;
      continue;
    }
    let cost: number;
    if (next && next.depth === s.depth) cost = s.gas - next.gas;
    else cost = s.gasCost; // the last step of a frame (STOP, RETURN, REVERT) or of the transaction
    add(name(here), kindOf(s.op, cost), cost);
    childSum[s.depth] = (childSum[s.depth] ?? 0) + cost;
    if (next && next.depth < s.depth) {
      // Returned: the call's own cost is its inclusive cost minus what the callee spent.
      const c = open.pop()!;
      const inclusive = logs[c.i].gas - next.gas;
      const own = inclusive - childSum[s.depth];
      add(name(codeAt[logs[c.i].depth]), c.kind, own);
      childSum[logs[c.i].depth] = (childSum[logs[c.i].depth] ?? 0) + inclusive;
    }
  }
  const execution = logs.length ? logs[0].gas - (logs[logs.length - 1].gas - logs[logs.length - 1].gasCost) : 0;
  const gasUsed = Number(receipt.gasUsed);
  return {
    gasUsed,
    intrinsic,
    refund: Math.max(0, intrinsic + execution - gasUsed),
    rows: [...table.values()].sort((a, b) => b.gas - a.gas),
  };
}

/** The breakdown as text lines, scaled by `per` (e.g. per reading or per household). */
export function renderBreakdown(title: string, b: GasBreakdown, per: number, unit: string): string[] {
  const f = (g: number) => Math.round(g / per).toLocaleString("en-US").padStart(9);
  const lines = [`${title}: ${f(b.gasUsed).trim()} gas per ${unit} (transaction ${b.gasUsed.toLocaleString("en-US")} gas / ${per})`];
  lines.push(`  ${"intrinsic (21,000 + calldata)".padEnd(44)} ${f(b.intrinsic)}`);
  for (const r of b.rows) if (r.gas / per >= 50) lines.push(`  ${`${r.contract}: ${r.kind}`.padEnd(44)} ${f(r.gas)}   (${Math.round(r.count / per * 10) / 10} ops)`);
  if (b.refund) lines.push(`  ${"refund".padEnd(44)} ${f(-b.refund)}`);
  return lines;
}
