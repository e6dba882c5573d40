import { expect } from "chai";
import { ethers } from "hardhat";
import { Signature } from "ethers";
import { PERMIT_TYPES } from "../../src/sdk/eip712";
import { ROLES } from "../../src/sdk/roles";
import { Core, deployCommunity } from "../helpers/fixtures";
import { shouldBehaveLikeCommunityToken } from "./behaviours";
import { Side } from "../../src/sdk/eip712";
import { settleInterval } from "../../src/keeper/interval";
import { CREDIT, deployMarketWorld, submitReadings } from "../helpers/market";
import { goToInterval } from "../helpers/readings";

async function withEnergyMinter(): Promise<Core> {
  const c = await deployCommunity();
  await c.registry.grantRole(ROLES.ENERGY_MINTER_ROLE, c.deployer.address);
  return c;
}

describe("EnergyToken", () => {
  shouldBehaveLikeCommunityToken(
    {
      name: "EnergyToken",
      token: (c) => c.energy as never,
      fund: async (c, to, amount) => {
        await c.energy.mint(to, amount);
      },
      memberToMember: false,
      transferable: false,
    },
    withEnergyMinter,
  );

  let c: Core;
  beforeEach(async () => {
    c = await withEnergyMinter();
  });

  it("is the kWh token with 3 decimals (1 base unit = 1 Wh)", async () => {
    expect(await c.energy.symbol()).to.equal("kWh");
    expect(await c.energy.decimals()).to.equal(3n);
    expect(await c.energy.membersOnly()).to.equal(true);
  });

  it("mints only for the minter role, which the deployment gives no contract (issue 16: the rule mints none)", async () => {
    await expect(c.energy.connect(c.mallory).mint(c.alice.address, 1n))
      .to.be.revertedWithCustomError(c.energy, "AccessControlUnauthorizedAccount")
      .withArgs(c.mallory.address, ROLES.ENERGY_MINTER_ROLE);
    expect(await c.registry.hasRole(ROLES.ENERGY_MINTER_ROLE, await c.readings.getAddress())).to.equal(false);
    expect(await c.registry.hasRole(ROLES.ENERGY_RETIRER_ROLE, await c.market.getAddress())).to.equal(false);
  });

  describe("transfers (issue 14, item 1: energy tokens cannot be moved by members at all)", () => {
    it("refuses a transfer to a member, to the market and to any system account, and a transferFrom with an allowance", async () => {
      await c.energy.mint(c.alice.address, 10n);
      const market = await c.market.getAddress();
      await c.registry.grantRole(ROLES.SYSTEM_ROLE, c.carol.address);
      for (const to of [c.bob.address, market, c.carol.address, c.mallory.address]) {
        await expect(c.energy.connect(c.alice).transfer(to, 1n))
          .to.be.revertedWithCustomError(c.energy, "EnergyTransferDisabled")
          .withArgs(c.alice.address, to);
      }
      await c.energy.connect(c.alice).approve(c.carol.address, 10n);
      await expect(c.energy.connect(c.carol).transferFrom(c.alice.address, c.carol.address, 1n))
        .to.be.revertedWithCustomError(c.energy, "EnergyTransferDisabled")
        .withArgs(c.alice.address, c.carol.address);
      // Nor can a system account move what it holds.
      await c.energy.mint(c.carol.address, 5n);
      await expect(c.energy.connect(c.carol).transfer(c.alice.address, 1n))
        .to.be.revertedWithCustomError(c.energy, "EnergyTransferDisabled")
        .withArgs(c.carol.address, c.alice.address);
      expect(await c.energy.balanceOf(c.alice.address)).to.equal(10n);
    });
  });

  it("retires only for the retirer role, without allowance, even from a suspended member", async () => {
    await c.energy.mint(c.alice.address, 10n);
    await expect(c.energy.connect(c.mallory).retire(c.alice.address, 1n))
      .to.be.revertedWithCustomError(c.energy, "AccessControlUnauthorizedAccount")
      .withArgs(c.mallory.address, ROLES.ENERGY_RETIRER_ROLE);
    await c.registry.grantRole(ROLES.ENERGY_RETIRER_ROLE, c.deployer.address);
    await c.registry.suspendMember(c.alice.address);
    await expect(c.energy.retire(c.alice.address, 4n)).to.changeTokenBalance(c.energy, c.alice, -4n);
    expect(await c.energy.totalSupply()).to.equal(6n);
  });
});

