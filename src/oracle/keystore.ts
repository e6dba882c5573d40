import * as fs from "node:fs";
import * as path from "node:path";
import { HDNodeWallet, Wallet, encryptKeystoreJson } from "ethers";
import { ConfigError } from "../sdk/errors";

export type OracleWallet = Wallet | HDNodeWallet;

/**
 * Decrypts every `*.json` keystore (Web3 Secret Storage, as `Wallet.encrypt` writes it) in
 * `dir` with `password`. Returns the wallets by lower-case address. Every file that fails is
 * reported at once; the password never appears in a message.
 */
export async function loadKeystore(dir: string, password: string): Promise<Map<string, OracleWallet>> {
  let files: string[];
  try {
    files = fs.readdirSync(dir).filter((f) => f.endsWith(".json") || /^UTC--/.test(f)).sort();
  } catch (e) {
    throw new ConfigError([`keystoreDir: cannot read ${dir}: ${(e as Error).message}`]);
  }
  if (files.length === 0) throw new ConfigError([`keystoreDir: no keystore files (*.json) in ${dir}`]);
  const problems: string[] = [];
  const keys = new Map<string, OracleWallet>();
  await Promise.all(
    files.map(async (f) => {
      try {
        const w = await Wallet.fromEncryptedJson(fs.readFileSync(path.join(dir, f), "utf8"), password);
        keys.set(w.address.toLowerCase(), w);
      } catch (e) {
        const msg = /password/i.test((e as Error).message) ? "wrong password" : (e as Error).message;
        problems.push(`keystoreDir: ${f}: ${msg}`);
      }
    }),
  );
  if (problems.length) throw new ConfigError(problems);
  return keys;
}

/** Writes an encrypted keystore file for `wallet` (used by tests and `gridledger wallet`). Light scrypt when `fast`. */
export async function writeKeystore(dir: string, wallet: OracleWallet, password: string, fast = false): Promise<string> {
  fs.mkdirSync(dir, { recursive: true, mode: 0o700 });
  const json = fast
    ? await encryptKeystoreJson({ address: wallet.address, privateKey: wallet.privateKey }, password, { scrypt: { N: 1 << 10 } })
    : await wallet.encrypt(password);
  const file = path.join(dir, `${wallet.address.toLowerCase()}.json`);
  fs.writeFileSync(file, json, { mode: 0o600 });
  return file;
}
