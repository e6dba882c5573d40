/**
 * A simulated community of any size on the embedded chain, for gas snapshots and benchmarks:
 * deterministic wallets, members and meters onboarded by the operator in multicall batches,
 * standing orders from the members' own wallets, one gateway key signing every meter's readings.
 * Used by `npm run bench` (bench/run.ts) and the gas snapshot test; nothing here needs mocha.
 */
import { ethers, network } from "hardhat";
import { id, keccak256, toUtf8Bytes, Wallet } from "ethers";
import type { ContractTransactionReceipt } from "ethers";
import { createCommunity, Household as SimHousehold, initialRegisters, simulateInterval } from "../../src/sim/household";
import { READING_TYPES, readingsDomain } from "../../src/sdk/eip712";
import { Side } from "../../src/sdk/eip712";
import type { Core } from "../../test/helpers/fixtures";
import type { IMeterReadings } from "../../typechain-types/contracts/oracle/MeterReadings";

export interface Member {
  sim: SimHousehold;
  wallet: Wallet;
  meterId: string;
  importWhTotal: bigint;
  exportWhTotal: bigint;
}

export interface Community {
  members: Member[];
  gateway: Wallet;
}

export const wallet = (label: string) => new Wallet(keccak256(toUtf8Bytes(`gridledger:${label}`)), ethers.provider);

async function chunks<T>(items: T[], size: number, f: (chunk: T[]) => Promise<void>) {
  for (let i = 0; i < items.length; i += size) await f(items.slice(i, i + size));
}

/** Onboards `n` simulated households (seeded), with credits deposited and orders placed. */
export async function buildCommunity(
  core: Core,
  n: number,
  seed = 1,
  onProgress?: (built: number, total: number) => void,
): Promise<Community> {
  const gateway = wallet("gateway");
  const sims = createCommunity({ households: n, seed });
  const members: Member[] = sims.map((sim) => ({
    sim,
    wallet: wallet(`member:${seed}:${sim.id}`),
    meterId: id(`meter:${seed}:${sim.id}`),
    ...initialRegisters(sim),
  }));
  const iface = core.registry.interface;
  await chunks(members, 100, async (chunk) => {
    const calls = chunk.flatMap((m) => [
      iface.encodeFunctionData("onboardMember", [m.wallet.address, m.sim.kind === "prosumer" ? 2 : 1, id(`identity:${m.sim.name}`)]),
      iface.encodeFunctionData("registerMeter", [m.meterId, m.wallet.address, gateway.address, m.sim.maxPowerW, 1]),
    ]);
    await (await core.registry.multicall(calls, { gasLimit: 25_000_000 })).wait();
  });
  const market = await core.market.getAddress();
  // Explicit gas limits: an estimate runs the transaction again, doubling the build time.
  const gas = { gasLimit: 400_000 };
  for (const m of members) {
    if (onProgress && m.sim.id % 250 === 0) onProgress(m.sim.id, n);
    await network.provider.send("hardhat_setBalance", [m.wallet.address, "0x56BC75E2D63100000"]);
    const i = m.sim.id;
    if (m.sim.kind === "prosumer") {
      // Sellers ask between the feed-in tariff (0.08) and 0.20 per kWh.
      await (await core.market.connect(m.wallet).placeOrder(Side.Sell, 80_000 + ((i * 7919) % 120_000), 0, 0, 100_000, gas)).wait();
    } else {
      await (await core.credit.mint(m.wallet.address, 100_000_000n, gas)).wait();
      await (await core.credit.connect(m.wallet).approve(market, ethers.MaxUint256, gas)).wait();
      await (await core.market.connect(m.wallet).deposit(50_000_000n, gas)).wait();
      // Buyers bid between 0.12 and 0.30 per kWh.
      await (await core.market.connect(m.wallet).placeOrder(Side.Buy, 120_000 + ((i * 6007) % 180_000), 0, 0, 100_000, gas)).wait();
    }
  }
  return { members, gateway };
}

/**
 * Signs the readings of `members` for chain interval `interval` with the energy of simulator
 * interval `simInterval` (or none for a baseline) and submits them in batches of `batchSize`.
 */
export async function readInterval(
  core: Core,
  community: Community,
  members: Member[],
  interval: number,
  simInterval: number | undefined,
  batchSize: number,
  maxGasPerTx = 29_000_000,
): Promise<ContractTransactionReceipt[]> {
  const { chainId } = await ethers.provider.getNetwork();
  const domain = readingsDomain(chainId, await core.readings.getAddress());
  const readings: IMeterReadings.SignedReadingStruct[] = [];
  for (const m of members) {
    if (simInterval !== undefined) {
      const e = simulateInterval(m.sim, simInterval);
      m.importWhTotal += e.importWh;
      m.exportWhTotal += e.exportWh;
    }
    const msg = { meterId: m.meterId, interval, importWhTotal: m.importWhTotal, exportWhTotal: m.exportWhTotal };
    readings.push({ ...msg, signature: await community.gateway.signTypedData(domain, READING_TYPES, msg) });
  }
  const receipts: ContractTransactionReceipt[] = [];
  for (let i = 0; i < readings.length; i += batchSize) {
    // An explicit limit: estimates of very large batches can fall short of the 63/64 rule.
    const gasLimit = Math.min(maxGasPerTx, 200_000 + batchSize * 90_000);
    receipts.push((await (await core.readings.submitReadings(readings.slice(i, i + batchSize), { gasLimit })).wait())!);
  }
  return receipts;
}
