import { ethers, network } from "hardhat";
import type { Signer } from "ethers";
import { READING_TYPES, readingsDomain, signedReading } from "../../src/sdk/eip712";
import type { MeterReadings } from "../../typechain-types";
import type { IMeterReadings } from "../../typechain-types/contracts/oracle/MeterReadings";

export const Reject = {
  None: 0,
  AlreadyRecorded: 1,
  UnknownMeter: 2,
  MeterRetired: 3,
  OwnerNotActive: 4,
  BadSignature: 5,
  IntervalNotAfterLast: 6,
  IntervalNotEnded: 7,
  IntervalClosed: 8,
  RegisterWentBackwards: 9,
  ImplausiblePower: 10,
} as const;

export interface ReadingInput {
  meterId: string;
  interval: number;
  importWhTotal: bigint;
  exportWhTotal: bigint;
}

/** Signs a reading with EIP-712 for `readings` on the current chain (`submitReadings`' form). */
export async function signReading(
  readings: MeterReadings,
  signer: Signer,
  r: ReadingInput,
  domainOverride: { chainId?: bigint; verifyingContract?: string } = {},
): Promise<IMeterReadings.SignedReadingStruct & { signature: string }> {
  const { chainId } = await ethers.provider.getNetwork();
  const domain = readingsDomain(
    domainOverride.chainId ?? chainId,
    domainOverride.verifyingContract ?? (await readings.getAddress()),
  );
  const signature = await signer.signTypedData(domain, READING_TYPES, r);
  // The on-chain form (r, vs) and, for tests that compare or tamper, the 65-byte signature.
  return { ...signedReading(r, signature), signature };
}

/** Moves the chain's clock to `seconds` after the start of `interval` and mines a block. */
export async function goToInterval(readings: MeterReadings, interval: number, seconds = 1): Promise<void> {
  const start = Number(await readings.marketStart());
  const len = Number(await readings.intervalSeconds());
  const target = start + interval * len + seconds;
  const latest = (await ethers.provider.getBlock("latest"))!.timestamp;
  if (target > latest) await network.provider.send("evm_setNextBlockTimestamp", [target]);
  await network.provider.send("evm_mine");
}
