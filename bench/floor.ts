/**
 * `npm run bench:floor`: the order update's floor, measured (issue 16, bench/README.md, "the
 * floor"). Issue 16 asks for an order update of at most 30,000 gas. This measures the cheapest
 * update any contract can offer while still doing three things: refusing while the market is
 * paused, reading and rewriting the member's one order slot, and emitting the smallest event
 * that names the member and carries the new order. It does *none* of the market's other checks
 * (membership, the interval window, keeping the version an ended interval clears with).
 *
 * One throw-away contract, compiled here with the npm `solc` and the project's compiler settings
 * (London, IR, optimizer runs 10,000), deployed on the embedded Hardhat chain, with four entry points:
 * - `noop(uint64,uint64)`: Solidity's ABI entry alone (dispatch and decoding), no work;
 * - `update(uint64,uint64)`: the floor's work behind the smallest ABI entry (price and cap);
 * - `update5(uint8,uint64,uint64,uint32,uint32)`: the same behind the market's five arguments;
 * - a raw entry (`fallback`, assembly) taking price and cap packed in 16 bytes, no selector.
 * Each call starts from the same state (an existing order, cold slots): the steady state of a
 * member who updates its order. Each update is checked to do that work (the new order with the
 * next version in the slot and in the event, a revert while paused) before its gas counts.
 *
 * Gas is deterministic, so `test/bench/floor.test.ts` checks that a run reproduces the figures
 * committed in `bench/results-floor.json`, and `test/bench/readme.test.ts` that the README shows
 * them.
 */
import * as fs from "node:fs";
import * as path from "node:path";
import type { HardhatRuntimeEnvironment } from "hardhat/types";
import { gitInfo } from "./lib/git";

/** What every measured update pays for storage and the log (EVM prices, EIP-2929/EIP-2200). */
export const FLOOR_CHARGES = {
  pauseFlagColdRead: 2_100,
  orderSlotColdRead: 2_100,
  orderSlotUpdate: 2_900,
  eventTwoTopicsOneWord: 375 + 2 * 375 + 32 * 8,
} as const;
const sum = (charges: typeof FLOOR_CHARGES) => Object.values(charges).reduce((a, b) => a + b, 0);
const CHARGES = sum(FLOOR_CHARGES);

export const TARGET = 30_000;

const SOURCE = `// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;
/// Measures the order update's floor (bench/floor.ts); never deployed for use.
contract UpdateFloor {
    event OrderUpdated(address indexed member, uint256 order);
    bool public paused;                          // slot 0: the emergency stop
    mapping(address => uint256) public orders;   // slot 1: price << 128 | cap << 64 | version

    function noop(uint64, uint64) external {}

    function update(uint64 price, uint64 cap) external {
        _update(price, cap);
    }

    function update5(uint8, uint64 price, uint64 cap, uint32, uint32) external {
        _update(price, cap);
    }

    function _update(uint64 price, uint64 cap) private {
        if (paused) revert();
        uint256 version = (orders[msg.sender] & type(uint64).max) + 1;
        uint256 order = (uint256(price) << 128) | (uint256(cap) << 64) | version;
        orders[msg.sender] = order;
        emit OrderUpdated(msg.sender, order);
    }

    /// price (8 bytes) and cap (8 bytes), packed, no selector.
    fallback() external {
        assembly {
            if sload(paused.slot) { revert(0, 0) }
            mstore(0, caller())
            mstore(32, orders.slot)
            let key := keccak256(0, 64)
            let version := add(and(sload(key), 0xffffffffffffffff), 1)
            let order := or(shl(64, shr(128, calldataload(0))), version)
            sstore(key, order)
            mstore(0, order)
            log2(0, 32, EVENT_TOPIC, caller())
        }
    }
}
`;

export interface FloorRow {
  entry: string;
  calldataBytes: number;
  gasUsed: number;
  intrinsic: number;
  storageAndLog: number;
  computation: number;
}

export interface FloorResults {
  date: string;
  git: { commit: string; branch: string; dirty: boolean };
  solc: string;
  settings: Record<string, unknown>;
  charges: typeof FLOOR_CHARGES;
  target: number;
  rows: FloorRow[];
}

