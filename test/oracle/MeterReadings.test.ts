import { expect } from "chai";
import { ethers } from "hardhat";
import { ROLES } from "../../src/sdk/roles";
import { Core, deployCommunity, meterId } from "../helpers/fixtures";
import { goToInterval, Reject, signReading } from "../helpers/readings";

describe("MeterReadings", () => {
  let c: Core;
  const A = meterId("alice");
  const B = meterId("bob");

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
    it("sets the baseline with the first reading, then records energy and mints exports", async () => {
      await goToInterval(c.readings, 1);
      await expect(submit([await sign(A, 0, 1000n, 500n)]))
        .to.emit(c.readings, "ReadingAccepted")
        .withArgs(A, 0, c.alice.address, 1000n, 500n, 0n, 0n, true);
      expect(await c.energy.balanceOf(c.alice.address)).to.equal(0n);

      await goToInterval(c.readings, 2);
      await expect(submit([await sign(A, 1, 1200n, 1500n)]))
        .to.emit(c.readings, "ReadingAccepted")
        .withArgs(A, 1, c.alice.address, 1200n, 1500n, 200n, 1000n, false);
      expect(await c.energy.balanceOf(c.alice.address)).to.equal(1000n);
      const p = await c.readings.positionOf(1, c.alice.address);
      expect([p.importWh, p.exportWh]).to.deep.equal([200n, 1000n]);
      expect(await c.readings.participants(1)).to.deep.equal([c.alice.address]);
      expect(await c.readings.reportedCount(1)).to.equal(1n);
      expect(await c.readings.isRecorded(A, 1)).to.equal(true);
      const s = await c.readings.meterState(A);
      expect([s.lastInterval, s.importWhTotal, s.exportWhTotal, s.hasBaseline]).to.deep.equal([1n, 1200n, 1500n, true]);
    });

    it("sums several meters of one member into one position", async () => {
      await c.registry.registerMeter(meterId("alice-2"), c.alice.address, c.signerKey.address, 10_000, 1);
      const A2 = meterId("alice-2");
      await goToInterval(c.readings, 1);
      await submit([await sign(A, 0, 0n, 0n), await sign(A2, 0, 0n, 0n)]);
      await goToInterval(c.readings, 2);
      await submit([await sign(A, 1, 100n, 10n), await sign(A2, 1, 5n, 300n)]);
      const p = await c.readings.positionOf(1, c.alice.address);
      expect([p.importWh, p.exportWh]).to.deep.equal([105n, 310n]);
      expect(await c.readings.participantCount(1)).to.equal(1n);
      expect(await c.readings.participantsPage(1, 0, 10)).to.deep.equal([c.alice.address]);
      expect(await c.readings.participantsPage(1, 1, 10)).to.deep.equal([]);
    });

    it("allows a gap: the next reading's difference covers the missed intervals", async () => {
      await goToInterval(c.readings, 1);
      await submit([await sign(A, 0, 0n, 0n)]);
      await goToInterval(c.readings, 4);
      // 3 intervals at 10 kW max: up to 7,500 Wh are plausible.
      await expect(submit([await sign(A, 3, 7500n, 0n)]))
        .to.emit(c.readings, "ReadingAccepted")
        .withArgs(A, 3, c.alice.address, 7500n, 0n, 7500n, 0n, false);
    });
  });

  describe("when a reading is bad", () => {
    beforeEach(async () => {
      await goToInterval(c.readings, 1);
      await submit([await sign(A, 0, 1000n, 1000n), await sign(B, 0, 1000n, 1000n)]);
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

    it("rejects a malformed signature", async () => {
      const r = await sign(A, 1, 1001n, 1001n);
      await expectRejected({ ...r, signature: "0x1234" }, Reject.BadSignature);
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
      const good = await sign(B, 1, 1100n, 1200n);
      const bad = await sign(A, 1, 1n, 1n);
      const tx = submit([bad, good]);
      await expect(tx).to.emit(c.readings, "ReadingRejected").withArgs(A, 1, Reject.RegisterWentBackwards);
      await expect(tx).to.emit(c.readings, "ReadingAccepted").withArgs(B, 1, c.bob.address, 1100n, 1200n, 100n, 200n, false);
      expect(await c.energy.balanceOf(c.bob.address)).to.equal(200n);
      expect(await c.readings.submitReadings.staticCall([await sign(A, 1, 1000n, 1000n)])).to.equal(1n);
    });
  });

  describe("readiness", () => {
    it("is ready once every active meter reported or the deadline passed", async () => {
      await goToInterval(c.readings, 1);
      expect(await c.readings.isReady(0)).to.equal(false);
      await submit([await sign(A, 0, 0n, 0n)]);
      expect(await c.readings.isReady(0)).to.equal(false);
      await submit([await sign(B, 0, 0n, 0n)]);
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
      await submit([await sign(A, 0, 0n, 0n), await sign(B, 0, 0n, 0n)]);
      await goToInterval(c.readings, 2);
      await submit([await sign(A, 1, 0n, 0n)]);
      await goToInterval(c.readings, 3, 1);
      await expect(c.readings.closeInterval(1)).to.emit(c.readings, "IntervalClosed").withArgs(1);
      await c.readings.closeInterval(1); // idempotent
      await expect(c.readings.setReadingDeadlineSeconds(3600))
        .to.emit(c.readings, "ReadingDeadlineChanged")
        .withArgs(900, 3600);
      await expect(submit([await sign(B, 1, 0n, 0n)]))
        .to.emit(c.readings, "ReadingRejected")
        .withArgs(B, 1, Reject.IntervalClosed);
    });
  });

  describe("access", () => {
    it("refuses readings from an account without ORACLE_ROLE", async () => {
      await expect(c.readings.connect(c.mallory).submitReadings([]))
        .to.be.revertedWithCustomError(c.readings, "AccessControlUnauthorizedAccount")
        .withArgs(c.mallory.address, ROLES.ORACLE_ROLE);
    });

    it("refuses a deadline change from a non-operator", async () => {
      await expect(c.readings.connect(c.mallory).setReadingDeadlineSeconds(1))
        .to.be.revertedWithCustomError(c.readings, "AccessControlUnauthorizedAccount")
        .withArgs(c.mallory.address, ROLES.OPERATOR_ROLE);
    });

    it("refuses a zero interval length at deployment", async () => {
      const f = await ethers.getContractFactory("MeterReadings");
      await expect(f.deploy(await c.registry.getAddress(), await c.energy.getAddress(), 0, 0))
        .to.be.revertedWithCustomError(c.readings, "ReadingsInvalidIntervalSeconds")
        .withArgs(0);
    });
  });
});
