/**
 * What every command needs: the global options, the network and its provider, the deployed
 * contracts, the signer, sending transactions with decoded errors, and output (human text by
 * default, one JSON document with `--json`).
 */
import type { Command } from "commander";
import { Wallet, type Provider, type Signer, type ContractTransactionResponse, type TransactionReceipt } from "ethers";
import { connectContracts, deploymentsRoot, type ContractName, type GridLedgerContracts } from "../sdk/deployments";
import { decodeError } from "../sdk/decode-error";
import { NoContractError, ValidationError } from "../sdk/errors";
import { makeProvider, resolveNetwork, type NetworkConfig } from "../sdk/network";
import { findWallet, keystoreDir, readPassword, unlockWallet } from "./keystore";

/** How the CLI is being run: a real process, or in-process by a test. */
export interface CliRuntime {
  /** Provider of the embedded chain (`--network hardhat`), e.g. `hre.ethers.provider` in a test. */
  embeddedProvider?: Provider;
  env?: NodeJS.ProcessEnv;
  stdout?: (text: string) => void;
  stderr?: (text: string) => void;
}

export interface GlobalOptions {
  network?: string;
  json?: boolean;
  keystore?: string;
  wallet?: string;
}

export const PRIVATE_KEY_ENV = "GRIDLEDGER_PRIVATE_KEY";

/** JSON with bigints as decimal strings. */
export function toJson(value: unknown): string {
  return JSON.stringify(value, (_k, v) => (typeof v === "bigint" ? v.toString() : v), 2);
}

export class Ctx {
  readonly opts: GlobalOptions;
  readonly env: NodeJS.ProcessEnv;
  private _net?: NetworkConfig;
  private _provider?: Provider;
  private _contracts?: GridLedgerContracts;
  private _signer?: Signer;
  private readonly _checked = new Map<ContractName, Promise<void>>();

  constructor(
    cmd: Command,
    readonly rt: CliRuntime,
  ) {
    this.opts = cmd.optsWithGlobals() as GlobalOptions;
    this.env = rt.env ?? process.env;
  }

  get json(): boolean {
    return Boolean(this.opts.json);
  }

  get net(): NetworkConfig {
    return (this._net ??= resolveNetwork({ name: this.opts.network, env: this.env }));
  }

  get provider(): Provider {
    return (this._provider ??= makeProvider(this.net, this.rt.embeddedProvider));
  }

  /** Contracts for reading (provider) — or, after `signer()`, for sending. */
  get contracts(): GridLedgerContracts {
    return (this._contracts ??= connectContracts(this.net.name, this._signer ?? this.provider, deploymentsRoot(this.env)));
  }

  /**
   * The signing account: `--wallet NAME|ADDRESS` (or GRIDLEDGER_WALLET) from the keystore,
   * else the raw key in GRIDLEDGER_PRIVATE_KEY (tests and development; never a flag, so it
   * stays out of shell history).
   */
  async signer(): Promise<Signer> {
    if (this._signer) return this._signer;
    const ref = this.opts.wallet ?? this.env.GRIDLEDGER_WALLET?.trim();
    let wallet: Wallet;
    if (ref) {
      const entry = findWallet(keystoreDir(this.opts.keystore, this.env), ref);
      const password = await readPassword(`Password for ${entry.name} (${entry.address}): `, { env: this.env });
      wallet = await unlockWallet(entry, password);
    } else if (this.env[PRIVATE_KEY_ENV]?.trim()) {
      try {
        wallet = new Wallet(this.env[PRIVATE_KEY_ENV]!.trim());
      } catch {
        throw new ValidationError(PRIVATE_KEY_ENV, "is not a private key (0x followed by 64 hex digits)");
      }
    } else {
      throw new ValidationError("wallet", `this command signs: pass --wallet NAME|ADDRESS (see \`gridledger wallet list\`) or set GRIDLEDGER_WALLET or ${PRIVATE_KEY_ENV}`);
    }
    this._signer = wallet.connect(this.provider);
    this._contracts = undefined; // reconnect the contracts to the signer
    return this._signer;
  }

  async address(): Promise<string> {
    return (await this.signer()).getAddress();
  }

