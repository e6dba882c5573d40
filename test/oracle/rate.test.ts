/**
 * Issue 19, the rate part: the signing and commit machinery behind the `ingest` bench figures.
 * Equality with the reference path (ethers, one transaction per sample) is what is tested here;
 * the rates themselves live in `npm run bench -- --only ingest`, never in a timed test.
 */
import { expect } from "chai";
import * as path from "node:path";
import { Wallet, id, TypedDataEncoder } from "ethers";
import { digestSigner, nativeSecp256k1 } from "../../src/oracle/signer";
import { fastReadingDigester } from "../../src/oracle/digest";
import { SignerPool } from "../../src/oracle/signpool";
import { GroupCommit } from "../../src/oracle/groupcommit";
import { Pipeline } from "../../src/oracle/pipeline";
import { Outbox } from "../../src/oracle/outbox";
import { READING_TYPES, readingsDomain } from "../../src/sdk/eip712";
import type { RawSample } from "../../src/oracle/types";
import { gateway, I, meter, START, tmpDir } from "./helpers";

const domain = readingsDomain(31337, "0x00000000000000000000000000000000000000aa");

async function rejects(p: Promise<unknown>, re?: RegExp): Promise<void> {
  try {
    await p;
  } catch (e) {
    if (re) expect((e as Error).message).to.match(re);
    return;
  }
  expect.fail("resolved, expected a rejection");
}

/** A seeded stream (mulberry32) of samples of `meters` meters, a few a minute, across several boundaries. */
function stream(meters: number, count: number, seed = 7): RawSample[] {
  let a = seed >>> 0;
  const rnd = () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  const state = Array.from({ length: meters }, () => ({ ts: START + 100 * I - 200, imp: 1000n, exp: 0n }));
  const out: RawSample[] = [];
  for (let k = 0; k < count; k++) {
    const m = Math.floor(rnd() * meters);
    const st = state[m];
    st.ts += 1 + Math.floor(rnd() * 300);
    st.imp += BigInt(Math.floor(rnd() * 200));
    st.exp += BigInt(Math.floor(rnd() * 50));
    out.push({ source: "test", meterKey: `m${m}`, timestamp: st.ts, importWhTotal: st.imp, exportWhTotal: st.exp });
  }
  return out;
}

function rigWith(meters: number, pool?: SignerPool, file = ":memory:") {
  const infos = new Map(Array.from({ length: meters }, (_, m) => [`m${m}`, meter(`m${m}`, 1_000_000)] as const));
  const outbox = new Outbox(file, () => START + 200 * I);
  const pipeline = new Pipeline({ outbox, meters: () => infos, timing: { marketStart: START, intervalSeconds: I }, domain, keys: new Map([[gateway.address.toLowerCase(), gateway]]), now: () => START + 200 * I, signerPool: pool });
  return { outbox, pipeline };
}

