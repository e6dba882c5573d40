import { expect } from "chai";
import { ethers } from "hardhat";
import { dataLength, TypedDataEncoder, ZeroHash } from "ethers";
import { READING_TYPES } from "../../src/sdk/eip712";
import { ROLES } from "../../src/sdk/roles";
import { Core, deployCommunity, meterId } from "../helpers/fixtures";
import { goToInterval, Reject, signReading } from "../helpers/readings";

describe("MeterReadings", () => {
  let c: Core;
  const A = meterId("alice");
  const B = meterId("bob");
  // The registers the community fixture registered the meters with; 10 kW: 2,500 Wh per 900 s.
  const [A_IMP, A_EXP] = [1000n, 500n];
  const [B_IMP, B_EXP] = [2000n, 0n];
  const MAX_WH = 2500n;
  const U64_MAX = 2n ** 64n - 1n;
  /** A signature word (r or vs) in a `ReadingAccepted` (where the test does not hold the exact one). */
  const anyWord = (v: string) => dataLength(v) === 32;
  /** The position index `ReadingAccepted` names a member by. */
  const indexOf = async (member: string) => c.readings.memberIndexOf(member);

  beforeEach(async () => {
    c = await deployCommunity();
  });

  const submit = async (rs: Awaited<ReturnType<typeof signReading>>[]) => c.readings.submitReadings(rs);
  const sign = (meter: string, interval: number, imp: bigint, exp: bigint, signer = c.signerKey) =>
    signReading(c.readings, signer, { meterId: meter, interval, importWhTotal: imp, exportWhTotal: exp });

  describe("time", () => {
    it("starts at a whole interval of 900 s with a deadline of one interval", async () => {
      expect(await c.readings.intervalSeconds()).to.equal(900n);
      expect(await c.readings.readingDeadlineSeconds()).to.equal(900n);
      expect((await c.readings.marketStart()) % 900n).to.equal(0n);
    });

    it("counts intervals from the market start", async () => {
      await goToInterval(c.readings, 5, 10);
      expect(await c.readings.currentInterval()).to.equal(5n);
    });
  });

  describe("when readings are valid", () => {
    it("measures the first reading from the registers the meter was registered with, records energy and mints nothing (issue 16)", async () => {
      const before = await c.readings.meterState(A);
      expect([before.lastInterval, before.importWhTotal, before.exportWhTotal, before.hasReading, before.nextInterval]).to.deep.equal([0n, A_IMP, A_EXP, false, 0n]);
      await goToInterval(c.readings, 1);
      const r = await sign(A, 0, 1200n, 1500n);
      await expect(submit([r]))
        .to.emit(c.readings, "ReadingAccepted")
        .withArgs(A, 0, await indexOf(c.alice.address), 1200n, 1500n, 200n, 1000n, 0n, 0n, r.r, r.vs);
      expect(await c.energy.totalSupply()).to.equal(0n);
      const p = await c.readings.positionOf(0, c.alice.address);
      expect([p.importWh, p.exportWh]).to.deep.equal([200n, 1000n]);
      expect(await c.readings.participantCount(0)).to.equal(1n);
      expect(await c.readings.reportedCount(0)).to.equal(1n);
      expect(await c.readings.isRecorded(A, 0)).to.equal(true);
      const s = await c.readings.meterState(A);
      expect([s.lastInterval, s.importWhTotal, s.exportWhTotal, s.hasReading, s.nextInterval]).to.deep.equal([0n, 1200n, 1500n, true, 1n]);

      await goToInterval(c.readings, 2);
      await expect(submit([await sign(A, 1, 1300n, 1500n)]))
        .to.emit(c.readings, "ReadingAccepted")
        .withArgs(A, 1, await indexOf(c.alice.address), 1300n, 1500n, 100n, 0n, 0n, 0n, anyWord, anyWord);
      expect(await c.energy.balanceOf(c.alice.address)).to.equal(0n);
    });

    it("sums several meters of one member into one position", async () => {
      await c.registry.registerMeter(meterId("alice-2"), c.alice.address, c.signerKey.address, 10_000, 1, 0n, 0n);
      const A2 = meterId("alice-2");
      await goToInterval(c.readings, 1);
      await submit([await sign(A, 0, A_IMP, A_EXP), await sign(A2, 0, 0n, 0n)]);
      await goToInterval(c.readings, 2);
      await submit([await sign(A, 1, A_IMP + 100n, A_EXP + 10n), await sign(A2, 1, 5n, 300n)]);
      const p = await c.readings.positionOf(1, c.alice.address);
      expect([p.importWh, p.exportWh]).to.deep.equal([105n, 310n]);
      expect(await c.readings.participantCount(1)).to.equal(1n);
    });

    it("allows a gap: the next reading's difference covers the missed intervals, one interval's max power booked", async () => {
      await goToInterval(c.readings, 1);
      await submit([await sign(A, 0, A_IMP, A_EXP)]);
      await goToInterval(c.readings, 4);
      // 3 intervals at 10 kW max: up to 7,500 Wh are plausible; 2,500 are booked to interval 3.
      await expect(submit([await sign(A, 3, A_IMP + 7500n, A_EXP)]))
        .to.emit(c.readings, "ReadingAccepted")
        .withArgs(A, 3, await indexOf(c.alice.address), A_IMP + 7500n, A_EXP, MAX_WH, 0n, 7500n - MAX_WH, 0n, anyWord, anyWord);
    });
  });

  describe("lumping: energy is booked to the intervals in which it could have flowed (issue 14, item 5)", () => {
    it("books one interval's max power of 20,000 Wh exported over a suspension, the rest unbooked", async () => {
      await goToInterval(c.readings, 1);
      await submit([await sign(A, 0, A_IMP, A_EXP)]);
      // Suspended for intervals 1..8: its gateway keeps the readings; reinstated, it posts 20,000 Wh at once.
      await c.registry.suspendMember(c.alice.address);
      await goToInterval(c.readings, 9);
      await c.registry.reinstateMember(c.alice.address);
      await goToInterval(c.readings, 10);
      const r = await sign(A, 9, A_IMP, A_EXP + 20_000n);
      await expect(submit([r]))
        .to.emit(c.readings, "ReadingAccepted")
        .withArgs(A, 9, await indexOf(c.alice.address), A_IMP, A_EXP + 20_000n, 0n, MAX_WH, 0n, 20_000n - MAX_WH, r.r, r.vs);
      const p = await c.readings.positionOf(9, c.alice.address);
      expect([p.importWh, p.exportWh]).to.deep.equal([0n, MAX_WH]);
      // The registers moved on in full: the next reading is measured from them.
      expect((await c.readings.meterState(A)).exportWhTotal).to.equal(A_EXP + 20_000n);
    });

    it("still refuses a delta impossible even over the whole elapsed time", async () => {
      await goToInterval(c.readings, 1);
      await submit([await sign(A, 0, A_IMP, A_EXP)]);
      await goToInterval(c.readings, 8);
      // 7 intervals since the last reading: 17,500 Wh at most.
      await expect(submit([await sign(A, 7, A_IMP, A_EXP + 20_000n)]))
        .to.emit(c.readings, "ReadingRejected")
        .withArgs(A, 7, Reject.ImplausiblePower);
      expect(await c.energy.totalSupply()).to.equal(0n);
    });
  });

  describe("starting registers (issue 14, item 6)", () => {
    it("refuses a first reading of 2^64-1 signed by a leaked gateway key, and takes the genuine one after it", async () => {
      await goToInterval(c.readings, 1);
      await expect(submit([await sign(A, 0, U64_MAX, U64_MAX)]))
        .to.emit(c.readings, "ReadingRejected")
        .withArgs(A, 0, Reject.ImplausiblePower);
      expect(await c.readings.isRecorded(A, 0)).to.equal(false);
      await expect(submit([await sign(A, 0, A_IMP + 10n, A_EXP + 20n)]))
        .to.emit(c.readings, "ReadingAccepted")
        .withArgs(A, 0, await indexOf(c.alice.address), A_IMP + 10n, A_EXP + 20n, 10n, 20n, 0n, 0n, anyWord, anyWord);
    });

    it("refuses a first reading below the registration registers", async () => {
      await goToInterval(c.readings, 1);
      await expect(submit([await sign(A, 0, A_IMP - 1n, A_EXP)]))
        .to.emit(c.readings, "ReadingRejected")
        .withArgs(A, 0, Reject.RegisterWentBackwards);
    });

    it("bounds the first reading by max power since the registration", async () => {
      await goToInterval(c.readings, 1);
      await expect(submit([await sign(A, 0, A_IMP, A_EXP + MAX_WH + 1n)]))
        .to.emit(c.readings, "ReadingRejected")
        .withArgs(A, 0, Reject.ImplausiblePower);
    });

    it("refuses a reading for an interval that ended before the registration", async () => {
      await goToInterval(c.readings, 3);
      const A3 = meterId("alice-3");
      await c.registry.registerMeter(A3, c.alice.address, c.signerKey.address, 10_000, 1, 0n, 0n);
      expect((await c.readings.meterState(A3)).nextInterval).to.equal(3n);
      await expect(submit([await sign(A3, 2, 0n, 0n)]))
        .to.emit(c.readings, "ReadingRejected")
        .withArgs(A3, 2, Reject.IntervalNotAfterLast);
      await goToInterval(c.readings, 4);
      await expect(submit([await sign(A3, 3, 0n, 100n)])).to.emit(c.readings, "ReadingAccepted");
    });

    it("lets an operator reset a replaced meter's registers, with an event, from the current interval", async () => {
      await goToInterval(c.readings, 1);
      await submit([await sign(A, 0, A_IMP + 10n, A_EXP + 20n)]);
      await goToInterval(c.readings, 2, 30);
      // The meter is replaced in interval 2: the new one starts at zero.
      await expect(c.readings.resetMeterRegisters(A, 0n, 0n))
        .to.emit(c.readings, "MeterRegistersReset")
        .withArgs(A, 2, A_IMP + 10n, A_EXP + 20n, 0n, 0n);
      const s = await c.readings.meterState(A);
      expect([s.importWhTotal, s.exportWhTotal, s.hasReading, s.nextInterval]).to.deep.equal([0n, 0n, false, 2n]);
      // The old meter's pending reading for interval 1 comes too late; interval 0 stays recorded.
      await expect(submit([await sign(A, 1, A_IMP + 20n, A_EXP + 20n)]))
        .to.emit(c.readings, "ReadingRejected")
        .withArgs(A, 1, Reject.IntervalNotAfterLast);
      await expect(submit([await sign(A, 0, A_IMP + 10n, A_EXP + 20n)]))
        .to.emit(c.readings, "ReadingRejected")
        .withArgs(A, 0, Reject.AlreadyRecorded);
      await goToInterval(c.readings, 3);
      await expect(submit([await sign(A, 2, 100n, 50n)]))
        .to.emit(c.readings, "ReadingAccepted")
        .withArgs(A, 2, await indexOf(c.alice.address), 100n, 50n, 100n, 50n, 0n, 0n, anyWord, anyWord);
    });

    it("repairs a meter whose registers were set wrong: after a reset its readings are taken again", async () => {
      await goToInterval(c.readings, 1);
      // The meter really shows 900,000 Wh imported: every reading is refused as implausible.
      await expect(submit([await sign(A, 0, 900_000n, A_EXP)]))
        .to.emit(c.readings, "ReadingRejected")
        .withArgs(A, 0, Reject.ImplausiblePower);
      await c.readings.resetMeterRegisters(A, 900_000n, A_EXP);
      await goToInterval(c.readings, 2);
      await expect(submit([await sign(A, 1, 900_100n, A_EXP)]))
        .to.emit(c.readings, "ReadingAccepted")
        .withArgs(A, 1, await indexOf(c.alice.address), 900_100n, A_EXP, 100n, 0n, 0n, 0n, anyWord, anyWord);
    });

    it("refuses a reset by a non-operator, and of an unknown or retired meter", async () => {
      await expect(c.readings.connect(c.mallory).resetMeterRegisters(A, 0n, 0n))
        .to.be.revertedWithCustomError(c.readings, "AccessControlUnauthorizedAccount")
        .withArgs(c.mallory.address, ROLES.OPERATOR_ROLE);
      await expect(c.readings.resetMeterRegisters(meterId("nope"), 0n, 0n))
        .to.be.revertedWithCustomError(c.readings, "ReadingsMeterNotActive")
        .withArgs(meterId("nope"));
      await c.registry.retireMeter(B);
      await expect(c.readings.resetMeterRegisters(B, 0n, 0n))
        .to.be.revertedWithCustomError(c.readings, "ReadingsMeterNotActive")
        .withArgs(B);
    });
  });

  describe("for the auditor", () => {
    it("publishes the EIP-712 type of a reading, the one the SDK signs", async () => {
      const type = await c.readings.READING_TYPE();
      expect(type).to.equal("Reading(bytes32 meterId,uint32 interval,uint64 importWhTotal,uint64 exportWhTotal)");
      expect(type).to.equal(TypedDataEncoder.from(READING_TYPES).encodeType("Reading"));
    });
  });

  describe("when a reading is bad", () => {
    beforeEach(async () => {
      await goToInterval(c.readings, 1);
      await submit([await sign(A, 0, 1000n, 1000n), await sign(B, 0, B_IMP, B_EXP)]);
      await goToInterval(c.readings, 2);
    });

    const expectRejected = async (reading: Awaited<ReturnType<typeof signReading>>, reason: number) => {
      const before = await c.readings.meterState(reading.meterId as string);
      await expect(submit([reading]))
        .to.emit(c.readings, "ReadingRejected")
        .withArgs(reading.meterId, reading.interval, reason);
      expect(await c.readings.meterState(reading.meterId as string)).to.deep.equal(before);
    };

    it("rejects an unknown meter", async () => expectRejected(await sign(meterId("nope"), 1, 1n, 1n), Reject.UnknownMeter));

    it("rejects a retired meter", async () => {
      await c.registry.retireMeter(A);
      await expectRejected(await sign(A, 1, 1001n, 1001n), Reject.MeterRetired);
    });

    it("rejects a meter whose owner is suspended", async () => {
      await c.registry.suspendMember(c.alice.address);
      await expectRejected(await sign(A, 1, 1001n, 1001n), Reject.OwnerNotActive);
    });

    it("rejects a signature by another key", async () =>
      expectRejected(await sign(A, 1, 1001n, 1001n, c.mallory), Reject.BadSignature));

    it("rejects a malformed signature: r or s zero, an r off the curve, s at or above the order", async () => {
      const r = await sign(A, 1, 1001n, 1001n);
      const n = 0xfffffffffffffffffffffffffffffffebaaedce6af48a03bbfd25e8cd0364141n;
      await expectRejected({ ...r, r: ZeroHash }, Reject.BadSignature);
      await expectRejected({ ...r, vs: ZeroHash }, Reject.BadSignature);
      await expectRejected({ ...r, r: ethers.toBeHex(1n, 32) }, Reject.BadSignature);
      await expectRejected({ ...r, vs: ethers.toBeHex(n, 32) }, Reject.BadSignature);
      await expect(submit([r])).to.emit(c.readings, "ReadingAccepted");
    });

    it("rejects the malleable twin of a good signature (high s), with either parity bit", async () => {
      // The reading carries the compact form (r, vs) of EIP-2098, checked by OpenZeppelin's
      // ECDSA.tryRecover(r, vs): the twin (n - s, the other parity) recovers the same signer
      // but is refused, so every reading has exactly one signature.
      const r = await sign(A, 1, 1001n, 1001n);
      const sig = ethers.Signature.from(r.signature);
      const n = 0xfffffffffffffffffffffffffffffffebaaedce6af48a03bbfd25e8cd0364141n;
      const highS = n - BigInt(sig.s);
      const parity = (y: number) => BigInt(y) << 255n;
      await expectRejected({ ...r, vs: ethers.toBeHex(parity(sig.yParity === 0 ? 1 : 0) | highS, 32) }, Reject.BadSignature);
      await expectRejected({ ...r, vs: ethers.toBeHex(parity(sig.yParity) | highS, 32) }, Reject.BadSignature);
      // The good form is still accepted afterwards (nothing of the refused ones was recorded).
      await expect(submit([r])).to.emit(c.readings, "ReadingAccepted");
    });

    it("rejects a signature replayed into another interval", async () => {
      const r = await sign(A, 1, 1001n, 1001n);
      await expectRejected({ ...r, interval: 2 }, Reject.BadSignature);
    });

    it("rejects a signature made for another chain or another contract", async () => {
      const input = { meterId: A, interval: 1, importWhTotal: 1001n, exportWhTotal: 1001n };
      await expectRejected(await signReading(c.readings, c.signerKey, input, { chainId: 1n }), Reject.BadSignature);
      await expectRejected(
        await signReading(c.readings, c.signerKey, input, { verifyingContract: await c.credit.getAddress() }),
        Reject.BadSignature,
      );
    });

    it("reports a resubmission as already recorded", async () => {
      await submit([await sign(A, 1, 1001n, 1001n)]);
      await expectRejected(await sign(A, 1, 1001n, 1001n), Reject.AlreadyRecorded);
    });

    it("rejects an interval not after the meter's last one", async () => {
      await goToInterval(c.readings, 3);
      await submit([await sign(A, 2, 1001n, 1001n)]);
      await expectRejected(await sign(A, 1, 1001n, 1001n), Reject.IntervalNotAfterLast);
    });

    it("rejects an interval that has not ended", async () =>
      expectRejected(await sign(A, 2, 1001n, 1001n), Reject.IntervalNotEnded));

    it("rejects a reading after the deadline", async () => {
      await goToInterval(c.readings, 3, 2);
      await expectRejected(await sign(A, 1, 1001n, 1001n), Reject.IntervalClosed);
    });

    it("rejects a register that went backwards", async () =>
      expectRejected(await sign(A, 1, 999n, 1001n), Reject.RegisterWentBackwards));

    it("rejects an impossible power", async () =>
      // 10 kW over 900 s is 2,500 Wh at most.
      expectRejected(await sign(A, 1, 1000n, 3501n), Reject.ImplausiblePower));

    it("keeps the good readings of a batch with bad ones", async () => {
      const good = await sign(B, 1, B_IMP + 100n, 200n);
      const bad = await sign(A, 1, 1n, 1n);
      const tx = submit([bad, good]);
      await expect(tx).to.emit(c.readings, "ReadingRejected").withArgs(A, 1, Reject.RegisterWentBackwards);
      await expect(tx).to.emit(c.readings, "ReadingAccepted").withArgs(B, 1, await indexOf(c.bob.address), B_IMP + 100n, 200n, 100n, 200n, 0n, 0n, good.r, good.vs);
      expect((await c.readings.positionOf(1, c.bob.address)).exportWh).to.equal(200n);
      expect(await c.readings.submitReadings.staticCall([await sign(A, 1, 1000n, 1000n)])).to.equal(1n);
    });
  });

  describe("its own copy of each meter (issue 16: one cold read instead of registry calls)", () => {
    const MS = { Active: 1, Retired: 2 };

    it("is the registry's meter hook, set once, and copies a meter at its registration", async () => {
      expect(await c.registry.meterHook()).to.equal(await c.readings.getAddress());
      await expect(c.registry.setMeterHook(c.mallory.address))
        .to.be.revertedWithCustomError(c.registry, "RegistryMeterHookAlreadySet")
        .withArgs(await c.readings.getAddress());
      const C = meterId("carol");
      await c.registry.onboardMember(c.carol.address, 2, ZeroHash);
      await expect(c.registry.registerMeter(C, c.carol.address, c.signerKey.address, 4_000, 1, 0n, 0n))
        .to.emit(c.readings, "MeterSynced")
        .withArgs(C, c.carol.address, c.carol.address, c.signerKey.address, 4_000, MS.Active, true);
    });

    it("follows a suspension and a reinstatement for the very next reading", async () => {
      await goToInterval(c.readings, 1);
      await expect(c.registry.suspendMember(c.alice.address))
        .to.emit(c.readings, "MeterSynced")
        .withArgs(A, c.alice.address, c.alice.address, c.signerKey.address, 10_000, MS.Active, false);
      const r = await sign(A, 0, A_IMP + 1n, A_EXP);
      await expect(submit([r])).to.emit(c.readings, "ReadingRejected").withArgs(A, 0, Reject.OwnerNotActive);
      await c.registry.reinstateMember(c.alice.address);
      await expect(submit([r])).to.emit(c.readings, "ReadingAccepted");
    });

    it("follows a signer rebound: the old key's reading is refused, the new key's accepted", async () => {
      await goToInterval(c.readings, 1);
      await expect(c.registry.rebindMeterSigner(A, c.carol.address))
        .to.emit(c.readings, "MeterSynced")
        .withArgs(A, c.alice.address, c.alice.address, c.carol.address, 10_000, MS.Active, true);
      await expect(submit([await sign(A, 0, A_IMP, A_EXP)])).to.emit(c.readings, "ReadingRejected").withArgs(A, 0, Reject.BadSignature);
      await expect(submit([await sign(A, 0, A_IMP, A_EXP, c.carol)])).to.emit(c.readings, "ReadingAccepted");
    });

    it("follows a retirement and a member's removal", async () => {
      await goToInterval(c.readings, 1);
      await expect(c.registry.retireMeter(A))
        .to.emit(c.readings, "MeterSynced")
        .withArgs(A, c.alice.address, c.alice.address, c.signerKey.address, 10_000, MS.Retired, true);
      await expect(c.registry.removeMember(c.alice.address))
        .to.emit(c.readings, "MeterSynced")
        .withArgs(A, c.alice.address, c.alice.address, c.signerKey.address, 10_000, MS.Retired, false);
      await expect(submit([await sign(A, 0, A_IMP, A_EXP)])).to.emit(c.readings, "ReadingRejected").withArgs(A, 0, Reject.MeterRetired);
    });

    it("follows a wallet migration: the reading names the member's index, the position stays under the member key", async () => {
      await goToInterval(c.readings, 1);
      await expect(c.registry.migrateMember(c.alice.address, c.carol.address))
        .to.emit(c.readings, "MeterSynced")
        .withArgs(A, c.carol.address, c.alice.address, c.signerKey.address, 10_000, MS.Active, true);
      await expect(submit([await sign(A, 0, A_IMP + 5n, A_EXP + 7n)]))
        .to.emit(c.readings, "ReadingAccepted")
        .withArgs(A, 0, await indexOf(c.alice.address), A_IMP + 5n, A_EXP + 7n, 5n, 7n, 0n, 0n, anyWord, anyWord);
      const p = await c.readings.positionOf(0, c.alice.address);
      expect([p.importWh, p.exportWh]).to.deep.equal([5n, 7n]);
      expect((await c.readings.positionOf(0, c.carol.address)).exportWh).to.equal(0n);
    });

    it("lets anyone re-copy a meter, and refuses an unknown one", async () => {
      await expect(c.readings.connect(c.mallory).syncMeter(B))
        .to.emit(c.readings, "MeterSynced")
        .withArgs(B, c.bob.address, c.bob.address, c.signerKey.address, 10_000, MS.Active, true);
      await expect(c.readings.syncMeter(meterId("nope")))
        .to.be.revertedWithCustomError(c.readings, "ReadingsMeterUnknown")
        .withArgs(meterId("nope"));
    });

    it("refuses to copy while it is not the registry's meter hook, and then reads the registry itself", async () => {
      const f = await ethers.getContractFactory("MeterReadings");
      const other = await f.deploy(await c.registry.getAddress(), await c.readings.marketStart(), 900);
      await expect(other.syncMeter(A))
        .to.be.revertedWithCustomError(other, "ReadingsNotMeterHook")
        .withArgs(await c.readings.getAddress());
      await goToInterval(c.readings, 1);
      await c.registry.suspendMember(c.bob.address);
      const r = await signReading(other, c.signerKey, { meterId: B, interval: 0, importWhTotal: B_IMP, exportWhTotal: B_EXP });
      await expect(other.submitReadings([r])).to.emit(other, "ReadingRejected").withArgs(B, 0, Reject.OwnerNotActive);
      const ra = await signReading(other, c.signerKey, { meterId: A, interval: 0, importWhTotal: A_IMP + 1n, exportWhTotal: A_EXP });
      await expect(other.submitReadings([ra])).to.emit(other, "ReadingAccepted").withArgs(A, 0, 1, A_IMP + 1n, A_EXP, 1n, 0n, 0n, 0n, ra.r, ra.vs);
    });

    it("reading the registry itself, refuses a first reading no position lane holds without giving the member an index", async () => {
      // Day-long intervals: a meter of 2^32 - 1 W books up to 103 GWh in one, beyond 2^32 - 1 Wh.
      const f = await ethers.getContractFactory("MeterReadings");
      const other = await f.deploy(await c.registry.getAddress(), await c.readings.marketStart(), 86_400);
      await c.registry.onboardMember(c.carol.address, 2, ZeroHash);
      const big = meterId("carol-big");
      await c.registry.registerMeter(big, c.carol.address, c.signerKey.address, 2 ** 32 - 1, 1, 0n, 0n);
      await goToInterval(other, 1);
      const tooMuch = await signReading(other, c.signerKey, { meterId: big, interval: 0, importWhTotal: 0n, exportWhTotal: 2n ** 32n });
      const tx = other.submitReadings([tooMuch]);
      await expect(tx).to.emit(other, "ReadingRejected").withArgs(big, 0, Reject.ImplausiblePower);
      await expect(tx).to.not.emit(other, "MemberIndexAssigned");
      expect(await other.memberIndexOf(c.carol.address)).to.equal(0n);
      expect(await other.isRecorded(big, 0)).to.equal(false);
      const fits = await signReading(other, c.signerKey, { meterId: big, interval: 0, importWhTotal: 0n, exportWhTotal: 2n ** 32n - 1n });
      await expect(other.submitReadings([fits])).to.emit(other, "MemberIndexAssigned").withArgs(c.carol.address, 1);
      expect((await other.positionOf(0, c.carol.address)).exportWh).to.equal(2n ** 32n - 1n);
    });
  });

  describe("positions, four members per storage slot (issue 16)", () => {
    it("gives each member a dense index at its first meter's registration, kept across a migration, and answers the key of an index", async () => {
      expect([await c.readings.memberIndexOf(c.alice.address), await c.readings.memberIndexOf(c.bob.address)]).to.deep.equal([1n, 2n]);
      expect(await c.readings.memberIndexOf(c.carol.address)).to.equal(0n);
      await c.registry.onboardMember(c.carol.address, 2, ZeroHash);
      await expect(c.registry.registerMeter(meterId("carol"), c.carol.address, c.signerKey.address, 10_000, 1, 0n, 0n))
        .to.emit(c.readings, "MemberIndexAssigned")
        .withArgs(c.carol.address, 3);
      // A second meter of the same member: same index, no new one.
      await expect(c.registry.registerMeter(meterId("carol-2"), c.carol.address, c.signerKey.address, 10_000, 1, 0n, 0n)).to.not.emit(
        c.readings,
        "MemberIndexAssigned",
      );
      await c.registry.migrateMember(c.alice.address, c.mallory.address);
      expect(await c.readings.memberIndexOf(c.alice.address)).to.equal(1n);
      expect(await c.readings.memberIndexOf(c.mallory.address)).to.equal(0n); // positions are keyed by the member key
      // The inverse, which a `ReadingAccepted`'s index is read with: the member key, for good.
      expect([await c.readings.memberKeyAt(1), await c.readings.memberKeyAt(2), await c.readings.memberKeyAt(3)]).to.deep.equal([c.alice.address, c.bob.address, c.carol.address]);
      expect(await c.readings.memberKeyAt(4)).to.equal(ethers.ZeroAddress);
      expect(await c.readings.memberKeyAt(0)).to.equal(ethers.ZeroAddress);
    });

    it("keeps the four lanes of a slot apart and counts each member once", async () => {
      // alice (index 1), bob (2), carol (3) and mallory (4) share slot 0 of each interval; a
      // fifth member (index 5) starts slot 1.
      const others = (await ethers.getSigners()).slice(6, 7);
      for (const [who, name] of [[c.carol, "carol"], [c.mallory, "mallory"], [others[0], "erin"]] as const) {
        await c.registry.onboardMember(who.address, 1, ethers.id(name));
        await c.registry.registerMeter(meterId(name), who.address, c.signerKey.address, 10_000, 1, 0n, 0n);
      }
      const [C, M, E] = [meterId("carol"), meterId("mallory"), meterId("erin")];
      await goToInterval(c.readings, 1);
      await submit([
        await sign(A, 0, A_IMP + 2500n, A_EXP + 1n),
        await sign(B, 0, B_IMP + 3n, B_EXP + 2500n),
        await sign(C, 0, 2500n, 2500n),
        await sign(M, 0, 7n, 0n),
        await sign(E, 0, 0n, 9n),
      ]);
      const who = [c.alice, c.bob, c.carol, c.mallory, others[0]];
      expect(await Promise.all(who.map((w) => c.readings.memberIndexOf(w.address)))).to.deep.equal([1n, 2n, 3n, 4n, 5n]);
      const ps = await Promise.all(who.map((w) => c.readings.positionOf(0, w.address)));
      expect(ps.map((p) => [p.importWh, p.exportWh])).to.deep.equal([[2500n, 1n], [3n, 2500n], [2500n, 2500n], [7n, 0n], [0n, 9n]]);
      expect(await c.readings.participantCount(0)).to.equal(5n);
      // bob alone in the next interval: the other lanes stay empty, and only he is counted.
      await goToInterval(c.readings, 2);
      await submit([await sign(B, 1, B_IMP + 10n, B_EXP + 2500n)]);
      expect((await c.readings.positionOf(1, c.alice.address)).exportWh).to.equal(0n);
      expect((await c.readings.positionOf(1, c.carol.address)).importWh).to.equal(0n);
      expect((await c.readings.positionOf(1, c.bob.address)).importWh).to.equal(7n);
      expect(await c.readings.participantCount(1)).to.equal(1n);
    });

    it("refuses a reading that would take its member's position above 2^32 - 1 Wh, recording nothing of it", async () => {
      // Five meters of alice at the largest max power: each books up to 2^32 W x 900 s / 3600 s
      // = 1,073,741,823 Wh per interval; four fit into a 32-bit lane half, the fifth does not.
      const MAX_W = 2 ** 32 - 1;
      const perMeter = (BigInt(MAX_W) * 900n) / 3600n;
      const meters = [1, 2, 3, 4, 5].map((i) => meterId(`alice-big-${i}`));
      for (const m of meters) await c.registry.registerMeter(m, c.alice.address, c.signerKey.address, MAX_W, 1, 0n, 0n);
      await goToInterval(c.readings, 1);
      const ok = await Promise.all(meters.slice(0, 4).map((m) => sign(m, 0, 0n, perMeter)));
      await submit(ok);
      expect((await c.readings.positionOf(0, c.alice.address)).exportWh).to.equal(4n * perMeter);
      const fifth = await sign(meters[4], 0, 0n, perMeter);
      // bob (index 2) shares alice's slot: his reading in the same batch is booked untouched.
      const tx = submit([fifth, await sign(B, 0, B_IMP + 7n, B_EXP)]);
      await expect(tx).to.emit(c.readings, "ReadingRejected").withArgs(meters[4], 0, Reject.ImplausiblePower);
      await expect(tx).to.emit(c.readings, "ReadingAccepted");
      expect((await c.readings.positionOf(0, c.bob.address)).importWh).to.equal(7n);
      expect((await c.readings.positionOf(0, c.alice.address)).exportWh).to.equal(4n * perMeter);
      expect(await c.readings.isRecorded(meters[4], 0)).to.equal(false);
      expect(await c.readings.reportedCount(0)).to.equal(5n); // alice's four and bob's
      // Nothing of the refused reading was kept: the meter reads on in the next interval.
      await goToInterval(c.readings, 2);
      await expect(submit([await sign(meters[4], 1, 0n, 10n)])).to.emit(c.readings, "ReadingAccepted");
      // Import and export are separate halves: a full export half leaves import free.
      expect((await c.readings.positionOf(1, c.alice.address)).exportWh).to.equal(10n);
    });

    it("answers a zero position for a member that has no index", async () => {
      const p = await c.readings.positionOf(0, c.mallory.address);
      expect([p.importWh, p.exportWh]).to.deep.equal([0n, 0n]);
    });
  });

  describe("readiness", () => {
    it("is ready once every active meter reported or the deadline passed", async () => {
      await goToInterval(c.readings, 1);
      expect(await c.readings.isReady(0)).to.equal(false);
      await submit([await sign(A, 0, A_IMP, A_EXP)]);
      expect(await c.readings.isReady(0)).to.equal(false);
      await submit([await sign(B, 0, B_IMP, B_EXP)]);
      expect(await c.readings.isReady(0)).to.equal(true);
      expect(await c.readings.isReady(1)).to.equal(false);
      await goToInterval(c.readings, 3, 1);
      expect(await c.readings.isReady(1)).to.equal(true);
    });

    it("lets only a system contract close a ready interval, and then refuses readings for it", async () => {
      await goToInterval(c.readings, 1);
      await expect(c.readings.closeInterval(0))
        .to.be.revertedWithCustomError(c.readings, "AccessControlUnauthorizedAccount")
        .withArgs(c.deployer.address, ROLES.SYSTEM_ROLE);
      await c.registry.grantRole(ROLES.SYSTEM_ROLE, c.deployer.address);
      await expect(c.readings.closeInterval(0))
        .to.be.revertedWithCustomError(c.readings, "ReadingsIntervalNotReady")
        .withArgs(0, 0, 2);
      await submit([await sign(A, 0, A_IMP, A_EXP), await sign(B, 0, B_IMP, B_EXP)]);
      await goToInterval(c.readings, 2);
      await submit([await sign(A, 1, A_IMP, A_EXP)]);
      await goToInterval(c.readings, 3, 1);
      await expect(c.readings.closeInterval(1)).to.emit(c.readings, "IntervalClosed").withArgs(1);
      await c.readings.closeInterval(1); // idempotent
      await expect(c.readings.setReadingDeadlineSeconds(3600))
        .to.emit(c.readings, "ReadingDeadlineChanged")
        .withArgs(900, 3600);
      await expect(submit([await sign(B, 1, B_IMP, B_EXP)]))
        .to.emit(c.readings, "ReadingRejected")
        .withArgs(B, 1, Reject.IntervalClosed);
    });
  });

  describe("reading deadline bounds", () => {
    it("refuses a deadline of 0 or above 30 days, naming the bounds, and keeps the old one", async () => {
      const MAX = 30n * 86_400n;
      expect([await c.readings.MIN_READING_DEADLINE_SECONDS(), await c.readings.MAX_READING_DEADLINE_SECONDS()]).to.deep.equal([60n, MAX]);
      await expect(c.readings.setReadingDeadlineSeconds(0))
        .to.be.revertedWithCustomError(c.readings, "ReadingsDeadlineOutOfRange")
        .withArgs(0, 60, MAX);
      await expect(c.readings.setReadingDeadlineSeconds(59))
        .to.be.revertedWithCustomError(c.readings, "ReadingsDeadlineOutOfRange")
        .withArgs(59, 60, MAX);
      await expect(c.readings.setReadingDeadlineSeconds(2n ** 32n - 1n))
        .to.be.revertedWithCustomError(c.readings, "ReadingsDeadlineOutOfRange")
        .withArgs(2n ** 32n - 1n, 60, MAX);
      expect(await c.readings.readingDeadlineSeconds()).to.equal(900n);
      await expect(c.readings.setReadingDeadlineSeconds(60)).to.emit(c.readings, "ReadingDeadlineChanged").withArgs(900, 60);
      await expect(c.readings.setReadingDeadlineSeconds(MAX)).to.emit(c.readings, "ReadingDeadlineChanged").withArgs(60, MAX);
    });
  });

  describe("access", () => {
    it("refuses readings from an account without ORACLE_ROLE", async () => {
      await expect(c.readings.connect(c.mallory).submitReadings([]))
        .to.be.revertedWithCustomError(c.readings, "AccessControlUnauthorizedAccount")
        .withArgs(c.mallory.address, ROLES.ORACLE_ROLE);
    });

    it("refuses a deadline change from a non-operator", async () => {
      await expect(c.readings.connect(c.mallory).setReadingDeadlineSeconds(3600))
        .to.be.revertedWithCustomError(c.readings, "AccessControlUnauthorizedAccount")
        .withArgs(c.mallory.address, ROLES.OPERATOR_ROLE);
    });

    it("refuses a zero interval length at deployment", async () => {
      const f = await ethers.getContractFactory("MeterReadings");
      await expect(f.deploy(await c.registry.getAddress(), 0, 0))
        .to.be.revertedWithCustomError(c.readings, "ReadingsInvalidIntervalSeconds")
        .withArgs(0);
    });
  });
});
