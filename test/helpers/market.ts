import { deployments, ethers, network } from "hardhat";
import type { HardhatEthersSigner } from "@nomicfoundation/hardhat-ethers/signers";
import { ROLES } from "../../src/sdk/roles";
import { KeeperContracts, settleInterval, SettleOptions } from "../../src/keeper/interval";
import { Core, deployCore, identityHash, MemberKind, meterId } from "./fixtures";
import { goToInterval, signReading } from "./readings";
import { HDNodeWallet, Mnemonic } from "ethers";
import type { EnergyMarket } from "../../typechain-types";

const localSigners = new Map<string, HDNodeWallet>();
/** The in-memory key of a Hardhat default account: signs without a JSON-RPC round trip. */
function localSigner(address: string): HDNodeWallet {
  if (localSigners.size === 0) {
    const m = Mnemonic.fromPhrase("test test test test test test test test test test test junk");
    for (let i = 0; i < 20; i++) {
      const w = HDNodeWallet.fromMnemonic(m, `m/44'/60'/0'/0/${i}`);
      localSigners.set(w.address.toLowerCase(), w);
    }
  }
  const w = localSigners.get(address.toLowerCase());
  if (!w) throw new Error(`${address} is not a Hardhat default account`);
  return w;
}

export interface Household {
  signer: HardhatEthersSigner;
  address: string;
  meter: string;
  importWhTotal: bigint;
  exportWhTotal: bigint;
}

export interface MarketWorld extends Core {
  households: Household[];
  keeper: KeeperContracts;
}

export const CREDIT = 1_000_000n; // 1 credit in base units (6 decimals)

/**
 * The deployed system with `n` households (member + meter each, 1,000 credits minted to each),
 * meters registered at 10,000 / 5,000 Wh and read unchanged in interval 0, interval 0 cleared;
 * the clock stands in interval 1.
 */
export async function deployMarketWorld(n: number): Promise<MarketWorld> {
  const core = await deployCore();
  const signers = await ethers.getSigners();
  const people = signers.slice(6, 6 + n);
  if (people.length < n) throw new Error(`only ${people.length} spare signers for ${n} households`);
  const households: Household[] = [];
  for (const [i, s] of people.entries()) {
    await core.registry.onboardMember(s.address, i % 2 === 0 ? MemberKind.Prosumer : MemberKind.Consumer, identityHash(`h${i}`));
    const m = meterId(`h${i}`);
    await core.registry.registerMeter(m, s.address, core.signerKey.address, 10_000, 1, 10_000n, 5_000n);
    await core.credit.mint(s.address, 1000n * CREDIT);
    await core.credit.connect(s).approve(await core.market.getAddress(), ethers.MaxUint256);
    households.push({ signer: s, address: s.address, meter: m, importWhTotal: 10_000n, exportWhTotal: 5_000n });
  }
  const deployment = await deployments.get("EnergyMarket");
  const keeper: KeeperContracts = {
    registry: core.registry,
    readings: core.readings,
    market: core.market,
    fromBlock: deployment.receipt?.blockNumber ?? 0,
  };
  // These small worlds test paging with pages of 1 and 2 participants: allow them (the default
  // minimum of 32 and the attack it stops are tested in test/market/integrity.test.ts).
  await core.market.setMinCollectPage(1);
  await goToInterval(core.readings, 1);
  await submitReadings(core, households, 0, new Map());
  await settleInterval(keeper, 0);
  return { ...core, households, keeper };
}

/** Reads every household's meter for `interval` with the given energy (default none). */
export async function submitReadings(
  core: Core,
  households: Household[],
  interval: number,
  energy: Map<string, { importWh: bigint; exportWh: bigint }>,
): Promise<void> {
  const batch = [];
  for (const h of households) {
    // Registers come from the chain, so that snapshots and reverts stay consistent.
    const state = await core.readings.meterState(h.meter);
    h.importWhTotal = state.importWhTotal;
    h.exportWhTotal = state.exportWhTotal;
    const e = energy.get(h.address);
    if (e) {
      h.importWhTotal += e.importWh;
      h.exportWhTotal += e.exportWh;
    }
    batch.push(
      await signReading(core.readings, localSigner(core.signerKey.address), {
        meterId: h.meter,
        interval,
        importWhTotal: h.importWhTotal,
        exportWhTotal: h.exportWhTotal,
      }),
    );
  }
  await core.readings.submitReadings(batch);
}

/** Moves to the end of `interval`, reads it, and clears + settles it with the keeper. */
export async function runInterval(
  w: MarketWorld,
  interval: number,
  energy: Map<string, { importWh: bigint; exportWh: bigint }>,
  options: SettleOptions = {},
) {
  await goToInterval(w.readings, interval + 1);
  await submitReadings(w, w.households, interval, energy);
  return settleInterval(w.keeper, interval, options);
}

/**
 * A second market on `w`'s registry, readings and credit (retail 0.30, feed-in 0.08 from the
 * first market's next interval), deployed directly: not a registry hook, no roles.
 */
export async function deploySecondMarket(w: MarketWorld): Promise<EnergyMarket> {
  const orderBook = await deployments.get("OrderBook");
  const factory = await ethers.getContractFactory("EnergyMarket", { libraries: { OrderBook: orderBook.address } });
  return (await factory.deploy(
    await w.registry.getAddress(),
    await w.readings.getAddress(),
    await w.credit.getAddress(),
    300_000n,
    80_000n,
    await w.market.nextInterval(),
  )) as unknown as EnergyMarket;
}

export async function snapshot(): Promise<string> {
  return network.provider.send("evm_snapshot", []);
}

export async function revertTo(id: string): Promise<void> {
  await network.provider.send("evm_revert", [id]);
}

export { ROLES };