describe("oracle / ingest at rate (issue 19)", () => {
  it("signs with libsecp256k1 exactly as ethers does (RFC 6979, low s)", () => {
    if (!nativeSecp256k1()) console.log("      (the native addon did not load here: both paths are ethers)");
    const w = new Wallet(id("rate test key"));
    const native = digestSigner(w);
    const js = digestSigner(w, { pureJs: true });
    for (let i = 0; i < 50; i++) {
      const d = id(`digest ${i}`);
      expect(native(d)).to.equal(js(d));
      expect(native(d)).to.equal(w.signingKey.sign(d).serialized);
    }
  });

  it("hashes readings exactly as TypedDataEncoder, at the edges of every field", () => {
    const f = fastReadingDigester(domain);
    const U64 = (1n << 64n) - 1n;
    for (const m of [
      { meterId: id("a"), interval: 0, importWhTotal: 0n, exportWhTotal: 0n },
      { meterId: id("b"), interval: 0xffffffff, importWhTotal: U64, exportWhTotal: U64 },
      { meterId: id("c"), interval: 123_456, importWhTotal: 1n << 40n, exportWhTotal: 7n },
    ]) expect(f(m)).to.equal(TypedDataEncoder.hash(domain, READING_TYPES, m));
  });

  it("signs on worker threads exactly as on the main thread", async () => {
    const pool = new SignerPool(new Map([[gateway.address.toLowerCase(), gateway]]), { threads: 2 });
    try {
      const digests = Array.from({ length: 37 }, (_, i) => id(`pool ${i}`));
      const sigs = await pool.sign(gateway.address, digests);
      expect(sigs).to.deep.equal(digests.map((d) => gateway.signingKey.sign(d).serialized));
      await rejects(pool.sign("0x" + "99".repeat(20), [digests[0]]), /no key for/);
    } finally {
      await pool.close();
    }
  });

  it("gives, through GroupCommit and pre-signing threads, the same outbox, quarantine and cursors as one sample at a time", async () => {
    const samples = stream(40, 1500);
    // A few bad ones in the stream: a backwards register and an unknown meter.
    samples.splice(300, 0, { ...samples[299], meterKey: "nobody" });
    samples.splice(700, 0, { ...samples[650], timestamp: samples[650].timestamp + 1, importWhTotal: 0n });
    const ref = rigWith(40);
    for (const s of samples) ref.pipeline.sample(s);
    const pool = new SignerPool(new Map([[gateway.address.toLowerCase(), gateway]]), { threads: 2 });
    const fast = rigWith(40, pool);
    const group = new GroupCommit(fast.pipeline, { maxDelayMs: 2, maxSamples: 97 });
    try {
      const results = await Promise.all(samples.map((s) => group.push([s])));
      expect(results.filter((r) => r[0].status === "quarantined")).to.have.length(ref.outbox.listQuarantine().length);
      expect(group.commits).to.be.lessThan(samples.length / 10);
    } finally {
      await pool.close();
    }
    const strip = <T extends object>(xs: T[]) => xs.map((x) => JSON.stringify(x, (k, v) => (k === "at" || k === "id" || k === "receivedAtMs" ? undefined : typeof v === "bigint" ? v.toString() : v)));
    expect(ref.outbox.all().length).to.be.greaterThan(40);
    expect(strip(fast.outbox.all())).to.deep.equal(strip(ref.outbox.all()));
    expect(strip(fast.outbox.listQuarantine())).to.deep.equal(strip(ref.outbox.listQuarantine()));
    expect(strip(fast.outbox.allCursors())).to.deep.equal(strip(ref.outbox.allCursors()));
    ref.outbox.close();
    fast.outbox.close();
  });

  it("resolves a push only once its samples are committed, and rejects every push of a batch the disk refused", async () => {
    const { outbox, pipeline } = rigWith(2, undefined, path.join(tmpDir("gl-rate-"), "oracle.sqlite"));
    const group = new GroupCommit(pipeline, { maxDelayMs: 1000, maxSamples: 3 });
    let resolved = false;
    const p = group.push([{ source: "test", meterKey: "m0", timestamp: START + 10, importWhTotal: 1n, exportWhTotal: 0n }]).then((r) => ((resolved = true), r));
    await new Promise((r) => setTimeout(r, 20));
    expect(resolved, "resolved before the commit").to.equal(false);
    expect(outbox.getCursor(meter("m0").meterId)).to.equal(undefined);
    await group.flush();
    expect((await p)[0].status).to.equal("accepted");
    outbox.db.close(); // the disk goes away
    const a = group.push([{ source: "test", meterKey: "m0", timestamp: START + 20, importWhTotal: 2n, exportWhTotal: 0n }]);
    const b = group.push([{ source: "test", meterKey: "m1", timestamp: START + 20, importWhTotal: 2n, exportWhTotal: 0n }]);
    void group.flush();
    await rejects(a);
    await rejects(b);
  });
});
