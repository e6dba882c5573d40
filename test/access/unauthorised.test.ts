import { expect } from "chai";
import type { BaseContract, FunctionFragment } from "ethers";
import { ZeroHash } from "ethers";
import { ROLES } from "../../src/sdk/roles";
import { Core, deployCommunity, MemberKind, meterId } from "../helpers/fixtures";

/**
 * Every state-changing function of every deployed contract, listed from its ABI, must appear
 * here: either with the call an outsider (mallory, no role, not a member) makes and the custom
 * error it gets, or as `open` with the reason anyone may call it. A new function without an
 * entry fails this suite.
 */
type Case =
  | { call: (c: Core, as: BaseContract) => Promise<unknown>; error: string; args: (c: Core) => unknown[] }
  | { open: string };

const role = (r: keyof typeof ROLES) => (c: Core) => [c.mallory.address, ROLES[r]];

const CASES: Record<string, Record<string, Case>> = {
  CommunityRegistry: {
    onboardMember: { call: (c, r) => (r as Core["registry"]).onboardMember(c.carol.address, MemberKind.Consumer, ZeroHash), error: "AccessControlUnauthorizedAccount", args: role("OPERATOR_ROLE") },
    suspendMember: { call: (c, r) => (r as Core["registry"]).suspendMember(c.alice.address), error: "AccessControlUnauthorizedAccount", args: role("OPERATOR_ROLE") },
    reinstateMember: { call: (c, r) => (r as Core["registry"]).reinstateMember(c.alice.address), error: "AccessControlUnauthorizedAccount", args: role("OPERATOR_ROLE") },
    removeMember: { call: (c, r) => (r as Core["registry"]).removeMember(c.alice.address), error: "AccessControlUnauthorizedAccount", args: role("OPERATOR_ROLE") },
    migrateMember: { call: (c, r) => (r as Core["registry"]).migrateMember(c.alice.address, c.mallory.address), error: "AccessControlUnauthorizedAccount", args: role("OPERATOR_ROLE") },
    addMigrationHook: { call: (c, r) => (r as Core["registry"]).addMigrationHook(c.mallory.address), error: "AccessControlUnauthorizedAccount", args: role("DEFAULT_ADMIN_ROLE") },
    removeMigrationHook: { call: (c, r) => (r as Core["registry"]).removeMigrationHook(c.energy.target as string), error: "AccessControlUnauthorizedAccount", args: role("DEFAULT_ADMIN_ROLE") },
    registerMeter: { call: (c, r) => (r as Core["registry"]).registerMeter(meterId("m"), c.alice.address, c.mallory.address, 1, 0), error: "AccessControlUnauthorizedAccount", args: role("OPERATOR_ROLE") },
    rebindMeterSigner: { call: (c, r) => (r as Core["registry"]).rebindMeterSigner(meterId("alice"), c.mallory.address), error: "AccessControlUnauthorizedAccount", args: role("OPERATOR_ROLE") },
    retireMeter: { call: (c, r) => (r as Core["registry"]).retireMeter(meterId("alice")), error: "AccessControlUnauthorizedAccount", args: role("OPERATOR_ROLE") },
    grantRole: { call: (c, r) => (r as Core["registry"]).grantRole(ROLES.OPERATOR_ROLE, c.mallory.address), error: "AccessControlUnauthorizedAccount", args: role("DEFAULT_ADMIN_ROLE") },
    revokeRole: { call: (c, r) => (r as Core["registry"]).revokeRole(ROLES.OPERATOR_ROLE, c.deployer.address), error: "AccessControlUnauthorizedAccount", args: role("DEFAULT_ADMIN_ROLE") },
    renounceRole: { call: (c, r) => (r as Core["registry"]).renounceRole(ROLES.OPERATOR_ROLE, c.deployer.address), error: "AccessControlBadConfirmation", args: () => [] },
  },
  EnergyToken: {
    mint: { call: (c, t) => (t as Core["energy"]).mint(c.mallory.address, 1n), error: "AccessControlUnauthorizedAccount", args: role("ENERGY_MINTER_ROLE") },
    retire: { call: (c, t) => (t as Core["energy"]).retire(c.alice.address, 1n), error: "AccessControlUnauthorizedAccount", args: role("ENERGY_RETIRER_ROLE") },
    retireBatch: { call: (c, t) => (t as Core["energy"]).retireBatch([c.alice.address], [1n]), error: "AccessControlUnauthorizedAccount", args: role("ENERGY_RETIRER_ROLE") },
    pause: { call: (_c, t) => (t as Core["energy"]).pause(), error: "AccessControlUnauthorizedAccount", args: role("PAUSER_ROLE") },
    unpause: { call: (_c, t) => (t as Core["energy"]).unpause(), error: "AccessControlUnauthorizedAccount", args: role("PAUSER_ROLE") },
    onMemberMigrated: { call: (c, t) => (t as Core["energy"]).onMemberMigrated(c.alice.address, c.mallory.address), error: "TokenCallerNotRegistry", args: (c) => [c.mallory.address] },
    transfer: { call: (c, t) => (t as Core["energy"]).transfer(c.alice.address, 0n), error: "ERC20InvalidSender", args: (c) => [c.mallory.address] },
    transferFrom: { call: (c, t) => (t as Core["energy"]).transferFrom(c.alice.address, c.mallory.address, 1n), error: "ERC20InsufficientAllowance", args: (c) => [c.mallory.address, 0n, 1n] },
    approve: { open: "an allowance moves nothing; the transfer that uses it is checked" },
  },
  CommunityCredit: {
    mint: { call: (c, t) => (t as Core["credit"]).mint(c.mallory.address, 1n), error: "AccessControlUnauthorizedAccount", args: role("ISSUER_ROLE") },
    burn: { call: (c, t) => (t as Core["credit"]).burn(c.alice.address, 1n), error: "AccessControlUnauthorizedAccount", args: role("ISSUER_ROLE") },
    setMembersOnly: { call: (_c, t) => (t as Core["credit"]).setMembersOnly(false), error: "AccessControlUnauthorizedAccount", args: role("DEFAULT_ADMIN_ROLE") },
    pause: { call: (_c, t) => (t as Core["credit"]).pause(), error: "AccessControlUnauthorizedAccount", args: role("PAUSER_ROLE") },
    unpause: { call: (_c, t) => (t as Core["credit"]).unpause(), error: "AccessControlUnauthorizedAccount", args: role("PAUSER_ROLE") },
    onMemberMigrated: { call: (c, t) => (t as Core["credit"]).onMemberMigrated(c.alice.address, c.mallory.address), error: "TokenCallerNotRegistry", args: (c) => [c.mallory.address] },
    transfer: { call: (c, t) => (t as Core["credit"]).transfer(c.alice.address, 0n), error: "ERC20InvalidSender", args: (c) => [c.mallory.address] },
    transferFrom: { call: (c, t) => (t as Core["credit"]).transferFrom(c.alice.address, c.mallory.address, 1n), error: "ERC20InsufficientAllowance", args: (c) => [c.mallory.address, 0n, 1n] },
    approve: { open: "an allowance moves nothing; the transfer that uses it is checked" },
    permit: { open: "a signed allowance; only the holder's signature makes it (tested in the token suite)" },
  },
  MeterReadings: {
    submitReadings: { call: (_c, m) => (m as Core["readings"]).submitReadings([]), error: "AccessControlUnauthorizedAccount", args: role("ORACLE_ROLE") },
    setReadingDeadlineSeconds: { call: (_c, m) => (m as Core["readings"]).setReadingDeadlineSeconds(1), error: "AccessControlUnauthorizedAccount", args: role("OPERATOR_ROLE") },
    closeInterval: { call: (_c, m) => (m as Core["readings"]).closeInterval(0), error: "AccessControlUnauthorizedAccount", args: role("SYSTEM_ROLE") },
  },
};

