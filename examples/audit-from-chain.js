#!/usr/bin/env node
/**
 * An audit of a GridLedger community from the chain alone, written from docs/audit.md with a
 * general-purpose library (ethers v6) and the deployment records: no code of the project.
 *
 *   node examples/audit-from-chain.js <records dir> [rpc url]
 *   node examples/audit-from-chain.js deployments/localhost http://127.0.0.1:8545
 *
 * It verifies the EIP-712 signature every `ReadingAccepted` carries (over the registers it
 * states) against the meter's signer at that block, re-computes every account's credits
 * (wallet balance from `Transfer`, market deposit per member key from `Deposited`, `Withdrawn`,
 * `MemberSettled`) and compares them with `balanceOf` and `depositOf` at the same block. Exit code 0 when everything agrees, 1 when
 * not (one line per problem).
 */
"use strict";
const fs = require("node:fs");
const path = require("node:path");
const { Contract, JsonRpcProvider, Signature, verifyTypedData, getAddress, ZeroAddress } = require("ethers");

const NAMES = ["CommunityRegistry", "CommunityCredit", "MeterReadings", "EnergyMarket"];
const READING_TYPES = {
  Reading: [
    { name: "meterId", type: "bytes32" },
    { name: "interval", type: "uint32" },
    { name: "importWhTotal", type: "uint64" },
    { name: "exportWhTotal", type: "uint64" },
  ],
};

/**
 * The reading's EIP-712 types from the contract's `READING_TYPE()` ("Reading(bytes32 meterId,...)");
 * the documented type when the deployment predates that view.
 */
async function typesOf(readings) {
  if (!readings.interface.getFunction("READING_TYPE")) return READING_TYPES;
  const text = await readings.READING_TYPE();
  const m = /^(\w+)\((.*)\)$/.exec(text);
  if (!m) throw new Error(`unexpected reading type string ${text}`);
  return { [m[1]]: m[2].split(",").map((f) => ({ type: f.split(" ")[0], name: f.split(" ")[1] })) };
}

/** Every log of `contract` from `fromBlock` to `toBlock`, decoded, in chain order. */
async function eventsOf(contract, fromBlock, toBlock) {
  const logs = await contract.runner.provider.getLogs({ address: await contract.getAddress(), fromBlock, toBlock });
  const out = [];
  for (const log of logs) {
    const parsed = contract.interface.parseLog(log);
    if (parsed) out.push({ name: parsed.name, args: parsed.args, blockNumber: log.blockNumber, logIndex: log.index, txHash: log.transactionHash });
  }
  return out;
}

/**
 * Audits the deployment in `recordsDir` through `provider`. Returns the counts, the rebuilt
 * balances and the problems found (empty when the ledger is sound).
 */
