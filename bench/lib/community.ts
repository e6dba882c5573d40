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
import { readingDigester, readingsDomain, signedReading } from "../../src/sdk/eip712";
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

/**
 * Sends `txs` (each already signed, or sent by an unlocked account) with automine off and mines
 * them in full blocks: hundreds of real transactions per block instead of one block each. Every
 * receipt must succeed. Restores automine.
 */
/**
 * Sends `txs` (each signed here, or sent by an unlocked account) one after the other with no
 * round trip but the send itself: no nonce look-up, no fee estimate, no receipt polling (what
 * made the old build take minutes). Hardhat's automine mines each as it arrives (3-4 ms a
 * transaction here); a reverted transaction throws. Measured: turning automine off and mining
 * hundreds per block was slower on Hardhat's EDR (about 20 ms a transaction to build blocks
 * from a pool of many senders), so each transaction stays its own block.
 */
async function sendAll(txs: (() => Promise<string>)[], label: string, onProgress?: (msg: string) => void): Promise<void> {
  const send = (m: string, p: unknown[] = []) => network.provider.send(m, p);
  const hashes: string[] = [];
  for (const tx of txs) hashes.push(await tx());
  for (let i = 0; i < hashes.length; i += 500) {
    const receipts = (await Promise.all(hashes.slice(i, i + 500).map((h) => send("eth_getTransactionReceipt", [h])))) as { status: string }[];
    const bad = receipts.findIndex((r) => !r || r.status !== "0x1");
    if (bad >= 0) throw new Error(`${label}: transaction ${hashes[i + bad]} failed`);
  }
  onProgress?.(`${label}: ${hashes.length} transactions`);
}

const GAS = "0x493e0"; // 300,000: well above each transaction here (~50-150k; a first deposit writes its checkpoint)
const MAX_FEE = "0x2540be400"; // 10 gwei: above any base fee the run reaches (London, from 0)

/**
 * Credits, deposits and standing orders for every member, as the real transactions they are
 * (the operator mints credits; each member approves, deposits and places its order from its own
 * account, with explicit nonces).
 */
async function sendTransactions(core: Core, members: Member[], onProgress?: (built: number, total: number) => void, trace?: (what: string) => void): Promise<void> {
  const send = (m: string, p: unknown[] = []) => network.provider.send(m, p);
  const market = await core.market.getAddress();
  const credit = await core.credit.getAddress();
  const from = core.deployer.address;
  let deployerNonce = await ethers.provider.getTransactionCount(from, "pending");
  for (const m of members) {
    await send("hardhat_setBalance", [m.wallet.address, "0x56BC75E2D63100000"]);
    await send("hardhat_impersonateAccount", [m.wallet.address]);
  }
  const consumers = members.filter((m) => m.sim.kind !== "prosumer");
  // 1. The operator mints every consumer's credits (it must precede their deposits).
  const mint = consumers.map((m) => {
    const data = core.credit.interface.encodeFunctionData("mint", [m.wallet.address, 100_000_000n]);
    const nonce = deployerNonce++;
    return () => send("eth_sendTransaction", [{ from, to: credit, data, gas: GAS, nonce: "0x" + nonce.toString(16), maxFeePerGas: MAX_FEE, maxPriorityFeePerGas: "0x0" }]) as Promise<string>;
  });
  trace?.("balances set");
  await sendAll(mint, "credits", trace);
  // 2. Each member's own transactions, in nonce order: approve, deposit, buy order; or a sell order.
  const nonces = await Promise.all(members.map((m) => ethers.provider.getTransactionCount(m.wallet.address, "pending")));
  const txs: (() => Promise<string>)[] = [];
  for (const [k, m] of members.entries()) {
    const i = m.sim.id;
    let nonce = nonces[k];
    const calls: { to: string; data: string }[] = [];
    if (m.sim.kind === "prosumer") {
      // Sellers ask between the feed-in tariff (0.08) and 0.20 per kWh.
      calls.push({ to: market, data: core.market.interface.encodeFunctionData("placeOrder", [Side.Sell, 80_000 + ((i * 7919) % 120_000), 0, 0, 100_000]) });
    } else {
      calls.push({ to: credit, data: core.credit.interface.encodeFunctionData("approve", [market, ethers.MaxUint256]) });
      calls.push({ to: market, data: core.market.interface.encodeFunctionData("deposit", [50_000_000n]) });
      // Buyers bid between 0.12 and 0.30 per kWh.
      calls.push({ to: market, data: core.market.interface.encodeFunctionData("placeOrder", [Side.Buy, 120_000 + ((i * 6007) % 180_000), 0, 0, 100_000]) });
    }
    for (const c of calls) {
      const n = nonce++;
      txs.push(async () => {
        if (onProgress && i % 250 === 0 && c === calls[0]) onProgress(i, members.length);
        // From the member's own account. Hardhat takes it unsigned from an impersonated account
        // (signing 11,000 transactions in JavaScript took longer than running them).
        return (await send("eth_sendTransaction", [{ from: m.wallet.address, to: c.to, data: c.data, gas: GAS, nonce: "0x" + n.toString(16), maxFeePerGas: MAX_FEE, maxPriorityFeePerGas: "0x0" }])) as string;
      });
    }
  }
  await sendAll(txs, "members' deposits and orders", trace);
  for (const m of members) await send("hardhat_stopImpersonatingAccount", [m.wallet.address]);
}

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
  const t0 = Date.now();
  const trace = (what: string) => process.env.BENCH_TRACE && process.stderr.write(`  [build ${((Date.now() - t0) / 1000).toFixed(1)} s] ${what}\n`);
  // 50 households a transaction: since issue 16 a meter's registration also writes MeterReadings'
  // copy of it and the member's position index (~260k gas a household, ~13M a transaction).
  await chunks(members, 50, async (chunk) => {
    const calls = chunk.flatMap((m) => [
      iface.encodeFunctionData("onboardMember", [m.wallet.address, m.sim.kind === "prosumer" ? 2 : 1, id(`identity:${m.sim.name}`)]),
      iface.encodeFunctionData("registerMeter", [m.meterId, m.wallet.address, gateway.address, m.sim.maxPowerW, 1, m.importWhTotal, m.exportWhTotal]),
    ]);
    await (await core.registry.multicall(calls, { gasLimit: 25_000_000 })).wait();
  });
  trace("members and meters onboarded");
  await sendTransactions(core, members, onProgress, trace);
  trace("credits, deposits and orders mined");
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
  const digest = readingDigester(readingsDomain(chainId, await core.readings.getAddress()));
  const readings: IMeterReadings.SignedReadingStruct[] = [];
  for (const m of members) {
    if (simInterval !== undefined) {
      const e = simulateInterval(m.sim, simInterval);
      m.importWhTotal += e.importWh;
      m.exportWhTotal += e.exportWh;
    }
    const msg = { meterId: m.meterId, interval, importWhTotal: m.importWhTotal, exportWhTotal: m.exportWhTotal };
    // The EIP-712 signature signTypedData makes, with the domain hashed once.
    readings.push(signedReading(msg, community.gateway.signingKey.sign(digest(msg)).serialized));
  }
  const receipts: ContractTransactionReceipt[] = [];
  for (let i = 0; i < readings.length; i += batchSize) {
    // An explicit limit: estimates of very large batches can fall short of the 63/64 rule.
    const gasLimit = Math.min(maxGasPerTx, 200_000 + batchSize * 90_000);
    receipts.push((await (await core.readings.submitReadings(readings.slice(i, i + batchSize), { gasLimit })).wait())!);
  }
  return receipts;
}
