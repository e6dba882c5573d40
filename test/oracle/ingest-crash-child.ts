/**
 * Child process of ingest-crash.test.ts: feeds a deterministic 1 Hz stream of METERS meters into
 * the real pipeline through GroupCommit and the signer threads, as fast as it can, resuming after
 * the last durable sample (plus `skip` seconds, the samples a meter sent while the oracle was down).
 * Prints "done" at the end of the stream. The parent SIGKILLs it at random moments.
 */
import { Wallet, id } from "ethers";
import { Outbox } from "../../src/oracle/outbox";
import { MeterInfo, Pipeline } from "../../src/oracle/pipeline";
import { GroupCommit } from "../../src/oracle/groupcommit";
import { SignerPool } from "../../src/oracle/signpool";
import { readingsDomain } from "../../src/sdk/eip712";
import { BASE, INTERVAL, METERS, SECONDS, MARKET_START, registers } from "./ingest-crash-stream";

async function main(): Promise<void> {
  const [db, skipArg] = process.argv.slice(2);
  const gateway = new Wallet(id("ingest crash gateway"));
  const keys = new Map([[gateway.address.toLowerCase(), gateway]]);
  const infos = new Map<string, MeterInfo>();
  for (let m = 0; m < METERS; m++) infos.set(`m${m}`, { meterKey: `m${m}`, meterId: id(`crash-meter:${m}`).toLowerCase(), signer: gateway.address, maxPowerW: 1_000_000, usable: true });
  const outbox = new Outbox(db, () => BASE + SECONDS + 10);
  // The signer threads take part when asked (GRIDLEDGER_TEST_SIGNER_THREADS=1): on a loaded machine their round trips make the test slow.
  const pool = process.env.GRIDLEDGER_TEST_SIGNER_THREADS === "1" ? new SignerPool(keys, { threads: 1 }) : undefined;
  const pipeline = new Pipeline({ outbox, meters: () => infos, timing: { marketStart: MARKET_START, intervalSeconds: INTERVAL }, domain: readingsDomain(31337n, "0x" + "22".repeat(20)), keys, gatewayAddress: gateway.address, now: () => BASE + SECONDS + 10, signerPool: pool });
  const group = new GroupCommit(pipeline, { maxDelayMs: 2, maxSamples: 137 });
  const cursors = outbox.allCursors();
  const resume = cursors.length ? Math.max(...cursors.map((c) => c.timestamp)) - BASE + 1 + Number(skipArg ?? 0) : 0;
  await pool?.ready;
  process.stdout.write(`feeding from ${resume}\n`);
  for (let k = resume; k < SECONDS; k++) {
    const pending: Promise<unknown>[] = [];
    for (let m = 0; m < METERS; m++) {
      const r = registers(m, BASE + k);
      pending.push(group.push([{ source: "crash", meterKey: `m${m}`, timestamp: BASE + k, importWhTotal: r.imp, exportWhTotal: r.exp }]));
    }
    await Promise.all(pending);
  }
  await group.close();
  await pool?.close();
  outbox.close();
  process.stdout.write("done\n");
}

// Run only as the child process (mocha loads every file under test/ when `npm test` starts).
if (require.main === module) main().then(
  () => process.exit(0),
  (e) => {
    process.stderr.write(String((e as Error).stack ?? e));
    process.exit(1);
  },
);
