/**
 * Tampering with a contract's storage behind its back (`hardhat_setStorageAt`), for the tests
 * that check the auditor notices state changed without an event.
 */
import { AbiCoder, keccak256, toBeHex, zeroPadValue } from "ethers";

interface StorageProvider {
  getStorage(address: string, slot: string): Promise<string>;
  send(method: string, params: unknown[]): Promise<unknown>;
}

/** The amount in `EnergyMarket`'s deposit slot (`OrderBook.DEPOSIT_MASK`: bits 0..223). */
export const DEPOSIT_MASK = (1n << 224n) - 1n;

/**
 * The slot of `key` in a `mapping(address => ...)` of `contract` whose value (its bits in `mask`)
 * is `value`: the mapping's own slot number is found by trying the first 100.
 */
export async function mappingSlot(
  provider: StorageProvider,
  contract: string,
  key: string,
  value: bigint,
  mask = (1n << 256n) - 1n,
): Promise<{ slot: string; raw: bigint }> {
  for (let i = 0; i < 100; i++) {
    const slot = keccak256(AbiCoder.defaultAbiCoder().encode(["address", "uint256"], [key, i]));
    const raw = BigInt(await provider.getStorage(contract, slot));
    if (raw !== 0n && (raw & mask) === value) return { slot, raw };
  }
  throw new Error(`no mapping slot of ${key} in ${contract} holds ${value}`);
}

/** Sets `member`'s deposit in the market (now `from`) to `to` without an event, keeping the rest of its slot. */
export async function setDepositInStorage(provider: StorageProvider, market: string, member: string, from: bigint, to: bigint): Promise<void> {
  const { slot, raw } = await mappingSlot(provider, market, member, from, DEPOSIT_MASK);
  await provider.send("hardhat_setStorageAt", [market, slot, zeroPadValue(toBeHex((raw & ~DEPOSIT_MASK) | to), 32)]);
  await provider.send("evm_mine", []);
}