describe("CommunityCredit", () => {
  shouldBehaveLikeCommunityToken(
    {
      name: "CommunityCredit",
      token: (c) => c.credit as never,
      fund: async (c, to, amount) => {
        await c.credit.mint(to, amount);
      },
      memberToMember: true,
      transferable: true,
    },
    deployCommunity,
  );

  let c: Core;
  beforeEach(async () => {
    c = await deployCommunity();
  });

  it("has 6 decimals like a EUR stablecoin", async () => {
    expect(await c.credit.decimals()).to.equal(6n);
  });

  it("mints and burns only for the issuer, and burns only with the holder's allowance", async () => {
    await expect(c.credit.connect(c.mallory).mint(c.alice.address, 1n))
      .to.be.revertedWithCustomError(c.credit, "AccessControlUnauthorizedAccount")
      .withArgs(c.mallory.address, ROLES.ISSUER_ROLE);
    await c.credit.mint(c.alice.address, 100n);
    await expect(c.credit.connect(c.mallory).burn(c.alice.address, 1n))
      .to.be.revertedWithCustomError(c.credit, "AccessControlUnauthorizedAccount")
      .withArgs(c.mallory.address, ROLES.ISSUER_ROLE);
    await expect(c.credit.burn(c.alice.address, 1n))
      .to.be.revertedWithCustomError(c.credit, "ERC20InsufficientAllowance")
      .withArgs(c.deployer.address, 0, 1);
    await c.credit.connect(c.alice).approve(c.deployer.address, 60n);
    await expect(c.credit.burn(c.alice.address, 60n)).to.changeTokenBalance(c.credit, c.alice, -60n);
  });

  it("accepts an ERC-2612 permit as consent to burn", async () => {
    await c.credit.mint(c.alice.address, 100n);
    const { chainId } = await ethers.provider.getNetwork();
    const deadline = BigInt((await ethers.provider.getBlock("latest"))!.timestamp + 3600);
    const nonce = await c.credit.nonces(c.alice.address);
    const sig = Signature.from(
      await c.alice.signTypedData(
        { name: "GridLedger Community Credit", version: "1", chainId, verifyingContract: await c.credit.getAddress() },
        PERMIT_TYPES,
        { owner: c.alice.address, spender: c.deployer.address, value: 30n, nonce, deadline },
      ),
    );
    await c.credit.permit(c.alice.address, c.deployer.address, 30n, deadline, sig.v, sig.r, sig.s);
    await expect(c.credit.burn(c.alice.address, 30n)).to.changeTokenBalance(c.credit, c.alice, -30n);
  });

  it("lets the admin switch the members-only rule off for an open stablecoin-like community", async () => {
    await expect(c.credit.connect(c.mallory).setMembersOnly(false))
      .to.be.revertedWithCustomError(c.credit, "AccessControlUnauthorizedAccount")
      .withArgs(c.mallory.address, ROLES.DEFAULT_ADMIN_ROLE);
    await expect(c.credit.setMembersOnly(false)).to.emit(c.credit, "MembersOnlyChanged").withArgs(false);
    expect(await c.credit.membersOnly()).to.equal(false);
    await c.credit.mint(c.carol.address, 5n);
    await expect(c.credit.connect(c.carol).transfer(c.mallory.address, 5n)).to.changeTokenBalance(
      c.credit,
      c.mallory,
      5n,
    );
  });
});

describe("EnergyToken against a member freezing settlement (issue 14, item 1)", () => {
  it("refuses the 1-Wh transfer to the market after the readings are in, and the interval settles", async () => {
    const w = await deployMarketWorld(2);
    const [seller, buyer] = w.households;
    const t = Number(await w.market.nextInterval());
    await w.market.connect(seller.signer).placeOrder(Side.Sell, 100_000n, 0n, t, t + 4);
    await w.market.connect(buyer.signer).deposit(100n * CREDIT);
    await w.market.connect(buyer.signer).placeOrder(Side.Buy, 200_000n, 0n, t, t + 4);
    await goToInterval(w.readings, t + 1);
    await submitReadings(w, w.households, t, new Map([[seller.address, { importWh: 0n, exportWh: 1000n }], [buyer.address, { importWh: 800n, exportWh: 0n }]]));
    // Nothing is minted (issue 16): the seller's 1,000 Wh are its position, not a balance.
    expect(await w.energy.balanceOf(seller.address)).to.equal(0n);
    expect((await w.readings.positionOf(t, seller.address)).exportWh).to.equal(1000n);
    // The attack: 1 Wh to the market right before the keeper's transactions.
    await expect(w.energy.connect(seller.signer).transfer(await w.market.getAddress(), 1n))
      .to.be.revertedWithCustomError(w.energy, "EnergyTransferDisabled")
      .withArgs(seller.address, await w.market.getAddress());
    await settleInterval(w.keeper, t);
    expect(await w.market.nextInterval()).to.equal(BigInt(t + 1));
    // The settlement retired the 1,000 Wh by event: 800 to the buyer, 200 to the grid; no token moved.
    const [settled] = await w.market.queryFilter(w.market.filters.MemberSettled(t, seller.address));
    expect([settled.args.soldWh, settled.args.gridExportWh]).to.deep.equal([800n, 200n]);
    expect(await w.energy.totalSupply()).to.equal(0n);
  });
});
