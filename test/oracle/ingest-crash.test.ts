/**
 * Issue 19, durability at rate: the oracle's ingest (GroupCommit, signer threads, one transaction
 * per batch) is SIGKILLed at random moments (seeded) while it takes a 1 Hz stream of 40 meters as
 * fast as it can, and restarted on the same outbox, resuming after its last durable sample with a
 * few seconds lost (what meters sent while it was down). Afterwards no interval reading is
 * missing, none is twice, and each equals a sample the meter really sent at or before its boundary.
 */
import { expect } from "chai";
import { spawn } from "node:child_process";
import * as path from "node:path";
import { id } from "ethers";
import { Outbox } from "../../src/oracle/outbox";
import { BASE, INTERVAL, METERS, SECONDS, MARKET_START, registers } from "./ingest-crash-stream";
import { tmpDir } from "./helpers";
import { mulberry32 } from "../../src/sim/random";


function runChild(db: string, skip: number, killAfterMs?: number): Promise<{ done: boolean; killed: boolean; out: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, ["-r", "ts-node/register/transpile-only", path.join(__dirname, "ingest-crash-child.ts"), db, String(skip)], { stdio: ["ignore", "pipe", "pipe"], env: { ...process.env, TS_NODE_TRANSPILE_ONLY: "1" } });
    let out = "";
    child.stdout.on("data", (d) => (out += d));
    child.stderr.on("data", (d) => (out += d));
    let killed = false;
    let timer: NodeJS.Timeout | undefined;
    // Kill a random time after it starts feeding (not while it is still starting up).
    const started = Date.now();
    child.stdout.on("data", () => {
      if (killAfterMs === undefined || timer || !out.includes("feeding")) return;
      timer = setTimeout(() => ((killed = true), child.kill("SIGKILL")), killAfterMs);
    });
    child.on("exit", () => {
      if (timer) clearTimeout(timer);
      resolve({ done: out.includes("done"), killed, out: `${out} (${Date.now() - started} ms)` });
    });
  });
}

describe("oracle / ingest crash safety at rate (issue 19)", function () {
  this.timeout(180_000);

  it("loses no interval reading and duplicates none over SIGKILLs during group commits", async () => {
    const random = mulberry32(Number(process.env.GRIDLEDGER_HARDEN_SEED ?? 19));
    const db = path.join(tmpDir("gl-ingest-crash-"), "oracle.sqlite");
    let kills = 0;
    for (let trial = 0; trial < 2; trial++) {
      const r = await runChild(db, Math.floor(random() * 3), Math.floor(random() * 600));
      if (r.killed && !r.done) kills++;
      if (!r.killed && !r.done) throw new Error(`child failed: ${r.out}`);
    }
    const last = await runChild(db, 0);
    expect(last.done, last.out).to.equal(true);
    console.log(`      ${kills} SIGKILLs landed while ingesting; the last run: ${last.out.replace(/\s+/g, " ").trim()}`);

    const outbox = new Outbox(db);
    try {
      const lastBoundary = Math.floor((BASE + SECONDS - 1 - MARKET_START) / INTERVAL) * INTERVAL + MARKET_START;
      for (let m = 0; m < METERS; m++) {
        const meterId = id(`crash-meter:${m}`).toLowerCase();
        // Every boundary the stream crossed, up to the last one a later sample proved passed.
        for (let b = MARKET_START + INTERVAL; b <= lastBoundary; b += INTERVAL) {
          const t = (b - MARKET_START) / INTERVAL - 1;
          if (b < BASE) continue;
          const r = outbox.getReading(meterId, t);
          expect(r, `meter ${m} interval ${t} has no reading`).not.to.equal(undefined);
          // The reading is a sample the meter sent at or before the boundary, within one interval.
          const candidates = Array.from({ length: INTERVAL }, (_, k) => registers(m, b - k)).filter((x) => x.imp === r!.importWhTotal && x.exp === r!.exportWhTotal);
          expect(candidates.length, `meter ${m} interval ${t}: ${r!.importWhTotal}/${r!.exportWhTotal} is no sample of [boundary - ${INTERVAL}, boundary]`).to.be.greaterThan(0);
        }
      }
      const all = outbox.all();
      expect(new Set(all.map((r) => `${r.meterId}:${r.interval}`)).size).to.equal(all.length);
    } finally {
      outbox.close();
    }
  });
});
