/** `gridledger wallet create | import | list`: encrypted keystore v3 files. */
import * as fs from "node:fs";
import type { Command } from "commander";
import { Wallet, formatEther, parseEther } from "ethers";
import { ValidationError } from "../../sdk/errors";
import { Ctx, PRIVATE_KEY_ENV, type CliRuntime } from "../context";
import { decodeError } from "../../sdk/decode-error";
import { parseAddress } from "../parse";
import { hiddenPrompt, keystoreDir, listWallets, readPassword, saveWallet } from "../keystore";

export function registerWallet(program: Command, rt: CliRuntime): void {
  const wallet = program.command("wallet").description("encrypted wallets (keystore v3 JSON files)");

  wallet
    .command("create")
    .description("create a new random wallet, encrypted with a password (prompt, or GRIDLEDGER_PASSWORD)")
    .option("--name <name>", "file name in the keystore (default: the address)")
    .action(async (o: { name?: string }, cmd: Command) => {
      const ctx = new Ctx(cmd, rt);
      const dir = keystoreDir(ctx.opts.keystore, ctx.env);
      const password = await readPassword("New password: ", { confirm: true, env: ctx.env });
      const entry = await saveWallet(dir, Wallet.createRandom(), password, o.name);
      ctx.out([`created wallet ${entry.name}`, `address: ${entry.address}`, `file:    ${entry.file}`], entry);
    });

  wallet
    .command("import")
    .description(`encrypt an existing private key: from --key-file, ${PRIVATE_KEY_ENV}, or a hidden prompt`)
    .option("--name <name>", "file name in the keystore (default: the address)")
    .option("--key-file <file>", "file holding the private key (0x + 64 hex digits)")
    .action(async (o: { name?: string; keyFile?: string }, cmd: Command) => {
      const ctx = new Ctx(cmd, rt);
      const dir = keystoreDir(ctx.opts.keystore, ctx.env);
      let key: string;
      if (o.keyFile) key = fs.readFileSync(o.keyFile, "utf8").trim();
      else if (ctx.env[PRIVATE_KEY_ENV]?.trim()) key = ctx.env[PRIVATE_KEY_ENV]!.trim();
      else if (process.stdin.isTTY) key = (await hiddenPrompt("Private key: ")).trim();
      else throw new ValidationError("key", `no key to import: pass --key-file FILE or set ${PRIVATE_KEY_ENV}`);
      let w: Wallet;
      try {
        w = new Wallet(/^0x/i.test(key) ? key : `0x${key}`);
      } catch {
        throw new ValidationError("key", "is not a private key (0x followed by 64 hex digits)");
      }
      const password = await readPassword("New password: ", { confirm: true, env: ctx.env });
      const entry = await saveWallet(dir, w, password, o.name);
      ctx.out([`imported wallet ${entry.name}`, `address: ${entry.address}`, `file:    ${entry.file}`], entry);
    });

  wallet
    .command("list")
    .description("list the wallets in the keystore")
    .action(async (_o: unknown, cmd: Command) => {
      const ctx = new Ctx(cmd, rt);
      const dir = keystoreDir(ctx.opts.keystore, ctx.env);
      const all = listWallets(dir);
      ctx.out(
        all.length ? all.map((w) => `${w.name.padEnd(44)} ${w.address}`) : [`no wallets in ${dir}; \`gridledger wallet create\` makes one`],
        { keystore: dir, wallets: all },
      );
    });

  wallet
    .command("fund")
    .description("send native coin (gas money) from the signing wallet to ADDR, e.g. to a new wallet on a dev chain")
    .argument("<address>")
    .argument("<amount>", 'in ether units, e.g. "1" or "0.05"')
    .action(async (addr: string, amountText: string, _o: unknown, cmd: Command) => {
      const ctx = new Ctx(cmd, rt);
      const to = parseAddress(addr, "address");
      if (!/^\d+(\.\d{1,18})?$/.test(amountText.trim())) throw new ValidationError("amount", `must be a positive number of ether, got "${amountText}"`);
      const value = parseEther(amountText.trim());
      const signer = await ctx.signer();
      try {
        const r = await (await signer.sendTransaction({ to, value })).wait();
        ctx.out(`sent ${formatEther(value)} to ${to}`, { to, wei: value, tx: r?.hash, block: r?.blockNumber });
      } catch (e) {
        throw decodeError(e, { action: `send ${formatEther(value)} to ${to}` });
      }
    });
}
