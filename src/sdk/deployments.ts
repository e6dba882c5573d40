/**
 * Contracts from the deployment records that hardhat-deploy writes
 * (`deployments/<network>/<Contract>.json`: address + abi), typed with the typechain types of
 * their interfaces. No address is hard-coded. GRIDLEDGER_DEPLOYMENTS_DIR points at another
 * records root (same layout), for example a test node's exported records.
 */
import * as fs from "node:fs";
import * as path from "node:path";
import { Contract, type ContractRunner, type InterfaceAbi } from "ethers";
import type { CommunityCredit, EnergyToken, ICommunityRegistry, IEnergyMarket, IMeterReadings } from "../../typechain-types";
import { DeploymentNotFoundError, ValidationError } from "./errors";

export const CONTRACT_NAMES = ["CommunityRegistry", "EnergyToken", "CommunityCredit", "MeterReadings", "EnergyMarket"] as const;
export type ContractName = (typeof CONTRACT_NAMES)[number];

export interface DeploymentRecord {
  name: string;
  address: string;
  abi: InterfaceAbi;
  /** Block of the deployment transaction, where event scans start (0 when unknown). */
  blockNumber: number;
  path: string;
}

/** The records root: GRIDLEDGER_DEPLOYMENTS_DIR or `<project>/deployments`. */
export function deploymentsRoot(env: NodeJS.ProcessEnv = process.env): string {
  const fromEnv = env.GRIDLEDGER_DEPLOYMENTS_DIR?.trim();
  return fromEnv ? path.resolve(fromEnv) : path.resolve(__dirname, "..", "..", "deployments");
}

function deployCommand(network: string): string {
  if (network === "localhost") return "`npx hardhat node` (deploys on start) or `npx hardhat deploy --network localhost`";
  return `\`npx hardhat deploy --network ${network}\``;
}

/** Reads one record; `DeploymentNotFoundError` naming the path and the deploy command. */
export function loadDeployment(network: string, name: string, root = deploymentsRoot()): DeploymentRecord {
  const file = path.join(root, network, `${name}.json`);
  let text: string;
  try {
    text = fs.readFileSync(file, "utf8");
  } catch {
    throw new DeploymentNotFoundError(`no deployment record ${file}: ${name} is not deployed on ${network}`, {
      details: `deploy it with ${deployCommand(network)}`,
      meta: { network, contract: name, path: file },
    });
  }
  let json: { address?: string; abi?: InterfaceAbi; receipt?: { blockNumber?: number }; transactionHash?: string };
  try {
    json = JSON.parse(text);
  } catch (e) {
    throw new ValidationError(file, `is not valid JSON (${(e as Error).message})`);
  }
  if (!json.address || !Array.isArray(json.abi)) throw new ValidationError(file, "has no address or abi: not a hardhat-deploy record");
  return { name, address: json.address, abi: json.abi, blockNumber: Number(json.receipt?.blockNumber ?? 0), path: file };
}

/** The GridLedger contracts of a network; each record is read when first used. */
export interface GridLedgerContracts {
  network: string;
  root: string;
  record(name: ContractName): DeploymentRecord;
  /** Whether a record exists (the market lands after the core). */
  has(name: ContractName): boolean;
  readonly registry: ICommunityRegistry;
  readonly credit: CommunityCredit;
  readonly energy: EnergyToken;
  readonly readings: IMeterReadings;
  readonly market: IEnergyMarket;
  /** The contract name of a deployed address, for error messages. */
  nameOf(address: string): ContractName | undefined;
}

export function connectContracts(network: string, runner: ContractRunner, root = deploymentsRoot()): GridLedgerContracts {
  const records = new Map<string, DeploymentRecord>();
  const contracts = new Map<string, Contract>();
  const record = (name: ContractName) => {
    let r = records.get(name);
    if (!r) records.set(name, (r = loadDeployment(network, name, root)));
    return r;
  };
  const get = <T>(name: ContractName): T => {
    let c = contracts.get(name);
    if (!c) {
      const r = record(name);
      contracts.set(name, (c = new Contract(r.address, r.abi, runner)));
    }
    return c as unknown as T;
  };
  return {
    network,
    root,
    record,
    has: (name) => fs.existsSync(path.join(root, network, `${name}.json`)),
    get registry() {
      return get<ICommunityRegistry>("CommunityRegistry");
    },
    get credit() {
      return get<CommunityCredit>("CommunityCredit");
    },
    get energy() {
      return get<EnergyToken>("EnergyToken");
    },
    get readings() {
      return get<IMeterReadings>("MeterReadings");
    },
    get market() {
      return get<IEnergyMarket>("EnergyMarket");
    },
    nameOf(address: string) {
      const a = address.toLowerCase();
      for (const n of CONTRACT_NAMES) {
        try {
          if (record(n).address.toLowerCase() === a) return n;
        } catch {
          /* not deployed */
        }
      }
      return undefined;
    },
  };
}
