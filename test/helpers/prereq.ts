/**
 * Missing prerequisites of a suite (a browser, a broker, mount rights, geth, a deployment
 * record). Under CI (`CI=true`) a missing prerequisite is a failure that says why: a green CI
 * means every suite ran. Outside CI it is a skip that prints the command which would enable it,
 * and the summary at the end of the run (`printSkipSummary`, a root hook in
 * hardhat.config.ts) lists every skipped test with its reason.
 */

/** Whether this run is CI (`CI=true`, as .ci/run sets). */
export const IN_CI = /^(1|true|yes)$/i.test(process.env.CI ?? "");

interface Recorded {
  title: string;
  reason: string;
  enable: string;
}

const recorded: Recorded[] = [];
const notSelected: Recorded[] = [];

/** The message of the failure CI raises for a missing prerequisite. */
export function ciFailure(reason: string, enable: string): Error {
  return new Error(`missing prerequisite under CI=true (a failure, never a skip): ${reason}. To provide it: ${enable}`);
}

/**
 * A prerequisite of the running test or hook is missing: throws under CI, otherwise records the
 * reason, prints how to enable it and skips (in a `before` hook: the whole suite).
 */
export function requirePrerequisite(ctx: Mocha.Context, reason: string | undefined, enable: string, ci = IN_CI): void {
  if (reason === undefined) return;
  if (ci) throw ciFailure(reason, enable);
  const runnable = ctx.currentTest ?? ctx.test;
  const isHook = (runnable as { type?: string } | undefined)?.type === "hook";
  const title = (isHook ? runnable?.parent?.fullTitle() : runnable?.fullTitle()) ?? "(unknown)";
  recorded.push({ title, reason, enable });
  console.log(`      skipped: ${reason}; to run it: ${enable}`);
  ctx.skip();
}

/** A suite left out of this run on purpose (listed in the summary, never a failure). */
export function noteNotSelected(title: string, enable: string): void {
  notSelected.push({ title, reason: "not part of this run", enable });
}

interface SuiteLike {
  title: string;
  tests: { title: string; isPending(): boolean; fullTitle(): string }[];
  suites: SuiteLike[];
  fullTitle(): string;
}

/** Every pending (skipped) test under `suite`. */
export function pendingTests(suite: SuiteLike): string[] {
  const out: string[] = [];
  const walk = (s: SuiteLike) => {
    for (const t of s.tests) if (t.isPending()) out.push(t.fullTitle());
    s.suites.forEach(walk);
  };
  walk(suite);
  return out;
}

/**
 * The closing summary: every skipped suite with the recorded reason and the command that would
 * run it, every other skipped test by name, and every suite not selected.
 */
export function skipSummary(root: SuiteLike): string[] {
  const pending = pendingTests(root);
  const lines: string[] = [];
  if (pending.length) lines.push(`  Skipped: ${pending.length} test${pending.length === 1 ? "" : "s"}`);
  const byReason = new Map<Recorded, number>();
  for (const t of pending) {
    const r = recorded.find((x) => t.startsWith(x.title));
    if (r) byReason.set(r, (byReason.get(r) ?? 0) + 1);
    else lines.push(`    - ${t}`);
  }
  for (const [r, n] of byReason) lines.push(`    - ${r.title} (${n} test${n === 1 ? "" : "s"}): ${r.reason}; to run it: ${r.enable}`);
  for (const s of notSelected) lines.push(`  Not selected: ${s.title}; to run it: ${s.enable}`);
  return lines;
}

/** Root `afterAll` hook (hardhat.config.ts): prints the skip summary after the last suite. */
export function printSkipSummary(this: Mocha.Context): void {
  let root = this.test?.parent as unknown as (SuiteLike & { parent?: unknown }) | undefined;
  while (root && root.parent) root = root.parent as SuiteLike & { parent?: unknown };
  if (!root) return;
  const lines = skipSummary(root);
  if (lines.length) console.log(`\n${lines.join("\n")}`);
}
