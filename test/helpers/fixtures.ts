import { deployments, ethers, network } from "hardhat";
import type { HardhatEthersSigner } from "@nomicfoundation/hardhat-ethers/signers";
import { id } from "ethers";
import type { CommunityCredit, CommunityRegistry, EnergyMarket, EnergyToken, MeterReadings } from "../../typechain-types";

export const MemberKind = { None: 0, Consumer: 1, Prosumer: 2, Storage: 3 } as const;
export const MemberStatus = { None: 0, Active: 1, Suspended: 2, Removed: 3, Migrated: 4 } as const;
export const MeterStatus = { None: 0, Active: 1, Retired: 2 } as const;

export const meterId = (name: string) => id(`meter:${name}`);
export const identityHash = (name: string) => id(`identity:${name}`);

export interface Core {
  registry: CommunityRegistry;
  energy: EnergyToken;
  credit: CommunityCredit;
  readings: MeterReadings;
  market: EnergyMarket;
  deployer: HardhatEthersSigner;
  alice: HardhatEthersSigner;
  bob: HardhatEthersSigner;
  carol: HardhatEthersSigner;
  mallory: HardhatEthersSigner;
  signerKey: HardhatEthersSigner;
  others: HardhatEthersSigner[];
}

/**
 * Re-anchors the chain clock to the latest block after a snapshot was restored. Hardhat's
 * `evm_revert` restores blocks but not the clock offset that later tests moved forward
 * (`evm_setNextBlockTimestamp`), so without this the next block could land hours after the
 * fixture's market start, and a suite's outcome would depend on which suites ran before it.
 */
export async function anchorClock(): Promise<void> {
  const latest = (await ethers.provider.getBlock("latest"))!;
  await network.provider.send("evm_setNextBlockTimestamp", [latest.timestamp + 1]);
  await network.provider.send("evm_mine");
}

/**
 * Moves the chain clock to the start of the next interval when less than `headroom` seconds of
 * the current one are left. The deploy scripts start the market at the interval of the latest
 * block, and the worlds built on it onboard members and register meters in real time after
 * that: if an interval boundary passed in between, the meters would be anchored one interval
 * late and their readings for the deployment's interval refused (`MarketIntervalNotReady`).
 * Only the first deployment of a test process counts (later ones revert to its snapshot, which
 * undoes this block), and every world starts within `headroom` of it after `anchorClock`.
 */
async function awayFromIntervalEnd(headroom = 300): Promise<void> {
  const seconds = Number(process.env.GRIDLEDGER_INTERVAL_SECONDS ?? 900);
  const latest = (await ethers.provider.getBlock("latest"))!.timestamp;
  const next = Math.floor(latest / seconds) * seconds + seconds;
  if (next - latest > headroom) return;
  await network.provider.send("evm_setNextBlockTimestamp", [next]);
  await network.provider.send("evm_mine");
}

/** The production deploy scripts (tag "core"), then the contracts and named signers. */
export async function deployCore(): Promise<Core> {
  await awayFromIntervalEnd();
  await deployments.fixture(["core"]);
  await anchorClock();
  const [deployer, alice, bob, carol, mallory, signerKey, ...others] = await ethers.getSigners();
  const at = async <T>(name: string) => (await ethers.getContractAt(name, (await deployments.get(name)).address)) as T;
  return {
    registry: await at<CommunityRegistry>("CommunityRegistry"),
    energy: await at<EnergyToken>("EnergyToken"),
    credit: await at<CommunityCredit>("CommunityCredit"),
    readings: await at<MeterReadings>("MeterReadings"),
    market: await at<EnergyMarket>("EnergyMarket"),
    deployer,
    alice,
    bob,
    carol,
    mallory,
    signerKey,
    others,
  };
}

const communityFixture: () => Promise<Core> = deployments.createFixture(async () => {
  const core = await deployCore();
  const { registry, alice, bob, signerKey } = core;
  await registry.onboardMember(alice.address, MemberKind.Prosumer, identityHash("alice"));
  await registry.onboardMember(bob.address, MemberKind.Consumer, identityHash("bob"));
  // Registered with the registers their first readings in the suites show (alice 1000/500, bob 2000/0).
  await registry.registerMeter(meterId("alice"), alice.address, signerKey.address, 10_000, 1, 1000n, 500n);
  await registry.registerMeter(meterId("bob"), bob.address, signerKey.address, 10_000, 1, 2000n, 0n);
  return core;
});

/** Core plus alice (prosumer) and bob (consumer) onboarded, each with one meter. */
export async function deployCommunity(): Promise<Core> {
  const core = await communityFixture();
  await anchorClock();
  return core;
}