/** Compiles the contract, calls each entry from the same state and returns the figures. */
export async function measureFloor(hre: HardhatRuntimeEnvironment): Promise<FloorResults> {
  const { ethers, network } = hre;
  // eslint-disable-next-line @typescript-eslint/no-var-requires
  const solc = require("solc");
  // The project's default settings (runs 10,000: the cheapest calls); the market itself needs
  // runs 200 to fit in 24 KiB, which only makes its calls dearer.
  const base = hre.config.solidity.compilers[0].settings;
  const settings = { evmVersion: base.evmVersion, viaIR: base.viaIR, optimizer: base.optimizer };
  const source = SOURCE.replace("EVENT_TOPIC", ethers.id("OrderUpdated(address,uint256)"));
  const out = JSON.parse(
    solc.compile(JSON.stringify({ language: "Solidity", sources: { "UpdateFloor.sol": { content: source } }, settings: { ...settings, outputSelection: { "*": { "*": ["abi", "evm.bytecode.object"] } } } })),
  );
  const errors = (out.errors ?? []).filter((e: { severity: string }) => e.severity === "error");
  if (errors.length) throw new Error(`UpdateFloor did not compile: ${errors.map((e: { formattedMessage: string }) => e.formattedMessage).join("\n")}`);
  const artifact = out.contracts["UpdateFloor.sol"].UpdateFloor;

  const [member] = await ethers.getSigners();
  const floor = await new ethers.ContractFactory(artifact.abi, artifact.evm.bytecode.object, member).deploy();
  await floor.waitForDeployment();
  const to = await floor.getAddress();
  // An existing order (version 7): the steady state of a member who updates.
  const slot = ethers.keccak256(ethers.AbiCoder.defaultAbiCoder().encode(["address", "uint256"], [member.address, 1]));
  await network.provider.send("hardhat_setStorageAt", [to, slot, ethers.toBeHex((200_000n << 128n) | (1_500n << 64n) | 7n, 32)]);

  const price = 250_000n; // 0.25 credits per kWh
  const cap = 2_000n; // 2 kWh per interval
  const iface = floor.interface;
  const entries: [string, string][] = [
    ["noop(uint64,uint64): the ABI entry alone", iface.encodeFunctionData("noop", [price, cap])],
    ["update(uint64,uint64)", iface.encodeFunctionData("update", [price, cap])],
    ["update5(uint8,uint64,uint64,uint32,uint32)", iface.encodeFunctionData("update5", [0, price, cap, 1_000, 1_095])],
    ["raw: 16 packed bytes, assembly", ethers.solidityPacked(["uint64", "uint64"], [price, cap])],
  ];
  const rows: FloorRow[] = [];
  const expected = (price << 128n) | (cap << 64n) | 8n;
  const stored = async () => BigInt(await network.provider.send("eth_getStorageAt", [to, slot, "latest"]));
  for (const [entry, data] of entries) {
    const noop = entry.startsWith("noop");
    const snapshot = await network.provider.send("evm_snapshot", []);
    const receipt = await (await member.sendTransaction({ to, data, gasLimit: 100_000 })).wait();
    // Every update does the same work: the new order with the next version, in the slot and the event.
    const after = await stored();
    await network.provider.send("evm_revert", [snapshot]);
    if (receipt?.status !== 1) throw new Error(`${entry} reverted`);
    if (!noop) {
      const log = receipt.logs[0];
      if (after !== expected || receipt.logs.length !== 1 || BigInt(log.data) !== expected || log.topics.length !== 2 || BigInt(log.topics[1]) !== BigInt(member.address)) {
        throw new Error(`${entry} did not store and log the new order`);
      }
      // ... and refuses while paused.
      const paused = await network.provider.send("evm_snapshot", []);
      await network.provider.send("hardhat_setStorageAt", [to, ethers.toBeHex(0, 32), ethers.toBeHex(1, 32)]);
      const refused = await member.sendTransaction({ to, data, gasLimit: 100_000 }).then((tx) => tx.wait()).then(() => false, () => true);
      await network.provider.send("evm_revert", [paused]);
      if (!refused) throw new Error(`${entry} did not refuse while paused`);
    }
    const bytes = ethers.getBytes(data);
    const intrinsic = 21_000 + bytes.reduce((a, b) => a + (b === 0 ? 4 : 16), 0);
    const gasUsed = Number(receipt.gasUsed);
    const storageAndLog = noop ? 0 : CHARGES;
    rows.push({ entry, calldataBytes: bytes.length, gasUsed, intrinsic, storageAndLog, computation: gasUsed - intrinsic - storageAndLog });
  }
  return { date: new Date().toISOString(), git: gitInfo(), solc: solc.version(), settings, charges: FLOOR_CHARGES, target: TARGET, rows };
}

/** The table `npm run bench:floor` prints and bench/README.md shows. */
export function renderFloor(r: FloorResults): string {
  const n = (v: number) => v.toLocaleString("en-US");
  const lines = [
    `order update floor (${r.settings.evmVersion}, viaIR ${r.settings.viaIR}, optimizer runs ${(r.settings.optimizer as { runs: number }).runs}), solc ${r.solc.split("+")[0]}`,
    `storage and log per update: pause flag ${n(r.charges.pauseFlagColdRead)} + order slot ${n(r.charges.orderSlotColdRead)} + ${n(r.charges.orderSlotUpdate)} + event ${n(r.charges.eventTwoTopicsOneWord)} = ${n(sum(r.charges))}`,
    "",
    `${"entry".padEnd(44)} ${"bytes".padStart(5)} ${"intrinsic".padStart(9)} ${"storage+log".padStart(11)} ${"computation".padStart(11)} ${"gas used".padStart(8)}  target ${n(r.target)}`,
    "-".repeat(112),
  ];
  for (const row of r.rows) {
    const verdict = row.storageAndLog === 0 ? "" : row.gasUsed <= r.target ? `under by ${n(r.target - row.gasUsed)}` : `over by ${n(row.gasUsed - r.target)}`;
    lines.push(`${row.entry.padEnd(44)} ${String(row.calldataBytes).padStart(5)} ${n(row.intrinsic).padStart(9)} ${n(row.storageAndLog).padStart(11)} ${n(row.computation).padStart(11)} ${n(row.gasUsed).padStart(8)}  ${verdict}`);
  }
  return lines.join("\n") + "\n";
}

async function main(): Promise<void> {
  // eslint-disable-next-line @typescript-eslint/no-var-requires
  const hre = require("hardhat") as HardhatRuntimeEnvironment;
  const results = await measureFloor(hre);
  process.stdout.write(renderFloor(results));
  const out = path.join(__dirname, "results-floor.json");
  fs.writeFileSync(out, JSON.stringify(results, null, 2) + "\n");
  process.stderr.write(`results written to ${out}\n`);
}

if (require.main === module) {
  main().catch((e: unknown) => {
    process.stderr.write(`\nbench:floor failed: ${(e as Error).message}\n`);
    process.exitCode = 1;
  });
}