async function audit({ provider, recordsDir }) {
  const records = Object.fromEntries(NAMES.map((n) => [n, JSON.parse(fs.readFileSync(path.join(recordsDir, `${n}.json`), "utf8"))]));
  const at = (n) => new Contract(records[n].address, records[n].abi, provider);
  const registry = at("CommunityRegistry");
  const credit = at("CommunityCredit");
  const readings = at("MeterReadings");
  const market = at("EnergyMarket");
  const fromBlock = Math.min(...NAMES.map((n) => records[n].receipt?.blockNumber ?? 0));
  const block = await provider.getBlockNumber();
  const problems = [];

  // ---- 1. reading signatures
  const [reg, red, cre, mkt] = await Promise.all([registry, readings, credit, market].map((c) => eventsOf(c, fromBlock, block)));
  const signerHistory = new Map(); // meterId -> [{ pos, signer }]
  const pos = (e) => e.blockNumber * 1e6 + e.logIndex;
  for (const e of reg) {
    if (e.name === "MeterRegistered") signerHistory.set(e.args.meterId, [{ pos: pos(e), signer: e.args.signer }]);
    if (e.name === "MeterSignerRebound") signerHistory.get(e.args.meterId)?.push({ pos: pos(e), signer: e.args.newSigner });
  }
  // The domain (ERC-5267) and the type string come from the contract itself.
  const d = await readings.eip712Domain();
  const domain = { name: d.name, version: d.version, chainId: d.chainId, verifyingContract: d.verifyingContract };
  const types = await typesOf(readings);
  let signatures = 0;
  for (const e of red.filter((x) => x.name === "ReadingAccepted")) {
    // The event carries the registers as signed and the signature (r and the compact vs of
    // EIP-2098), so it is checked from the log alone, however the batch was submitted.
    const a = e.args;
    const message = { meterId: a.meterId, interval: a.interval, importWhTotal: a.importWhTotal, exportWhTotal: a.exportWhTotal };
    const signer = (signerHistory.get(a.meterId) ?? []).filter((h) => h.pos < pos(e)).pop()?.signer;
    let recovered;
    try {
      recovered = verifyTypedData(domain, types, message, Signature.from({ r: a.r, yParityAndS: a.vs }));
    } catch (err) {
      problems.push(`interval ${a.interval}: reading of meter ${a.meterId} carries no valid signature (${err.shortMessage ?? err.message})`);
      continue;
    }
    if (recovered !== signer) problems.push(`interval ${a.interval}: reading of meter ${a.meterId} signed by ${recovered}, the meter's signer was ${signer}`);
    signatures++;
  }

  // ---- 2. credits: wallets from Transfer, market deposits from the market's events
  const wallet = new Map();
  const add = (m, k, v) => m.set(k, (m.get(k) ?? 0n) + v);
  for (const e of cre.filter((x) => x.name === "Transfer")) {
    if (e.args.from !== ZeroAddress) add(wallet, e.args.from, -e.args.value);
    if (e.args.to !== ZeroAddress) add(wallet, e.args.to, e.args.value);
  }
  const deposit = new Map();
  for (const e of mkt) {
    const a = e.args;
    if (e.name === "Deposited") add(deposit, a.member, a.amount);
    else if (e.name === "Withdrawn") add(deposit, a.member, -a.amount);
    else if (e.name === "MemberSettled") add(deposit, a.member, a.receivedCredits - a.paidCredits);
    // AccountMigrated only reports the deposit: the market keys accounts by member key.
  }
  // The market names members by their member key: the first wallet, kept across migrations
  // (registry `MemberMigrated(oldWallet, newWallet)`); `depositOf` accepts any wallet of the member.
  const keyOf = new Map();
  for (const e of reg.filter((x) => x.name === "MemberMigrated")) keyOf.set(e.args.newWallet, keyOf.get(e.args.oldWallet) ?? e.args.oldWallet);
  const key = (w) => keyOf.get(w) ?? w;
  const members = new Set(reg.filter((e) => e.name === "MemberOnboarded" || e.name === "MemberMigrated").map((e) => e.args.member ?? e.args.newWallet));
  for (const m of members) {
    const [b, dep] = await Promise.all([credit.balanceOf(m, { blockTag: block }), market.depositOf(m, { blockTag: block })]);
    if (b !== (wallet.get(m) ?? 0n)) problems.push(`member ${m}: credit balance ${b} on chain, ${wallet.get(m) ?? 0n} from the events`);
    if (dep !== (deposit.get(key(m)) ?? 0n)) problems.push(`member ${m}: market deposit ${dep} on chain, ${deposit.get(key(m)) ?? 0n} from the events`);
  }
  let deposits = 0n;
  for (const v of deposit.values()) deposits += v;
  const held = await credit.balanceOf(records.EnergyMarket.address, { blockTag: block });
  if (held < deposits) problems.push(`the market holds ${held} credit base units, less than the deposits ${deposits}`);

  const balances = Object.fromEntries([...members].map((m) => [getAddress(m), { walletCredits: wallet.get(m) ?? 0n, depositCredits: deposit.get(key(m)) ?? 0n }]));
  return { block, signatures, members: members.size, balances, problems };
}

module.exports = { audit };

if (require.main === module) {
  const [dir, url = "http://127.0.0.1:8545"] = process.argv.slice(2);
  if (!dir) {
    console.error("usage: node examples/audit-from-chain.js <deployment records dir> [rpc url]");
    process.exit(2);
  }
  const provider = new JsonRpcProvider(url);
  audit({ provider, recordsDir: dir })
    .then((r) => {
      const credits = (v) => `${v < 0n ? "-" : ""}${(v < 0n ? -v : v) / 1_000_000n}.${((v < 0n ? -v : v) % 1_000_000n).toString().padStart(6, "0")}`;
      for (const [m, b] of Object.entries(r.balances)) console.log(`${m}  wallet ${credits(b.walletCredits)} credits  deposit ${credits(b.depositCredits)} credits`);
      console.log(`block ${r.block}: ${r.signatures} reading signatures verified, ${r.members} members' credits re-computed, ${r.problems.length} problem(s)`);
      for (const p of r.problems) console.log(`  ${p}`);
      provider.destroy();
      process.exit(r.problems.length ? 1 : 0);
    })
    .catch((e) => {
      console.error(`error: ${e.shortMessage ?? e.message}`);
      process.exit(2);
    });
}
