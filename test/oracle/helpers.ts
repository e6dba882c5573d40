import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import * as net from "node:net";
import { Wallet, id } from "ethers";
import { Outbox } from "../../src/oracle/outbox";
import { MeterInfo, Pipeline } from "../../src/oracle/pipeline";
import { readingsDomain } from "../../src/sdk/eip712";

export const START = 1_700_000_100 - (1_700_000_100 % 900); // a whole 900 s interval
export const I = 900;
export const gateway = new Wallet(id("gridledger test gateway key"));

export function tmpDir(prefix = "gl-oracle-"): string {
  return fs.mkdtempSync(path.join(os.tmpdir(), prefix));
}

export function meter(key: string, maxPowerW = 10_000): MeterInfo {
  return { meterKey: key, meterId: id(`meter:${key}`).toLowerCase(), signer: gateway.address, maxPowerW, usable: true };
}

export interface Rig {
  outbox: Outbox;
  pipeline: Pipeline;
  meters: Map<string, MeterInfo>;
  clock: { now: number };
  dbPath: string;
}

/** An outbox in a temp file and a pipeline with a settable clock and meters "a" and "b". */
export function rig(dbPath = path.join(tmpDir(), "oracle.sqlite"), clock = { now: START + 100 * I }): Rig {
  const meters = new Map<string, MeterInfo>([["a", meter("a")], ["b", meter("b", 3_000)]]);
  const outbox = new Outbox(dbPath, () => clock.now);
  const pipeline = new Pipeline({
    outbox,
    meters: () => meters,
    timing: { marketStart: START, intervalSeconds: I },
    domain: readingsDomain(31337, "0x00000000000000000000000000000000000000aa"),
    keys: new Map([[gateway.address.toLowerCase(), gateway]]),
    now: () => clock.now,
    boundaryGraceSeconds: 30,
  });
  return { outbox, pipeline, meters, clock, dbPath };
}

export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = net.createServer();
    s.once("error", reject);
    s.listen(0, "127.0.0.1", () => {
      const port = (s.address() as net.AddressInfo).port;
      s.close(() => resolve(port));
    });
  });
}

export async function waitFor<T>(fn: () => T | Promise<T>, what: string, timeoutMs = 20_000, everyMs = 50): Promise<T> {
  const until = Date.now() + timeoutMs;
  for (;;) {
    const v = await fn();
    if (v) return v;
    if (Date.now() > until) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, everyMs));
  }
}
