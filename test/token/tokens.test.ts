import { expect } from "chai";
import { ethers } from "hardhat";
import { Signature } from "ethers";
import { PERMIT_TYPES } from "../../src/sdk/eip712";
import { ROLES } from "../../src/sdk/roles";
import { Core, deployCommunity } from "../helpers/fixtures";
import { shouldBehaveLikeCommunityToken } from "./behaviours";

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

  it("mints only for the minter role (the metering contract)", async () => {
    await expect(c.energy.connect(c.mallory).mint(c.alice.address, 1n))
      .to.be.revertedWithCustomError(c.energy, "AccessControlUnauthorizedAccount")
      .withArgs(c.mallory.address, ROLES.ENERGY_MINTER_ROLE);
    expect(await c.registry.hasRole(ROLES.ENERGY_MINTER_ROLE, await c.readings.getAddress())).to.equal(true);
  });

  it("never moves from member to member: energy goes through the market", async () => {
    await c.energy.mint(c.alice.address, 10n);
    await expect(c.energy.connect(c.alice).transfer(c.bob.address, 1n))
      .to.be.revertedWithCustomError(c.energy, "EnergyTransferOutsideMarket")
      .withArgs(c.alice.address, c.bob.address);
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
