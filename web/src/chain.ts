/**
 * Deployment records, the read-only provider, the connected EIP-1193 wallet, and every event of
 * the system since deployment (fetched incrementally; the views derive everything from them).
 */
import { BrowserProvider, Contract, Interface, JsonRpcProvider, type JsonRpcSigner, type Log, type LogDescription } from "ethers";
import type { CommunityCredit, CommunityRegistry, EnergyMarket, EnergyToken, MeterReadings } from "../../typechain-types";

export interface Deployments {
  network: string;
  chainId: number;
  rpcUrl: string;
  startBlock: number;
  contracts: Record<string, { address: string; abi: unknown[] }>;
}

export interface Ev {
  contract: "registry" | "market" | "readings";
  name: string;
  args: LogDescription["args"];
  blockNumber: number;
  logIndex: number;
  txHash: string;
}

export interface Wallet {
  provider: BrowserProvider;
  signer: JsonRpcSigner;
  address: string;
  chainId: number;
}

export interface Contracts {
  registry: CommunityRegistry;
  credit: CommunityCredit;
  energy: EnergyToken;
  readings: MeterReadings;
  market: EnergyMarket;
}

export class Chain {
  reader: JsonRpcProvider;
  read: Contracts;
  wallet?: Wallet;
  events: Ev[] = [];
  private lastBlock: number;
  private ifaces: Record<string, { iface: Interface; kind: Ev["contract"] }> = {};

  constructor(public deps: Deployments) {
    this.reader = new JsonRpcProvider(deps.rpcUrl, deps.chainId, { staticNetwork: true, polling: true, pollingInterval: 1000 });
    this.read = this.contracts(this.reader);
    this.lastBlock = deps.startBlock - 1;
    const kinds: [string, Ev["contract"]][] = [["CommunityRegistry", "registry"], ["EnergyMarket", "market"], ["MeterReadings", "readings"]];
    for (const [name, kind] of kinds) {
      const c = deps.contracts[name];
      this.ifaces[c.address.toLowerCase()] = { iface: new Interface(c.abi as never), kind };
    }
  }

  static async load(url = "./deployments.json"): Promise<Chain> {
    const res = await fetch(url, { cache: "no-store" });
    if (!res.ok) throw new Error(`cannot load ${url} (${res.status}); run \`npm run web\` after \`npx hardhat node\``);
    const deps = (await res.json()) as Deployments;
    if (!deps.contracts?.EnergyMarket) {
      throw new Error(`no GridLedger deployment for network "${deps.network}" yet: start \`npx hardhat node\` (it deploys), then restart \`npm run web\``);
    }
    return new Chain(deps);
  }

  contracts(runner: JsonRpcProvider | JsonRpcSigner | BrowserProvider): Contracts {
    const c = (name: string) => new Contract(this.deps.contracts[name].address, this.deps.contracts[name].abi as never, runner);
    return {
      registry: c("CommunityRegistry") as unknown as CommunityRegistry,
      credit: c("CommunityCredit") as unknown as CommunityCredit,
      energy: c("EnergyToken") as unknown as EnergyToken,
      readings: c("MeterReadings") as unknown as MeterReadings,
      market: c("EnergyMarket") as unknown as EnergyMarket,
    };
  }

  /** Contracts with the connected wallet as signer. */
  write(): Contracts {
    if (!this.wallet) throw new Error("connect a wallet first");
    return this.contracts(this.wallet.signer);
  }

  /** Fetches the logs of new blocks; true when something new arrived. */
  async sync(): Promise<boolean> {
    const head = await this.reader.getBlockNumber();
    if (head <= this.lastBlock) return false;
    const logs: Log[] = await this.reader.getLogs({
      address: Object.keys(this.ifaces),
      fromBlock: this.lastBlock + 1,
      toBlock: head,
    });
    for (const log of logs) {
      const hit = this.ifaces[log.address.toLowerCase()];
      const parsed = hit?.iface.parseLog(log);
      if (!parsed) continue;
      this.events.push({ contract: hit.kind, name: parsed.name, args: parsed.args, blockNumber: log.blockNumber, logIndex: log.index, txHash: log.transactionHash });
    }
    this.lastBlock = head;
    return true;
  }

  /** Connects the injected wallet (EIP-1193 `window.ethereum`). */
  async connect(): Promise<Wallet> {
    const eth = (window as unknown as { ethereum?: unknown }).ethereum;
    if (!eth) throw new FriendlyError("No browser wallet found. Install MetaMask (or any EIP-1193 wallet) and reload this page.");
    const provider = new BrowserProvider(eth as never, "any");
    const accounts = (await provider.send("eth_requestAccounts", [])) as string[];
    if (!accounts?.length) throw new FriendlyError("The wallet shared no account. Unlock it and try again.");
    const chainId = Number(await provider.send("eth_chainId", []));
    const signer = await provider.getSigner(accounts[0]);
    this.wallet = { provider, signer, address: signer.address, chainId };
    return this.wallet;
  }
}

/** An error whose message is already a sentence for a person. */
export class FriendlyError extends Error {}