const CONTRACTS: Record<string, (c: Core) => BaseContract> = {
  CommunityRegistry: (c) => c.registry,
  EnergyToken: (c) => c.energy,
  CommunityCredit: (c) => c.credit,
  MeterReadings: (c) => c.readings,
};

describe("access: every state-changing function refuses an outsider", () => {
  let c: Core;
  beforeEach(async () => {
    c = await deployCommunity();
  });

  for (const [name, pick] of Object.entries(CONTRACTS)) {
    describe(name, () => {
      it("has a case for every state-changing function in its ABI", async () => {
        const fragments = pick(c).interface.fragments.filter(
          (f): f is FunctionFragment => f.type === "function" && !(f as FunctionFragment).constant,
        );
        const missing = fragments.map((f) => f.name).filter((n) => !(n in CASES[name]));
        expect(missing, `${name}: add an outsider case to test/access/unauthorised.test.ts`).to.deep.equal([]);
      });

      for (const [fn, kase] of Object.entries(CASES[name])) {
        if ("open" in kase) continue;
        it(`${fn} reverts with ${kase.error}`, async () => {
          const contract = pick(c).connect(c.mallory) as BaseContract;
          await expect(kase.call(c, contract))
            .to.be.revertedWithCustomError(pick(c), kase.error)
            .withArgs(...kase.args(c));
        });
      }
    });
  }
});
