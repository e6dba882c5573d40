import { expect } from "chai";
import type { BaseContract, FunctionFragment } from "ethers";
import { ZeroHash } from "ethers";
import { artifacts, deployments, ethers } from "hardhat";
import { ROLES } from "../../src/sdk/roles";
import { marketDomain, ORDER_INTENT_TYPES } from "../../src/sdk/eip712";
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
    setMeterHook: { call: (c, r) => (r as Core["registry"]).setMeterHook(c.mallory.address), error: "AccessControlUnauthorizedAccount", args: role("DEFAULT_ADMIN_ROLE") },
    registerMeter: { call: (c, r) => (r as Core["registry"]).registerMeter(meterId("m"), c.alice.address, c.mallory.address, 1, 0, 0n, 0n), error: "AccessControlUnauthorizedAccount", args: role("OPERATOR_ROLE") },
    rebindMeterSigner: { call: (c, r) => (r as Core["registry"]).rebindMeterSigner(meterId("alice"), c.mallory.address), error: "AccessControlUnauthorizedAccount", args: role("OPERATOR_ROLE") },
    retireMeter: { call: (c, r) => (r as Core["registry"]).retireMeter(meterId("alice")), error: "AccessControlUnauthorizedAccount", args: role("OPERATOR_ROLE") },
    grantRole: { call: (c, r) => (r as Core["registry"]).grantRole(ROLES.OPERATOR_ROLE, c.mallory.address), error: "AccessControlUnauthorizedAccount", args: role("DEFAULT_ADMIN_ROLE") },
    revokeRole: { call: (c, r) => (r as Core["registry"]).revokeRole(ROLES.OPERATOR_ROLE, c.deployer.address), error: "AccessControlUnauthorizedAccount", args: role("DEFAULT_ADMIN_ROLE") },
    multicall: { open: "runs each call as the caller itself: every inner call is checked (see its own case)" },
    renounceRole: { call: (c, r) => (r as Core["registry"]).renounceRole(ROLES.OPERATOR_ROLE, c.deployer.address), error: "AccessControlBadConfirmation", args: () => [] },
  },
  EnergyToken: {
    mint: { call: (c, t) => (t as Core["energy"]).mint(c.mallory.address, 1n), error: "AccessControlUnauthorizedAccount", args: role("ENERGY_MINTER_ROLE") },
    retire: { call: (c, t) => (t as Core["energy"]).retire(c.alice.address, 1n), error: "AccessControlUnauthorizedAccount", args: role("ENERGY_RETIRER_ROLE") },
    retireBatch: { call: (c, t) => (t as Core["energy"]).retireBatch([c.alice.address], [1n]), error: "AccessControlUnauthorizedAccount", args: role("ENERGY_RETIRER_ROLE") },
    pause: { call: (_c, t) => (t as Core["energy"]).pause(), error: "AccessControlUnauthorizedAccount", args: role("PAUSER_ROLE") },
    unpause: { call: (_c, t) => (t as Core["energy"]).unpause(), error: "AccessControlUnauthorizedAccount", args: role("PAUSER_ROLE") },
    onMemberMigrated: { call: (c, t) => (t as Core["energy"]).onMemberMigrated(c.alice.address, c.mallory.address), error: "TokenCallerNotRegistry", args: (c) => [c.mallory.address] },
    beforeMemberRemoved: { open: "does nothing (a balance stays with the wallet); the registry's hook call" },
    onMemberChanged: { open: "does nothing (balances are checked against the registry itself); the registry's hook call" },
    transfer: { call: (c, t) => (t as Core["energy"]).transfer(c.alice.address, 0n), error: "EnergyTransferDisabled", args: (c) => [c.mallory.address, c.alice.address] },
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
    beforeMemberRemoved: { open: "does nothing (a balance stays with the wallet); the registry's hook call" },
    onMemberChanged: { open: "does nothing (balances are checked against the registry itself); the registry's hook call" },
    transfer: { call: (c, t) => (t as Core["credit"]).transfer(c.alice.address, 0n), error: "ERC20InvalidSender", args: (c) => [c.mallory.address] },
    transferFrom: { call: (c, t) => (t as Core["credit"]).transferFrom(c.alice.address, c.mallory.address, 1n), error: "ERC20InsufficientAllowance", args: (c) => [c.mallory.address, 0n, 1n] },
    approve: { open: "an allowance moves nothing; the transfer that uses it is checked" },
    permit: { open: "a signed allowance; only the holder's signature makes it (tested in the token suite)" },
  },
  EnergyMarket: {
    deposit: { call: (_c, m) => (m as Core["market"]).deposit(1n), error: "MarketNotMember", args: (c) => [c.mallory.address] },
    depositWithPermit: { call: (_c, m) => (m as Core["market"]).depositWithPermit(1n, 0, 27, ZeroHash, ZeroHash), error: "MarketNotMember", args: (c) => [c.mallory.address] },
    withdraw: { call: (_c, m) => (m as Core["market"]).withdraw(1n), error: "MarketInsufficientDeposit", args: (c) => [c.mallory.address, 0n, 1n] },
    placeOrder: { call: (_c, m) => (m as Core["market"]).placeOrder(0, 1, 0, 1, 2), error: "MarketNotMember", args: (c) => [c.mallory.address] },
    updateOrder: { call: (_c, m) => (m as Core["market"]).updateOrder(0, 1, 0, 1, 2), error: "MarketNotMember", args: (c) => [c.mallory.address] },
    cancelOrder: { call: (_c, m) => (m as Core["market"]).cancelOrder(1), error: "MarketNotMember", args: (c) => [c.mallory.address] },
    submitSignedOrder: {
      call: async (c, m) => {
        const { chainId } = await ethers.provider.getNetwork();
        const msg = { member: c.alice.address, action: 0, side: 0, limitPricePerKWh: 1n, capWhPerInterval: 0n, firstInterval: 1, lastInterval: 2, nonce: 0n, deadline: 2n ** 40n };
        const sig = await c.mallory.signTypedData(marketDomain(chainId, await c.market.getAddress()), ORDER_INTENT_TYPES, msg);
        return (m as Core["market"]).submitSignedOrder(msg, sig);
      },
      error: "MarketInvalidSigner",
      args: (c) => [c.alice.address, c.mallory.address],
    },
    setTariffs: { call: (_c, m) => (m as Core["market"]).setTariffs(1, 1, 99), error: "AccessControlUnauthorizedAccount", args: role("OPERATOR_ROLE") },
    pause: { call: (_c, m) => (m as Core["market"]).pause(), error: "AccessControlUnauthorizedAccount", args: role("PAUSER_ROLE") },
    unpause: { call: (_c, m) => (m as Core["market"]).unpause(), error: "AccessControlUnauthorizedAccount", args: role("PAUSER_ROLE") },
    onMemberMigrated: { call: (c, m) => (m as Core["market"]).onMemberMigrated(c.alice.address, c.mallory.address), error: "MarketCallerNotRegistry", args: (c) => [c.mallory.address] },
    beforeMemberRemoved: { call: (c, m) => (m as Core["market"]).beforeMemberRemoved(c.alice.address), error: "MarketCallerNotRegistry", args: (c) => [c.mallory.address] },
    onMemberChanged: { open: "copies the registry's record of a wallet into the market, nothing else, and only while the market is a registry hook (tested in test/market/member-copy.test.ts)" },
    setMinCollectPage: { call: (_c, m) => (m as Core["market"]).setMinCollectPage(8), error: "AccessControlUnauthorizedAccount", args: role("OPERATOR_ROLE") },
    recoverSurplus: { call: (c, m) => (m as Core["market"]).recoverSurplus(c.mallory.address), error: "AccessControlUnauthorizedAccount", args: role("DEFAULT_ADMIN_ROLE") },
    collect: { open: "anyone may clear an interval; the outcome never depends on the caller (market suite)" },
    settle: { open: "anyone may settle; pass 2 must replay pass 1 exactly (market suite)" },
  },
  MeterReadings: {
    submitReadings: { call: (_c, m) => (m as Core["readings"]).submitReadings([]), error: "AccessControlUnauthorizedAccount", args: role("ORACLE_ROLE") },
    setReadingDeadlineSeconds: { call: (_c, m) => (m as Core["readings"]).setReadingDeadlineSeconds(3600), error: "AccessControlUnauthorizedAccount", args: role("OPERATOR_ROLE") },
    resetMeterRegisters: { call: (_c, m) => (m as Core["readings"]).resetMeterRegisters(meterId("alice"), 0n, 0n), error: "AccessControlUnauthorizedAccount", args: role("OPERATOR_ROLE") },
    closeInterval: { call: (_c, m) => (m as Core["readings"]).closeInterval(0), error: "AccessControlUnauthorizedAccount", args: role("SYSTEM_ROLE") },
    syncMeter: { open: "copies the registry's current record of a meter, nothing else (tested in the MeterReadings suite)" },
  },
};

