import { HDNodeWallet, Mnemonic } from "ethers";

/** Hardhat's default accounts (the well-known test mnemonic): keys for the oracle's keystore in tests. */
export const HARDHAT_MNEMONIC = "test test test test test test test test test test test junk";
export function hardhatAccount(index: number): HDNodeWallet {
  return HDNodeWallet.fromMnemonic(Mnemonic.fromPhrase(HARDHAT_MNEMONIC), `m/44'/60'/0'/0/${index}`);
}
