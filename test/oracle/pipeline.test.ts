import { expect } from "chai";
import { TypedDataEncoder, verifyMessage, recoverAddress } from "ethers";
import { READING_TYPES, readingsDomain } from "../../src/sdk/eip712";
import { Outbox, listQuarantine } from "../../src/oracle/outbox";
import { gateway, I, rig, START } from "./helpers";

const s = (meterKey: string, timestamp: number, imp: bigint, exp = 0n) => ({ source: "csv" as const, meterKey, timestamp, importWhTotal: imp, exportWhTotal: exp });

describe("oracle / pipeline", () => {
  describe("boundary sampling", () => {
    it("makes the last sample at or before an interval's end its reading", () => {
      const { pipeline, outbox } = rig();
      pipeline.sample(s("a", START + 100, 1000n));
      pipeline.sample(s("a", START + 800, 1100n)); // last before the end of interval 0
      expect(outbox.all()).to.have.length(0);
      pipeline.sample(s("a", START + 950, 1150n)); // crosses the boundary START + 900
      const [r] = outbox.all();
      expect(r).to.include({ interval: 0, importWhTotal: 1100n, sampleTimestamp: START + 800, status: "pending" });
    });

    it("takes a sample exactly on the boundary for the interval that ends there", () => {
      const { pipeline, outbox } = rig();
      pipeline.sample(s("a", START + 800, 1100n));
      pipeline.sample(s("a", START + 900, 1120n));
      expect(outbox.all().map((r) => [r.interval, r.importWhTotal])).to.deep.equal([[0, 1120n]]);
      pipeline.sample(s("a", START + 1000, 1130n));
      expect(outbox.all()).to.have.length(1);
    });

    it("gives no reading to intervals the meter was silent through", () => {
      const { pipeline, outbox } = rig();
      pipeline.sample(s("a", START + 800, 1100n));
      pipeline.sample(s("a", START + 4 * I + 10, 2000n));
      expect(outbox.all().map((r) => r.interval)).to.deep.equal([0]);
    });

    it("uses a silent meter's last sample once the clock is past the boundary and the grace", () => {
      const { pipeline, outbox, clock } = rig(undefined, { now: START + 905 });
      pipeline.sample(s("a", START + 800, 1100n));
      expect(pipeline.flushSilent()).to.equal(0); // within the grace
      clock.now = START + 931;
      // the sample arrived just now in wall-clock terms; the flush waits for the meter to be silent
      expect(pipeline.flushSilent()).to.equal(0);
      outbox.setCursor({ ...outbox.getCursor(outbox.all()[0]?.meterId ?? pipeline["o"].meters().get("a")!.meterId)!, receivedAtMs: 0 });
      expect(pipeline.flushSilent()).to.equal(1);
      expect(outbox.all().map((r) => [r.interval, r.importWhTotal])).to.deep.equal([[0, 1100n]]);
    });

    it("signs each reading with EIP-712 for the meter's signer", () => {
      const { pipeline, outbox, meters } = rig();
      pipeline.sample(s("a", START + 900, 1000n, 7n));
      const [r] = outbox.all();
      const domain = readingsDomain(31337, "0x00000000000000000000000000000000000000aa");
      const digest = TypedDataEncoder.hash(domain, READING_TYPES, { meterId: meters.get("a")!.meterId, interval: 0, importWhTotal: 1000n, exportWhTotal: 7n });
      expect(recoverAddress(digest, r.signature)).to.equal(gateway.address);
      expect(r.signer).to.equal(gateway.address);
      void verifyMessage;
    });
  });

  describe("validation", () => {
    const reasonOf = (o: Outbox) => o.listQuarantine()[0];

    it("refuses an unknown meter, naming the key", () => {
      const { pipeline, outbox } = rig();
      const res = pipeline.sample(s("nobody", START + 10, 1n));
      expect(res).to.deep.include({ status: "quarantined", field: "meterKey" });
      expect(reasonOf(outbox)).to.include({ source: "csv", meterKey: "nobody", field: "meterKey" });
      expect(reasonOf(outbox).reason).to.match(/unknown meter "nobody"/);
      expect(reasonOf(outbox).raw).to.contain('"importWhTotal":"1"');
    });

    it("refuses a register that went backwards, naming meter, field and both values", () => {
      const { pipeline, outbox } = rig();
      pipeline.sample(s("a", START + 10, 1000n, 50n));
      const res = pipeline.sample(s("a", START + 20, 1000n, 40n));
      expect(res).to.deep.include({ status: "quarantined", field: "exportWhTotal" });
      const q = reasonOf(outbox);
      expect(q).to.include({ meterKey: "a", field: "exportWhTotal" });
      expect(q.meterId).to.match(/^0x[0-9a-f]{64}$/);
      expect(q.reason).to.match(/register went backwards: last accepted 50 Wh .* got 40 Wh/);
      // the refused sample does not move the cursor: the next good one is judged against 50
      expect(pipeline.sample(s("a", START + 30, 1001n, 50n))).to.deep.equal({ status: "accepted", readings: 0 });
    });

    it("refuses a timestamp in the future", () => {
      const { pipeline, outbox, clock } = rig();
      const res = pipeline.sample(s("a", clock.now + 3600, 1n));
      expect(res).to.deep.include({ status: "quarantined", field: "timestamp" });
      expect(reasonOf(outbox).reason).to.match(/is in the future/);
    });

    it("refuses an impossible power for the meter's max power", () => {
      const { pipeline, outbox } = rig();
      pipeline.sample(s("b", START + 0, 0n)); // b: max 3 000 W
      const res = pipeline.sample(s("b", START + 60, 1000n)); // 1 kWh in a minute = 60 kW
      expect(res).to.deep.include({ status: "quarantined", field: "importWhTotal" });
      expect(reasonOf(outbox)).to.include({ meterKey: "b", field: "importWhTotal" });
      expect(reasonOf(outbox).reason).to.match(/implausible power: 1000 Wh in 60 s is about 60000 W, above the meter's max 3000 W/);
      expect(pipeline.sample(s("b", START + 60, 50n))).to.deep.equal({ status: "accepted", readings: 0 });
    });

    it("refuses a retired or unregistered meter with the registry's reason", () => {
      const { pipeline, outbox, meters } = rig();
      meters.set("a", { ...meters.get("a")!, usable: false, unusableReason: "meter 0x.. is retired in the CommunityRegistry" });
      expect(pipeline.sample(s("a", START + 10, 1n))).to.deep.include({ status: "quarantined", field: "meterId" });
      expect(reasonOf(outbox).reason).to.match(/retired/);
    });

    it("treats the same sample twice as a duplicate and a conflicting one as refused", () => {
      const { pipeline, outbox } = rig();
      pipeline.sample(s("a", START + 10, 5n));
      expect(pipeline.sample(s("a", START + 10, 5n))).to.deep.equal({ status: "duplicate" });
      expect(pipeline.sample(s("a", START + 10, 6n))).to.deep.include({ status: "quarantined", field: "timestamp" });
      expect(pipeline.sample(s("a", START + 5, 6n))).to.deep.include({ status: "quarantined", field: "timestamp" });
      expect(outbox.listQuarantine()).to.have.length(2);
    });
  });

  describe("group commit (sampleBatch)", () => {
    it("computes the EIP-712 digest of a reading exactly as TypedDataEncoder does", () => {
      const { pipeline, meters } = rig();
      const domain = readingsDomain(31337, "0x00000000000000000000000000000000000000aa");
      for (const m of [
        { meterId: meters.get("a")!.meterId, interval: 0, importWhTotal: 0n, exportWhTotal: 0n },
        { meterId: meters.get("b")!.meterId, interval: 0xffffffff, importWhTotal: (1n << 64n) - 1n, exportWhTotal: 12_345n },
        { meterId: "0x" + "00".repeat(31) + "01", interval: 77, importWhTotal: 1n, exportWhTotal: (1n << 63n) + 5n },
      ]) {
        expect(pipeline.digest(m)).to.equal(TypedDataEncoder.hash(domain, READING_TYPES, m));
      }
    });

    it("gives each sample of a batch the result, and leaves the outbox, quarantine and cursors, that one call per sample would", () => {
      const batch = [
        s("a", START + 800, 1100n),
        s("b", START + 800, 500n),
        s("a", START + 900, 1120n), // on a boundary: a reading
        s("a", START + 900, 1120n), // duplicate
        s("b", START + 850, 400n), // register went backwards: refused
        s("nobody", START + 900, 1n), // unknown meter: refused
        s("b", START + 1000, 600n), // crosses the boundary from the cursor (800): a reading for interval 0
        s("a", START + 900, 1121n), // conflicting sample: refused
      ];
      const one = rig();
      const expected = batch.map((x) => one.pipeline.sample(x));
      const many = rig();
      const got = many.pipeline.sampleBatch(batch);
      expect(got).to.deep.equal(expected);
      expect(got.map((r) => r.status)).to.deep.equal(["accepted", "accepted", "accepted", "duplicate", "quarantined", "quarantined", "accepted", "quarantined"]);
      const strip = (rows: { at?: number; id?: number }[]) => rows.map(({ at: _a, id: _i, ...rest }) => rest);
      expect(many.outbox.all()).to.deep.equal(one.outbox.all());
      expect(strip(many.outbox.listQuarantine())).to.deep.equal(strip(one.outbox.listQuarantine()));
      // What the batch committed is on disk: a fresh process sees the same readings and cursors.
      many.outbox.close();
      one.outbox.close();
      const reopened = new Outbox(many.dbPath);
      const reference = new Outbox(one.dbPath);
      expect(reopened.all()).to.deep.equal(reference.all());
      expect(reopened.allCursors().map((c) => ({ ...c, receivedAtMs: 0 }))).to.deep.equal(reference.allCursors().map((c) => ({ ...c, receivedAtMs: 0 })));
      expect(reopened.all().map((r) => `${r.meterKey}:${r.interval}`).sort()).to.deep.equal(["a:0", "b:0"]);
      reopened.close();
      reference.close();
    });

    it("takes nothing of a batch that fails with an error that is not a refusal, and keeps no stale cursor", () => {
      const { pipeline, outbox, meters } = rig();
      const broken = { ...s("b", START + 900, 0n), importWhTotal: undefined as unknown as bigint }; // a buggy source
      expect(() => pipeline.sampleBatch([s("a", START + 900, 1000n), broken])).to.throw();
      expect(outbox.all()).to.have.length(0);
      expect(outbox.getCursor(meters.get("a")!.meterId)).to.equal(undefined);
      // and the meter goes on as if the batch had never come
      expect(pipeline.sampleBatch([s("a", START + 900, 1000n), s("b", START + 900, 10n)]).map((r) => r.status)).to.deep.equal(["accepted", "accepted"]);
      expect(outbox.all()).to.have.length(2);
    });
  });

  describe("outbox", () => {
    it("keeps one row per (meter, interval), whatever is inserted twice", () => {
      const { outbox, meters } = rig();
      const r = { meterId: meters.get("a")!.meterId, interval: 3, meterKey: "a", importWhTotal: 1n, exportWhTotal: 2n, sampleTimestamp: START, signer: gateway.address, signature: "0x01" };
      expect(outbox.insertReading(r)).to.equal(true);
      expect(outbox.insertReading({ ...r, importWhTotal: 99n })).to.equal(false);
      expect(outbox.all()).to.have.length(1);
      expect(outbox.all()[0].importWhTotal).to.equal(1n);
    });

    it("resumes after a restart: cursor, readings and quarantine survive and nothing is duplicated", () => {
      const a = rig();
      a.pipeline.sample(s("a", START + 800, 1100n));
      a.pipeline.sample(s("a", START + 950, 1150n));
      a.pipeline.sample(s("nobody", START + 950, 1n));
      a.outbox.close();

      const b = rig(a.dbPath);
      // the same samples replayed (a restarted source) add nothing
      b.pipeline.sample(s("a", START + 800, 1100n));
      b.pipeline.sample(s("a", START + 950, 1150n));
      expect(b.outbox.all()).to.have.length(1);
      // the persisted cursor (1150 at +950) still produces interval 1 when the next boundary passes
      b.pipeline.sample(s("a", START + 1900, 1300n));
      expect(b.outbox.all().map((r) => [r.interval, r.importWhTotal])).to.deep.equal([[0, 1100n], [1, 1150n]]);
      b.outbox.close();
      expect(listQuarantine(a.dbPath).map((q) => q.meterKey)).to.include("nobody");
    });

    it("stores uint64 registers exactly", () => {
      const { pipeline, outbox } = rig();
      const big = (1n << 64n) - 2n;
      outbox.setCursor({ meterId: pipeline["o"].meters().get("a")!.meterId, timestamp: START + 1, importWhTotal: big, exportWhTotal: 0n, emittedThrough: -1, receivedAtMs: 0 });
      outbox.dropCursorCache();
      pipeline.sample(s("a", START + 900, big));
      expect(outbox.all()[0].importWhTotal).to.equal(big);
    });
  });
});
