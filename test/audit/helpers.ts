import { deployments, ethers } from "hardhat";
import type { Addresses } from "../../src/audit/indexer";

/** The five contract addresses of the current fixture and its first block. */
export async function auditTarget(marketAddress?: string): Promise<{ addresses: Addresses; fromBlock: number }> {
  const names = { registry: "CommunityRegistry", energy: "EnergyToken", credit: "CommunityCredit", readings: "MeterReadings", market: "EnergyMarket" } as const;
  const addresses = {} as Addresses;
  let fromBlock = Number.MAX_SAFE_INTEGER;
  for (const [k, name] of Object.entries(names) as [keyof Addresses, string][]) {
    const d = await deployments.get(name);
    addresses[k] = d.address;
    if (d.receipt?.blockNumber !== undefined) fromBlock = Math.min(fromBlock, d.receipt.blockNumber);
  }
  if (marketAddress) addresses.market = marketAddress;
  return { addresses, fromBlock: fromBlock === Number.MAX_SAFE_INTEGER ? 0 : fromBlock };
}

/** The embedded chain's provider, as any ethers Provider. */
export const provider = () => ethers.provider;

/** Minimal RFC 4180 reader: quoted cells, doubled quotes, CRLF. */
export function parseCsv(text: string): string[][] {
  const rows: string[][] = [];
  let row: string[] = [];
  let cell = "";
  let quoted = false;
  for (let i = 0; i < text.length; i++) {
    const ch = text[i];
    if (quoted) {
      if (ch === '"' && text[i + 1] === '"') {
        cell += '"';
        i++;
      } else if (ch === '"') quoted = false;
      else cell += ch;
    } else if (ch === '"') quoted = true;
    else if (ch === ",") {
      row.push(cell);
      cell = "";
    } else if (ch === "\r") continue;
    else if (ch === "\n") {
      row.push(cell);
      rows.push(row);
      row = [];
      cell = "";
    } else cell += ch;
  }
  if (cell !== "" || row.length) {
    row.push(cell);
    rows.push(row);
  }
  return rows;
}

/** A fresh temporary SQLite path. */
let tmpDbCount = 0;
export function tmpDb(tag: string): string {
  // eslint-disable-next-line @typescript-eslint/no-var-requires
  const os = require("node:os") as typeof import("node:os");
  // eslint-disable-next-line @typescript-eslint/no-var-requires
  const path = require("node:path") as typeof import("node:path");
  return path.join(os.tmpdir(), `gridledger-audit-${tag}-${process.pid}-${Date.now()}-${++tmpDbCount}.sqlite`);
}
