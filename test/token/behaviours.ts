import { expect } from "chai";
import type { CommunityToken } from "../../typechain-types";
import { ROLES } from "../../src/sdk/roles";
import type { Core } from "../helpers/fixtures";

export interface TokenVariant {
  name: string;
  token: (c: Core) => CommunityToken;
  /** Gives `to` some balance through the token's own issuance path. */
  fund: (c: Core, to: string, amount: bigint) => Promise<void>;
  /** Whether member-to-member transfers are allowed (credits yes, energy no). */
  memberToMember: boolean;
  /** Whether the token can be transferred at all (credits yes, energy never: issue 14). */
  transferable: boolean;
}

/** Behaviour every GridLedger token shares: members-only, pausable, follows migrations. */
export function shouldBehaveLikeCommunityToken(variant: TokenVariant, load: () => Promise<Core>): void {
  describe(`${variant.name} as a community token`, () => {
    let c: Core;
    let token: CommunityToken;

    beforeEach(async () => {
      c = await load();
      token = variant.token(c);
      await variant.fund(c, c.alice.address, 1000n);
    });

    it("refuses to mint to a non-member", async () => {
      await expect(variant.fund(c, c.carol.address, 1n))
        .to.be.revertedWithCustomError(token, "ERC20InvalidReceiver")
        .withArgs(c.carol.address);
    });

    if (variant.transferable) shouldTransferAmongParticipants(variant, () => c, () => token);

    it("refuses every mint while paused, and only a pauser pauses", async () => {
      await expect(token.connect(c.mallory).pause())
        .to.be.revertedWithCustomError(token, "AccessControlUnauthorizedAccount")
        .withArgs(c.mallory.address, ROLES.PAUSER_ROLE);
      await expect(token.pause()).to.emit(token, "Paused").withArgs(c.deployer.address);
      await expect(variant.fund(c, c.alice.address, 1n)).to.be.revertedWithCustomError(token, "EnforcedPause");
      await expect(token.connect(c.mallory).unpause())
        .to.be.revertedWithCustomError(token, "AccessControlUnauthorizedAccount")
        .withArgs(c.mallory.address, ROLES.PAUSER_ROLE);
      await expect(token.unpause()).to.emit(token, "Unpaused").withArgs(c.deployer.address);
      await variant.fund(c, c.alice.address, 1n);
    });

    it("accepts a migration call from the registry only", async () => {
      await expect(token.connect(c.mallory).onMemberMigrated(c.alice.address, c.mallory.address))
        .to.be.revertedWithCustomError(token, "TokenCallerNotRegistry")
        .withArgs(c.mallory.address);
      expect(await token.registry()).to.equal(await c.registry.getAddress());
    });

    it("moves the whole balance to the new wallet on a migration", async () => {
      const before = await token.balanceOf(c.alice.address);
      await c.registry.migrateMember(c.alice.address, c.carol.address);
      expect([await token.balanceOf(c.alice.address), await token.balanceOf(c.carol.address)]).to.deep.equal([0n, before]);
    });
  });
}

/** Transfer rules of a transferable community token: participants only, pausable. */
function shouldTransferAmongParticipants(variant: TokenVariant, core: () => Core, tok: () => CommunityToken): void {
  describe("transfers", () => {
    let c: Core;
    let token: CommunityToken;
    beforeEach(() => {
      c = core();
      token = tok();
    });

    it("refuses transfers to a non-member and to a suspended member", async () => {
      await expect(token.connect(c.alice).transfer(c.carol.address, 1n))
        .to.be.revertedWithCustomError(token, "ERC20InvalidReceiver")
        .withArgs(c.carol.address);
      await c.registry.suspendMember(c.bob.address);
      await expect(token.connect(c.alice).transfer(c.bob.address, 1n))
        .to.be.revertedWithCustomError(token, "ERC20InvalidReceiver")
        .withArgs(c.bob.address);
    });

    it("refuses transfers from a suspended member", async () => {
      await c.registry.suspendMember(c.alice.address);
      await expect(token.connect(c.alice).transfer(c.bob.address, 1n))
        .to.be.revertedWithCustomError(token, "ERC20InvalidSender")
        .withArgs(c.alice.address);
    });

    it("lets a member move tokens to a system contract and back", async () => {
      await c.registry.grantRole(ROLES.SYSTEM_ROLE, c.carol.address);
      await expect(token.connect(c.alice).transfer(c.carol.address, 10n)).to.changeTokenBalances(
        token,
        [c.alice, c.carol],
        [-10n, 10n],
      );
      await expect(token.connect(c.carol).transfer(c.bob.address, 4n)).to.changeTokenBalances(
        token,
        [c.carol, c.bob],
        [-4n, 4n],
      );
    });

    if (variant.memberToMember) {
      it("lets active members transfer to each other", async () => {
        await expect(token.connect(c.alice).transfer(c.bob.address, 10n)).to.changeTokenBalances(
          token,
          [c.alice, c.bob],
          [-10n, 10n],
        );
      });
    }

    it("stops every transfer while paused, and only a pauser pauses", async () => {
      await expect(token.connect(c.mallory).pause())
        .to.be.revertedWithCustomError(token, "AccessControlUnauthorizedAccount")
        .withArgs(c.mallory.address, ROLES.PAUSER_ROLE);
      await expect(token.pause()).to.emit(token, "Paused").withArgs(c.deployer.address);
      await c.registry.grantRole(ROLES.SYSTEM_ROLE, c.carol.address);
      await expect(token.connect(c.alice).transfer(c.carol.address, 1n)).to.be.revertedWithCustomError(
        token,
        "EnforcedPause",
      );
      await expect(variant.fund(c, c.alice.address, 1n)).to.be.revertedWithCustomError(token, "EnforcedPause");
      await expect(token.connect(c.mallory).unpause())
        .to.be.revertedWithCustomError(token, "AccessControlUnauthorizedAccount")
        .withArgs(c.mallory.address, ROLES.PAUSER_ROLE);
      await expect(token.unpause()).to.emit(token, "Unpaused").withArgs(c.deployer.address);
      await token.connect(c.alice).transfer(c.carol.address, 1n);
    });
  });
}
