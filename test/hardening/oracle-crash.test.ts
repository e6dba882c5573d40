/**
 * Campaign 1, oracle crash (issue 10). Each trial gives `gridledger oracle` (a real process) a CSV
 * of the next intervals of every meter, SIGKILLs it at a random moment while it posts them (a
 * random share of the trial's readings already on chain, 0 included: still ingesting), restarts
 * it on the same outbox, and compares the chain with the CSV: every reading exactly once, with
 * the CSV's registers. Short form (npm test): 2 trials x 24 meters x 2 intervals; long form
 * (`npm run harden -- oracle-crash`): 20 trials x 1,000 meters x 1 interval.
 */
import { expect } from "chai";
import * as fs from "node:fs";
import * as path from "node:path";
import { Contract } from "ethers";
import { Outbox } from "../../src/oracle/outbox";
import { freePort, tmpDir } from "../oracle/helpers";
import { catchUpClock, Processes, startHardhatNode, HardhatNode } from "../helpers/node";
import { LONG, SEED, meterIdOf, meterKey, onboard, oracleEnv, oracleFiles, pick, prng, readingEvents, waitFor } from "./helpers";

describe(`hardening / oracle crash (${LONG ? "long" : "short"} form, seed ${SEED}: GRIDLEDGER_HARDEN_SEED replays it)`, function () {
  const TRIALS = pick(2, 20);
  const METERS = pick(24, 1000);
  const PER_TRIAL = pick(2, 1); // intervals per trial
  const I = 60;
  // Bounded by the work: start-up, then at most 0.3 s per reading of a trial (the long form's
  // trials took ~2.5 min for 1,000 readings at load 13; docs/reliability.md).
  this.timeout(120_000 + TRIALS * Math.max(60_000, METERS * PER_TRIAL * 300));
  const procs = new Processes();
  const random = prng(SEED);
  let node: HardhatNode;
  let work = "";
  let marketStart = 0;
  let readings: Contract;

  before(async () => {
    work = tmpDir("gl-harden-oracle-");
    marketStart = Math.floor(Date.now() / 1000 / I) * I - (TRIALS * PER_TRIAL + 5) * I;
    node = await startHardhatNode(procs, { work, intervalSeconds: I, marketStart, chainStartsAt: marketStart });
    // Registered in interval 0 with the registers of interval 0's reading, then the clock moves to now.
    await onboard(node, METERS, 100_000, (i) => [BigInt(registers(i, 0).imp), BigInt(registers(i, 0).exp)]);
    await catchUpClock(node.provider);
    await oracleFiles(work, METERS);
    readings = new Contract(node.record("MeterReadings").address, node.record("MeterReadings").abi, node.provider);
  });
  after(() => {
    procs.killAll();
    node?.provider.destroy();
  });

  // Registers of meter i after interval t: deterministic, increasing, within 100 kW.
  const registers = (i: number, t: number) => ({ imp: 10_000 + t * (50 + (i % 7)), exp: 2_000 + t * (i % 3 === 0 ? 40 : 0) });

  it(`keeps every reading exactly once over ${TRIALS} SIGKILLs and restarts`, async () => {
    console.log(`      seed ${SEED} (GRIDLEDGER_HARDEN_SEED to replay); ${TRIALS} trials, ${METERS} meters, ${PER_TRIAL} interval(s) per trial`);
    const db = path.join(work, "oracle.sqlite");
    const figures: string[] = [];
    for (let trial = 0; trial < TRIALS; trial++) {
      const intervals = Array.from({ length: PER_TRIAL }, (_, k) => trial * PER_TRIAL + k);
      const csv = path.join(work, `trial-${trial}.csv`);
      const lines = ["meterKey,timestamp,importWhTotal,exportWhTotal"];
      for (const t of intervals) for (let i = 0; i < METERS; i++) lines.push(`${meterKey(i)},${marketStart + (t + 1) * I},${registers(i, t).imp},${registers(i, t).exp}`);
      fs.writeFileSync(csv, lines.join("\n") + "\n");
      const total = intervals.length * METERS;
      const onChain = async () => {
        let n = 0;
        for (const t of intervals) n += Number(await readings.reportedCount(t));
        return n;
      };
      const batch = pick(8, 50);
      const env = async () => oracleEnv({ node, work, db, httpPort: await freePort(), extra: { GRIDLEDGER_ORACLE_CSV: csv, GRIDLEDGER_ORACLE_BATCH_SIZE: String(batch), GRIDLEDGER_ORACLE_MAX_IN_FLIGHT: "2" } });

      // Kill once a random share of the trial's readings is on chain (0: while it still ingests),
      // at most all but two batches: a replay daemon exits by itself once everything is confirmed,
      // so a later kill point could find it gone instead of working.
      const share = random() < 0.15 ? 0 : random() * Math.min(0.9, Math.max(0, (total - 2 * batch) / total));
      const extraMs = Math.floor(random() * 400);
      const first = procs.spawn(process.execPath, ["bin/gridledger.js", "oracle"], await env());
      await waitFor(async () => first.ended() || (share === 0 ? fs.existsSync(db) : (await onChain()) >= Math.max(1, Math.floor(share * total))), "the kill moment", 600_000, 50);
      await new Promise((r) => setTimeout(r, extraMs));
      if (first.ended()) throw new Error(`oracle exited early: ${first.output()}`);
      first.signal("SIGKILL");
      await first.exited();
      const atKill = await onChain();

      const second = procs.spawn(process.execPath, ["bin/gridledger.js", "oracle"], await env());
      await waitFor(async () => second.ended() || (await onChain()) >= total, "every reading of the trial on chain", 900_000, 200);
      const outboxDone = () => {
        const o = new Outbox(db);
        try {
          const c = o.counts();
          return c.pending === 0 && c.submitted === 0;
        } finally {
          o.close();
        }
      };
      if (second.ended()) {
        // Only --csv: the restarted daemon ends by itself, exit 0, once every reading is confirmed
        // (README); anything else is a failure.
        const code = await second.exited();
        if (code !== 0 || (await onChain()) < total || !outboxDone()) throw new Error(`restarted oracle exited (code ${code}) before the trial was done: ${second.output()}`);
      } else {
        // Let it confirm what it sent, then stop it gracefully.
        await waitFor(outboxDone, "the outbox to confirm everything", 120_000, 200);
        second.signal("SIGTERM");
        expect(await second.exited(), second.output()).to.equal(0);
      }
      figures.push(`trial ${trial}: killed at ${atKill}/${total} on chain (target share ${share.toFixed(2)})`);
    }
    console.log(figures.map((f) => `      ${f}`).join("\n"));

    // The chain against the source data, over every trial.
    const { accepted, rejected } = await readingEvents(node.provider, await readings.getAddress());
    const seen = new Map<string, number>();
    for (const a of accepted) seen.set(`${a.meterId}:${a.interval}`, (seen.get(`${a.meterId}:${a.interval}`) ?? 0) + 1);
    const duplicated = [...seen.values()].filter((n) => n > 1).length;
    let lost = 0;
    let wrong = 0;
    const byKey = new Map(accepted.map((a) => [`${a.meterId}:${a.interval}`, a]));
    for (let t = 0; t < TRIALS * PER_TRIAL; t++) {
      for (let i = 0; i < METERS; i++) {
        const a = byKey.get(`${meterIdOf(i)}:${t}`);
        if (!a) lost++;
        else if (a.importWhTotal !== BigInt(registers(i, t).imp) || a.exportWhTotal !== BigInt(registers(i, t).exp)) wrong++;
      }
    }
    const otherRejections = rejected.filter((r) => r.reason !== 1); // 1 = AlreadyRecorded: a resend the contract caught
    console.log(`      ${TRIALS * PER_TRIAL * METERS} readings: ${lost} lost, ${duplicated} duplicated, ${wrong} with other registers; ${rejected.length - otherRejections.length} resends refused as AlreadyRecorded`);
    expect({ lost, duplicated, wrong, otherRejections: otherRejections.length, extra: accepted.length - TRIALS * PER_TRIAL * METERS }).to.deep.equal({ lost: 0, duplicated: 0, wrong: 0, otherRejections: 0, extra: 0 });
    const o = new Outbox(db);
    try {
      expect(o.counts()).to.deep.equal({ pending: 0, submitted: 0, confirmed: TRIALS * PER_TRIAL * METERS, quarantined: 0 });
    } finally {
      o.close();
    }
  });
});
