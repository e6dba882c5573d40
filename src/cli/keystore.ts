/**
 * Encrypted wallets: ethers keystore v3 JSON files (scrypt + AES-128-CTR), one per wallet, in a
 * keystore directory (`--keystore DIR`, GRIDLEDGER_KEYSTORE, default ~/.gridledger/keystore).
 * A wallet file is `<name>.json`; the name defaults to the address. Passwords come from a hidden
 * prompt on a terminal or GRIDLEDGER_PASSWORD, and are never printed.
 */
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { Wallet, encryptKeystoreJson, getAddress, isAddress, type HDNodeWallet } from "ethers";
import { GridLedgerError, ValidationError } from "../sdk/errors";

export class WrongPasswordError extends GridLedgerError {
  override name = "WrongPasswordError" as const;
  override readonly code = "WRONG_PASSWORD";
}

export interface KeystoreEntry {
  name: string;
  address: string;
  file: string;
}

export function keystoreDir(flag?: string, env: NodeJS.ProcessEnv = process.env): string {
  const raw = flag?.trim() || env.GRIDLEDGER_KEYSTORE?.trim() || path.join(os.homedir(), ".gridledger", "keystore");
  return path.resolve(raw.replace(/^~(?=$|\/)/, os.homedir()));
}

const NAME_RE = /^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/;

export function listWallets(dir: string): KeystoreEntry[] {
  if (!fs.existsSync(dir)) return [];
  const out: KeystoreEntry[] = [];
  for (const f of fs.readdirSync(dir).sort()) {
    if (!f.endsWith(".json")) continue;
    const file = path.join(dir, f);
    try {
      const json = JSON.parse(fs.readFileSync(file, "utf8")) as { address?: string };
      if (!json.address) continue;
      out.push({ name: f.slice(0, -5), address: getAddress("0x" + json.address.replace(/^0x/i, "")), file });
    } catch {
      /* not a keystore file: skip it */
    }
  }
  return out;
}

/** The wallet named `ref` or with address `ref`. */
export function findWallet(dir: string, ref: string): KeystoreEntry {
  const all = listWallets(dir);
  const hit = isAddress(ref)
    ? all.find((w) => w.address.toLowerCase() === ref.toLowerCase())
    : all.find((w) => w.name === ref);
  if (!hit) {
    const known = all.length ? `known: ${all.map((w) => w.name).join(", ")}` : "the keystore is empty; `gridledger wallet create` makes one";
    throw new ValidationError("wallet", `no wallet "${ref}" in ${dir} (${known})`);
  }
  return hit;
}

/** Encrypts `wallet` into `<dir>/<name>.json` (mode 0600); refuses to overwrite. */
export async function saveWallet(
  dir: string,
  wallet: Wallet | HDNodeWallet,
  password: string,
  name?: string,
  scryptN?: number,
): Promise<KeystoreEntry> {
  if (!password) throw new ValidationError("password", "must not be empty");
  const n = name?.trim() || wallet.address;
  if (!NAME_RE.test(n)) throw new ValidationError("name", `use letters, digits, ".", "_" or "-" (at most 64), got "${n}"`);
  const existing = listWallets(dir);
  if (existing.some((w) => w.address === wallet.address)) {
    throw new ValidationError("wallet", `${wallet.address} is already in the keystore ${dir}`);
  }
  const file = path.join(dir, `${n}.json`);
  if (fs.existsSync(file)) throw new ValidationError("name", `a wallet named "${n}" already exists in ${dir}`);
  const json = await encryptKeystoreJson({ address: wallet.address, privateKey: wallet.privateKey }, password, scryptN ? { scrypt: { N: scryptN } } : {});
  fs.mkdirSync(dir, { recursive: true, mode: 0o700 });
  fs.writeFileSync(file, json, { mode: 0o600, flag: "wx" });
  return { name: n, address: wallet.address, file };
}

/** Decrypts a keystore entry; `WrongPasswordError` on a bad password. */
export async function unlockWallet(entry: KeystoreEntry, password: string): Promise<Wallet> {
  const json = fs.readFileSync(entry.file, "utf8");
  try {
    const w = await Wallet.fromEncryptedJson(json, password);
    return w as Wallet;
  } catch (e) {
    if (/incorrect password|invalid password/i.test(String((e as Error).message))) {
      throw new WrongPasswordError(`wrong password for wallet ${entry.name} (${entry.address})`);
    }
    throw new ValidationError(entry.file, `cannot be read as a keystore (${(e as Error).message})`);
  }
}

/** Reads a password: GRIDLEDGER_PASSWORD, else a hidden prompt on a terminal. */
export async function readPassword(prompt: string, opts: { confirm?: boolean; env?: NodeJS.ProcessEnv } = {}): Promise<string> {
  const env = opts.env ?? process.env;
  if (env.GRIDLEDGER_PASSWORD !== undefined && env.GRIDLEDGER_PASSWORD !== "") return env.GRIDLEDGER_PASSWORD;
  if (!process.stdin.isTTY) {
    throw new ValidationError("password", "no terminal to ask on: set GRIDLEDGER_PASSWORD");
  }
  const first = await hiddenPrompt(prompt);
  if (opts.confirm) {
    const again = await hiddenPrompt("Repeat the password: ");
    if (again !== first) throw new ValidationError("password", "the two passwords differ");
  }
  if (!first) throw new ValidationError("password", "must not be empty");
  return first;
}

/** Prompts on stderr without echoing what is typed. */
export function hiddenPrompt(prompt: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const stdin = process.stdin;
    process.stderr.write(prompt);
    let buf = "";
    stdin.setRawMode?.(true);
    stdin.resume();
    stdin.setEncoding("utf8");
    const done = (err?: Error) => {
      stdin.setRawMode?.(false);
      stdin.pause();
      stdin.removeListener("data", onData);
      process.stderr.write("\n");
      if (err) reject(err);
      else resolve(buf);
    };
    const onData = (chunk: string) => {
      for (const ch of chunk) {
        if (ch === "\r" || ch === "\n" || ch === "\u0004") return done();
        if (ch === "\u0003") return done(new GridLedgerError("cancelled"));
        if (ch === "\u007f" || ch === "\b") buf = buf.slice(0, -1);
        else buf += ch;
      }
    };
    stdin.on("data", onData);
  });
}
