import { expect } from "chai";
import { ethers } from "hardhat";
import { ZeroAddress, ZeroHash } from "ethers";
import { ROLES } from "../../src/sdk/roles";
import {
  Core,
  deployCommunity,
  deployCore,
  identityHash,
  MemberKind,
  MemberStatus,
  MeterStatus,
  meterId,
} from "../helpers/fixtures";

describe("CommunityRegistry", () => {
  let c: Core;

  describe("deployment", () => {
    beforeEach(async () => {
      c = await deployCore();
    });

    it("makes the deployer admin, operator, pauser and oracle", async () => {
      for (const role of ["DEFAULT_ADMIN_ROLE", "OPERATOR_ROLE", "PAUSER_ROLE", "ORACLE_ROLE", "ISSUER_ROLE"] as const) {
        expect(await c.registry.hasRole(ROLES[role], c.deployer.address), role).to.equal(true);
      }
    });

    it("exposes the same role ids as the TypeScript SDK", async () => {
      expect(await c.registry.OPERATOR_ROLE()).to.equal(ROLES.OPERATOR_ROLE);
      expect(await c.registry.ORACLE_ROLE()).to.equal(ROLES.ORACLE_ROLE);
      expect(await c.registry.PAUSER_ROLE()).to.equal(ROLES.PAUSER_ROLE);
      expect(await c.registry.ISSUER_ROLE()).to.equal(ROLES.ISSUER_ROLE);
      expect(await c.registry.ENERGY_MINTER_ROLE()).to.equal(ROLES.ENERGY_MINTER_ROLE);
      expect(await c.registry.ENERGY_RETIRER_ROLE()).to.equal(ROLES.ENERGY_RETIRER_ROLE);
      expect(await c.registry.SYSTEM_ROLE()).to.equal(ROLES.SYSTEM_ROLE);
    });

    it("wires both tokens and the market as migration hooks", async () => {
      expect(await c.registry.migrationHooks()).to.deep.equal([
        await c.energy.getAddress(),
        await c.credit.getAddress(),
        await c.market.getAddress(),
      ]);
    });

    it("refuses a zero admin", async () => {
      const factory = await ethers.getContractFactory("CommunityRegistry");
      await expect(factory.deploy(ZeroAddress))
        .to.be.revertedWithCustomError(c.registry, "RegistryInvalidAccount")
        .withArgs(ZeroAddress);
    });
  });

  describe("onboarding", () => {
    beforeEach(async () => {
      c = await deployCore();
    });

    it("records an active member with kind, identity hash and join time", async () => {
      const tx = await c.registry.onboardMember(c.alice.address, MemberKind.Prosumer, identityHash("alice"));
      const block = await ethers.provider.getBlock(tx.blockNumber!);
      await expect(tx)
        .to.emit(c.registry, "MemberOnboarded")
        .withArgs(c.alice.address, MemberKind.Prosumer, identityHash("alice"), block!.timestamp);
      const m = await c.registry.memberOf(c.alice.address);
      expect(m.kind).to.equal(MemberKind.Prosumer);
      expect(m.status).to.equal(MemberStatus.Active);
      expect(m.joinedAt).to.equal(block!.timestamp);
      expect(m.identityHash).to.equal(identityHash("alice"));
      expect(await c.registry.isActiveMember(c.alice.address)).to.equal(true);
      expect(await c.registry.activeMemberCount()).to.equal(1n);
    });

    it("refuses the zero address", async () => {
      await expect(c.registry.onboardMember(ZeroAddress, MemberKind.Consumer, ZeroHash))
        .to.be.revertedWithCustomError(c.registry, "RegistryInvalidAccount")
        .withArgs(ZeroAddress);
    });

    it("refuses kind None", async () => {
      await expect(c.registry.onboardMember(c.alice.address, MemberKind.None, ZeroHash))
        .to.be.revertedWithCustomError(c.registry, "RegistryInvalidMemberKind")
        .withArgs(MemberKind.None);
    });

    it("records a storage member (a battery) like any other kind", async () => {
      await expect(c.registry.onboardMember(c.alice.address, MemberKind.Storage, identityHash("battery")))
        .to.emit(c.registry, "MemberOnboarded");
      const m = await c.registry.memberOf(c.alice.address);
      expect(m.kind).to.equal(MemberKind.Storage);
      expect(await c.registry.isActiveMember(c.alice.address)).to.equal(true);
    });

    it("refuses a kind beyond the enum", async () => {
      await expect(c.registry.onboardMember(c.alice.address, MemberKind.Storage + 1, ZeroHash)).to.be.reverted;
      expect(await c.registry.isActiveMember(c.alice.address)).to.equal(false);
    });

    it("refuses a wallet that is already a member and changes nothing", async () => {
      await c.registry.onboardMember(c.alice.address, MemberKind.Prosumer, identityHash("alice"));
      await expect(c.registry.onboardMember(c.alice.address, MemberKind.Consumer, identityHash("x")))
        .to.be.revertedWithCustomError(c.registry, "RegistryMemberAlreadyExists")
        .withArgs(c.alice.address);
      expect((await c.registry.memberOf(c.alice.address)).kind).to.equal(MemberKind.Prosumer);
    });
  });

  describe("suspension, reinstatement and removal", () => {
    beforeEach(async () => {
      c = await deployCommunity();
    });

    it("suspends an active member and reinstates it", async () => {
      await expect(c.registry.suspendMember(c.bob.address)).to.emit(c.registry, "MemberSuspended").withArgs(c.bob.address);
      expect(await c.registry.isActiveMember(c.bob.address)).to.equal(false);
      expect(await c.registry.activeMemberCount()).to.equal(1n);
      await expect(c.registry.reinstateMember(c.bob.address))
        .to.emit(c.registry, "MemberReinstated")
        .withArgs(c.bob.address);
      expect(await c.registry.isActiveMember(c.bob.address)).to.equal(true);
      expect(await c.registry.activeMemberCount()).to.equal(2n);
    });

    it("refuses to suspend an unknown or already suspended member", async () => {
      await expect(c.registry.suspendMember(c.carol.address))
        .to.be.revertedWithCustomError(c.registry, "RegistryMemberUnknown")
        .withArgs(c.carol.address);
      await c.registry.suspendMember(c.bob.address);
      await expect(c.registry.suspendMember(c.bob.address))
        .to.be.revertedWithCustomError(c.registry, "RegistryMemberNotActive")
        .withArgs(c.bob.address, MemberStatus.Suspended);
    });

    it("refuses to reinstate a member that is not suspended", async () => {
      await expect(c.registry.reinstateMember(c.bob.address))
        .to.be.revertedWithCustomError(c.registry, "RegistryMemberNotSuspended")
        .withArgs(c.bob.address, MemberStatus.Active);
      await expect(c.registry.reinstateMember(c.carol.address))
        .to.be.revertedWithCustomError(c.registry, "RegistryMemberUnknown")
        .withArgs(c.carol.address);
    });

    it("refuses to remove a member that still owns an active meter", async () => {
      await expect(c.registry.removeMember(c.bob.address))
        .to.be.revertedWithCustomError(c.registry, "RegistryMemberHasActiveMeters")
        .withArgs(c.bob.address, 1);
    });

    it("removes a member whose meters are retired, for good", async () => {
      await c.registry.retireMeter(meterId("bob"));
      await c.registry.suspendMember(c.bob.address);
      await expect(c.registry.removeMember(c.bob.address)).to.emit(c.registry, "MemberRemoved").withArgs(c.bob.address);
      expect((await c.registry.memberOf(c.bob.address)).status).to.equal(MemberStatus.Removed);
      expect(await c.registry.activeMemberCount()).to.equal(1n);
      await expect(c.registry.onboardMember(c.bob.address, MemberKind.Consumer, ZeroHash))
        .to.be.revertedWithCustomError(c.registry, "RegistryMemberAlreadyExists")
        .withArgs(c.bob.address);
      await expect(c.registry.removeMember(c.bob.address))
        .to.be.revertedWithCustomError(c.registry, "RegistryMemberNotActive")
        .withArgs(c.bob.address, MemberStatus.Removed);
    });
  });

  describe("meters", () => {
    beforeEach(async () => {
      c = await deployCommunity();
    });

    it("registers a meter with owner, signer, max power, zone and starting registers", async () => {
      await expect(c.registry.registerMeter(meterId("alice-2"), c.alice.address, c.carol.address, 5000, 7, 123_456n, 789n))
        .to.emit(c.registry, "MeterRegistered")
        .withArgs(meterId("alice-2"), c.alice.address, c.carol.address, 5000, 7, 123_456n, 789n);
      const g = await c.registry.meterRegistersAtRegistration(meterId("alice-2"));
      const now = (await ethers.provider.getBlock("latest"))!.timestamp;
      expect([g.importWhTotal, g.exportWhTotal, g.registeredAt]).to.deep.equal([123_456n, 789n, BigInt(now)]);
      const m = await c.registry.meterOf(meterId("alice-2"));
      expect([m.owner, m.signer, m.maxPowerW, m.zone, m.status]).to.deep.equal([
        c.alice.address,
        c.carol.address,
        5000n,
        7n,
        BigInt(MeterStatus.Active),
      ]);
      expect(await c.registry.metersOf(c.alice.address)).to.deep.equal([meterId("alice"), meterId("alice-2")]);
      expect(await c.registry.activeMeterCount()).to.equal(3n);
      expect((await c.registry.memberOf(c.alice.address)).activeMeters).to.equal(2n);
    });

    it("refuses a zero id, a duplicate id, a zero signer and zero max power", async () => {
      await expect(c.registry.registerMeter(ZeroHash, c.alice.address, c.carol.address, 1, 0, 0n, 0n))
        .to.be.revertedWithCustomError(c.registry, "RegistryInvalidMeterId")
        .withArgs(ZeroHash);
      await expect(c.registry.registerMeter(meterId("alice"), c.alice.address, c.carol.address, 1, 0, 0n, 0n))
        .to.be.revertedWithCustomError(c.registry, "RegistryMeterAlreadyExists")
        .withArgs(meterId("alice"));
      await expect(c.registry.registerMeter(meterId("x"), c.alice.address, ZeroAddress, 1, 0, 0n, 0n))
        .to.be.revertedWithCustomError(c.registry, "RegistryInvalidAccount")
        .withArgs(ZeroAddress);
      await expect(c.registry.registerMeter(meterId("x"), c.alice.address, c.carol.address, 0, 0, 0n, 0n))
        .to.be.revertedWithCustomError(c.registry, "RegistryInvalidMaxPower")
        .withArgs(0);
    });

    it("refuses a meter owned by a non-member, a suspended member or the zero address", async () => {
      await expect(c.registry.registerMeter(meterId("x"), c.carol.address, c.carol.address, 1, 0, 0n, 0n))
        .to.be.revertedWithCustomError(c.registry, "RegistryMemberUnknown")
        .withArgs(c.carol.address);
      await c.registry.suspendMember(c.bob.address);
      await expect(c.registry.registerMeter(meterId("x"), c.bob.address, c.carol.address, 1, 0, 0n, 0n))
        .to.be.revertedWithCustomError(c.registry, "RegistryMemberNotActive")
        .withArgs(c.bob.address, MemberStatus.Suspended);
      await expect(c.registry.registerMeter(meterId("x"), ZeroAddress, c.carol.address, 1, 0, 0n, 0n))
        .to.be.revertedWithCustomError(c.registry, "RegistryInvalidAccount")
        .withArgs(ZeroAddress);
    });

    it("rebinds a signer and refuses the zero signer or an unknown meter", async () => {
      await expect(c.registry.rebindMeterSigner(meterId("alice"), c.carol.address))
        .to.emit(c.registry, "MeterSignerRebound")
        .withArgs(meterId("alice"), c.signerKey.address, c.carol.address);
      expect((await c.registry.meterOf(meterId("alice"))).signer).to.equal(c.carol.address);
      await expect(c.registry.rebindMeterSigner(meterId("alice"), ZeroAddress))
        .to.be.revertedWithCustomError(c.registry, "RegistryInvalidAccount")
        .withArgs(ZeroAddress);
      await expect(c.registry.rebindMeterSigner(meterId("nope"), c.carol.address))
        .to.be.revertedWithCustomError(c.registry, "RegistryMeterUnknown")
        .withArgs(meterId("nope"));
    });

    it("retires a meter for good; its id is never reused", async () => {
      await expect(c.registry.retireMeter(meterId("alice")))
        .to.emit(c.registry, "MeterRetired")
        .withArgs(meterId("alice"), c.alice.address);
      expect((await c.registry.meterOf(meterId("alice"))).status).to.equal(MeterStatus.Retired);
      expect(await c.registry.activeMeterCount()).to.equal(1n);
      await expect(c.registry.retireMeter(meterId("alice")))
        .to.be.revertedWithCustomError(c.registry, "RegistryMeterNotActive")
        .withArgs(meterId("alice"));
      await expect(c.registry.rebindMeterSigner(meterId("alice"), c.carol.address))
        .to.be.revertedWithCustomError(c.registry, "RegistryMeterNotActive")
        .withArgs(meterId("alice"));
      await expect(c.registry.registerMeter(meterId("alice"), c.alice.address, c.carol.address, 1, 0, 0n, 0n))
        .to.be.revertedWithCustomError(c.registry, "RegistryMeterAlreadyExists")
        .withArgs(meterId("alice"));
    });
  });

  describe("wallet migration", () => {
    beforeEach(async () => {
      c = await deployCommunity();
    });

    it("moves the record, the meters and both token balances to the new wallet", async () => {
      await c.registry.grantRole(ROLES.ENERGY_MINTER_ROLE, c.deployer.address);
      await c.energy.mint(c.alice.address, 1234n);
      await c.credit.mint(c.alice.address, 5_000_000n);
      const before = await c.registry.memberOf(c.alice.address);

      const tx = c.registry.migrateMember(c.alice.address, c.carol.address);
      await expect(tx).to.emit(c.registry, "MemberMigrated").withArgs(c.alice.address, c.carol.address);
      await expect(tx)
        .to.emit(c.registry, "MeterOwnerChanged")
        .withArgs(meterId("alice"), c.alice.address, c.carol.address);
      await expect(tx).to.emit(c.energy, "Transfer").withArgs(c.alice.address, c.carol.address, 1234n);
      await expect(tx).to.emit(c.credit, "Transfer").withArgs(c.alice.address, c.carol.address, 5_000_000n);

      const after = await c.registry.memberOf(c.carol.address);
      expect(after.kind).to.equal(before.kind);
      expect(after.joinedAt).to.equal(before.joinedAt);
      expect(after.identityHash).to.equal(before.identityHash);
      expect(after.status).to.equal(MemberStatus.Active);
      expect(after.activeMeters).to.equal(1n);
      expect((await c.registry.memberOf(c.alice.address)).status).to.equal(MemberStatus.Migrated);
      expect(await c.registry.migratedTo(c.alice.address)).to.equal(c.carol.address);
      expect((await c.registry.meterOf(meterId("alice"))).owner).to.equal(c.carol.address);
      expect(await c.registry.metersOf(c.carol.address)).to.deep.equal([meterId("alice")]);
      expect(await c.registry.metersOf(c.alice.address)).to.deep.equal([]);
      expect(await c.energy.balanceOf(c.carol.address)).to.equal(1234n);
      expect(await c.energy.balanceOf(c.alice.address)).to.equal(0n);
      expect(await c.credit.balanceOf(c.carol.address)).to.equal(5_000_000n);
      expect(await c.registry.activeMemberCount()).to.equal(2n);
    });

    it("keeps a suspended member suspended on the new wallet, even while tokens are paused", async () => {
      await c.credit.mint(c.bob.address, 10n);
      await c.registry.suspendMember(c.bob.address);
      await c.credit.pause();
      await c.registry.migrateMember(c.bob.address, c.carol.address);
      expect((await c.registry.memberOf(c.carol.address)).status).to.equal(MemberStatus.Suspended);
      expect(await c.credit.balanceOf(c.carol.address)).to.equal(10n);
    });

    it("refuses a target that is or was a member, the zero address, and an unknown source", async () => {
      await expect(c.registry.migrateMember(c.alice.address, c.bob.address))
        .to.be.revertedWithCustomError(c.registry, "RegistryMemberAlreadyExists")
        .withArgs(c.bob.address);
      await expect(c.registry.migrateMember(c.alice.address, ZeroAddress))
        .to.be.revertedWithCustomError(c.registry, "RegistryInvalidAccount")
        .withArgs(ZeroAddress);
      await expect(c.registry.migrateMember(c.mallory.address, c.carol.address))
        .to.be.revertedWithCustomError(c.registry, "RegistryMemberUnknown")
        .withArgs(c.mallory.address);
      await c.registry.migrateMember(c.alice.address, c.carol.address);
      await expect(c.registry.migrateMember(c.alice.address, c.mallory.address))
        .to.be.revertedWithCustomError(c.registry, "RegistryMemberNotActive")
        .withArgs(c.alice.address, MemberStatus.Migrated);
      await expect(c.registry.migrateMember(c.carol.address, c.alice.address))
        .to.be.revertedWithCustomError(c.registry, "RegistryMemberAlreadyExists")
        .withArgs(c.alice.address);
    });

    it("leaves the old wallet unable to move tokens", async () => {
      await c.credit.mint(c.alice.address, 10n);
      await c.registry.migrateMember(c.alice.address, c.carol.address);
      await c.credit.mint(c.bob.address, 10n);
      await expect(c.credit.connect(c.bob).transfer(c.alice.address, 1n))
        .to.be.revertedWithCustomError(c.credit, "ERC20InvalidReceiver")
        .withArgs(c.alice.address);
    });
  });

  describe("migration hooks", () => {
    beforeEach(async () => {
      c = await deployCore();
    });

    it("adds and removes hooks keeping the call order", async () => {
      const [energy, credit] = [await c.energy.getAddress(), await c.credit.getAddress()];
      await expect(c.registry.addMigrationHook(c.carol.address))
        .to.emit(c.registry, "MigrationHookAdded")
        .withArgs(c.carol.address);
      await expect(c.registry.removeMigrationHook(energy))
        .to.emit(c.registry, "MigrationHookRemoved")
        .withArgs(energy);
      expect(await c.registry.migrationHooks()).to.deep.equal([credit, await c.market.getAddress(), c.carol.address]);
    });

    it("refuses a duplicate, an unknown and the zero hook", async () => {
      const energy = await c.energy.getAddress();
      await expect(c.registry.addMigrationHook(energy))
        .to.be.revertedWithCustomError(c.registry, "RegistryMigrationHookExists")
        .withArgs(energy);
      await expect(c.registry.removeMigrationHook(c.carol.address))
        .to.be.revertedWithCustomError(c.registry, "RegistryMigrationHookUnknown")
        .withArgs(c.carol.address);
      await expect(c.registry.addMigrationHook(ZeroAddress))
        .to.be.revertedWithCustomError(c.registry, "RegistryInvalidAccount")
        .withArgs(ZeroAddress);
    });
  });
});