  /**
   * Checks once per command that the recorded address of `contract` holds code on this network:
   * a wrong node or stale records say "no contract at 0x... on <network>" instead of failing
   * with "could not decode result data".
   */
  async requireCode(contract: ContractName): Promise<void> {
    let p = this._checked.get(contract);
    if (!p) {
      p = (async () => {
        const rec = this.contracts.record(contract);
        const code = await this.provider.getCode(rec.address);
        if (code === "0x") {
          const where = this.net.urls.length ? `${this.net.name} (${this.net.urls.join(", ")})` : this.net.name;
          throw new NoContractError(`no contract at ${rec.address} on ${where}: ${contract} of ${rec.path} is not deployed there`, {
            details: `point the command at the node that has the deployment (--network, LOCALHOST_RPC_URL, POA_RPC_URL), or deploy again so that the records match the chain`,
            meta: { contract, address: rec.address, network: this.net.name },
          });
        }
      })();
      this._checked.set(contract, p);
    }
    try {
      await p;
    } catch (e) {
      if (e instanceof NoContractError) throw e;
      throw decodeError(e, { contract });
    }
  }

  /** Sends a transaction and waits for it; reverts become decoded `ContractRevertError`s. */
  async send(action: string, contract: ContractName, tx: () => Promise<ContractTransactionResponse>): Promise<TransactionReceipt> {
    await this.requireCode(contract);
    try {
      const response = await tx();
      const receipt = await response.wait();
      if (!receipt) throw new Error(`no receipt for ${response.hash}`);
      this.log(`${action}: tx ${receipt.hash} (block ${receipt.blockNumber})`);
      return receipt;
    } catch (e) {
      throw decodeError(e, { contract, action });
    }
  }

  /** A read call with decoded errors. */
  async read<T>(contract: ContractName, fn: () => Promise<T>): Promise<T> {
    await this.requireCode(contract);
    try {
      return await fn();
    } catch (e) {
      throw decodeError(e, { contract });
    }
  }

  /** Progress lines for people, on stderr (never in the way of --json on stdout). */
  log(line: string): void {
    if (!this.json) (this.rt.stderr ?? ((t) => process.stderr.write(t)))(line + "\n");
  }

  /** The command's result: human lines, or the JSON value with --json. */
  out(human: string | string[], json: unknown): void {
    const write = this.rt.stdout ?? ((t: string) => process.stdout.write(t));
    if (this.json) write(toJson(json) + "\n");
    else write((Array.isArray(human) ? human.join("\n") : human) + "\n");
  }

  /**
   * An interval index: a number, `now` (the current interval), `next` (the next to clear when the
   * market is deployed, else now + 1) or `now+N` / `now-N`.
   */
  async interval(text: string, field: string): Promise<number> {
    checkIntervalSyntax(text, field);
    const t = String(text).trim().toLowerCase();
    if (/^\d+$/.test(t)) {
      const n = Number(t);
      if (n > 0xffffffff) throw new ValidationError(field, `must fit in uint32, got "${text}"`);
      return n;
    }
    const m = /^now(?:([+-])(\d+))?$/.exec(t);
    if (m) {
      const now = Number(await this.read("MeterReadings", () => this.contracts.readings.currentInterval()));
      const d = m[2] ? Number(m[2]) * (m[1] === "-" ? -1 : 1) : 0;
      if (now + d < 0) throw new ValidationError(field, `"${text}" is before interval 0: the market is in interval ${now}, so no interval that far back has ended yet`);
      if (now + d > 0xffffffff) throw new ValidationError(field, `"${text}" is after the last interval (${0xffffffff}, a uint32): the market is in interval ${now}`);
      return now + d;
    }
    if (t === "next") {
      if (this.contracts.has("EnergyMarket")) return Number(await this.read("EnergyMarket", () => this.contracts.market.nextInterval()));
      return Number(await this.read("MeterReadings", () => this.contracts.readings.currentInterval())) + 1;
    }
    throw new ValidationError(field, `must be an interval number, "now", "now+N" or "next", got "${text}"`);
  }
}

/**
 * Refuses an interval argument that is not a number, "now", "now+N", "now-N" or "next", before
 * any chain call (so a typo in one argument is reported even when the node is down).
 */
export function checkIntervalSyntax(text: string, field: string): void {
  const t = String(text).trim().toLowerCase();
  if (/^\d+$/.test(t) || /^now(?:[+-]\d+)?$/.test(t) || t === "next") return;
  throw new ValidationError(field, `must be an interval number, "now", "now+N" or "next", got "${text}"`);
}
