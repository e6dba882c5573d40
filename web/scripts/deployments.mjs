// Writes public/deployments.json (addresses, ABIs, chain id, start block, RPC URL) from the
// project's deployment records, so that no address is hard-coded in the app.
//   GRIDLEDGER_DEPLOYMENTS_DIR  records folder (default ../deployments)
//   GRIDLEDGER_NETWORK          network folder (default localhost)
//   GRIDLEDGER_WEB_RPC_URL      read-only RPC for the app before a wallet connects
//                               (default LOCALHOST_RPC_URL or http://127.0.0.1:8545)
//   GRIDLEDGER_WEB_DEPLOYMENTS_OUT  output file (default public/deployments.json; tests write their own)
import * as fs from "node:fs";
import * as path from "node:path";
import { fileURLToPath } from "node:url";

const here = path.dirname(fileURLToPath(import.meta.url));
const root = path.resolve(here, "..", "..");
const dir = path.resolve(root, process.env.GRIDLEDGER_DEPLOYMENTS_DIR?.trim() || "deployments");
const network = process.env.GRIDLEDGER_NETWORK?.trim() || "localhost";
const rpcUrl = process.env.GRIDLEDGER_WEB_RPC_URL?.trim() || process.env.LOCALHOST_RPC_URL?.trim() || "http://127.0.0.1:8545";
const out = process.env.GRIDLEDGER_WEB_DEPLOYMENTS_OUT?.trim() || path.join(here, "..", "public", "deployments.json");
const NAMES = ["CommunityRegistry", "CommunityCredit", "EnergyToken", "MeterReadings", "EnergyMarket"];

const folder = path.join(dir, network);
const result = { network, chainId: 31337, rpcUrl, startBlock: 0, contracts: {} };
if (!fs.existsSync(path.join(folder, "EnergyMarket.json"))) {
  console.warn(`deployments: no records in ${folder} yet (start \`npx hardhat node\` first); the app will say so`);
} else {
  const chainIdFile = path.join(folder, ".chainId");
  if (fs.existsSync(chainIdFile)) result.chainId = Number(fs.readFileSync(chainIdFile, "utf8").trim());
  let start = Infinity;
  for (const name of NAMES) {
    const rec = JSON.parse(fs.readFileSync(path.join(folder, `${name}.json`), "utf8"));
    result.contracts[name] = { address: rec.address, abi: rec.abi };
    if (rec.receipt?.blockNumber !== undefined) start = Math.min(start, rec.receipt.blockNumber);
  }
  result.startBlock = Number.isFinite(start) ? start : 0;
  console.log(`deployments: ${network} (chain ${result.chainId}) from ${folder}`);
}
fs.mkdirSync(path.dirname(out), { recursive: true });
// Meter names for the app's labels (GRIDLEDGER_METER_NAMES=alice-roof,bob-p1): the registry keeps
// only keccak256("meter:<name>"), the rule of `gridledger meter register <name>`.
const names = (process.env.GRIDLEDGER_METER_NAMES ?? "").split(",").map((n) => n.trim()).filter(Boolean);
if (names.length) {
  const { id } = await import("ethers");
  result.meterNames = Object.fromEntries(names.map((n) => [id(`meter:${n}`).toLowerCase(), n]));
}
fs.writeFileSync(out, JSON.stringify(result));