const CONTRACTS: Record<string, (c: Core) => BaseContract> = {
  CommunityRegistry: (c) => c.registry,
  EnergyToken: (c) => c.energy,
  CommunityCredit: (c) => c.credit,
  MeterReadings: (c) => c.readings,
  EnergyMarket: (c) => c.market,
};

/**
 * Every contract compiled from contracts/ (interfaces and test mocks aside) is either listed in
 * CONTRACTS above or here with the reason it has no state-changing function an outsider reaches.
 */
const NOT_DEPLOYED_ALONE: Record<string, string> = {
  OrderBook:
    "linked library: its external functions take storage references, so they are in no ABI and run only by " +
    "DELEGATECALL from the market; a direct call is refused (tested below)",
  ClearingWalk: "internal library (pure), inlined into the market",
  Roles: "internal library of role constants",
  CommunityToken: "abstract base of EnergyToken and CommunityCredit (covered through both)",
};

describe("access: every contract in contracts/ is covered", () => {
  it("lists every compiled contract with a state-changing function", async () => {
    const names = (await artifacts.getAllFullyQualifiedNames()).filter(
      (n) => n.startsWith("contracts/") && !n.startsWith("contracts/mocks/"),
    );
    const uncovered: string[] = [];
    for (const fq of names) {
      const art = await artifacts.readArtifact(fq);
      if (art.bytecode === "0x") continue; // interfaces and abstract contracts: no code of their own
      if (art.contractName in CONTRACTS || art.contractName in NOT_DEPLOYED_ALONE) continue;
      uncovered.push(fq);
    }
    expect(uncovered, "add the contract to CONTRACTS in test/access/unauthorised.test.ts").to.deep.equal([]);
  });

  it("refuses a direct call into the OrderBook library's state-changing functions", async () => {
    const c = await deployCommunity();
    const address = (await deployments.get("OrderBook")).address;
    const fq = "contracts/market/lib/OrderBook.sol:OrderBook";
    const info = await artifacts.getBuildInfo(fq);
    const ids = info!.output.contracts["contracts/market/lib/OrderBook.sol"].OrderBook.evm.methodIdentifiers as Record<string, string>;
    expect(Object.keys(ids).map((k) => k.split("(")[0]).sort()).to.deep.equal([
      "addDeposit",
      "availableAt",
      "cancel",
      "collectEntry",
      "lockedUntil",
      "orderAt",
      "permit",
      "recoverSurplus",
      "refund",
      "scheduleTariff",
      "syncMember",
      "takeDeposit",
    ]);
    // Views (orderAt, availableAt, lockedUntil) read only the caller's storage: solc guards only
    // the state-changing ones. Placing an order (`set`) is internal: compiled into the market.
    const views = new Set(["availableAt", "lockedUntil", "orderAt"]);
    for (const [sig, selector] of Object.entries(ids)) {
      if (views.has(sig.split("(")[0])) continue;
      // Any arguments: solc's library call guard refuses every direct (non-DELEGATECALL) call.
      const data = "0x" + selector + "00".repeat(32 * 12);
      await expect(c.mallory.sendTransaction({ to: address, data })).to.be.reverted;
    }
  });
});

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
