/**
 * The committed gas snapshot (`gas-snapshot.json`): gas per reading in batches of 100 and 500
 * (at about 69k gas per reading a batch of 500 needs about 34.5M gas, more than a 30M block:
 * the test raises the embedded chain's block limit for that one batch and records its total, so
 * the figure is honest; the oracle's default batch is 50),
 * per order placed by transaction and by relayed signature, and to clear and settle one interval
 * of 100 and 1,000 simulated households, after a warm-up interval in which all of them traded (a
 * member's steady state, as in `npm run bench`). A change beyond 1 % fails: gas changes on purpose.
 * `UPDATE_GAS_SNAPSHOT=1 npx hardhat test test/gas/snapshot.test.ts` rewrites the file.
 */
import { expect } from "chai";
import * as fs from "node:fs";
import * as path from "node:path";
import { ethers, network } from "hardhat";
import { marketDomain, ORDER_INTENT_TYPES, Side } from "../../src/sdk/eip712";
import { settleInterval } from "../../src/keeper/interval";
import { deployCore } from "../helpers/fixtures";
import { buildCommunity, readInterval, wallet } from "../../bench/lib/community";
import { goToInterval } from "../helpers/readings";
import { revertTo, snapshot } from "../helpers/market";
import { deployments } from "hardhat";

const FILE = path.join(__dirname, "..", "..", "gas-snapshot.json");
const TOLERANCE = 0.01;
const UPDATE = process.env.UPDATE_GAS_SNAPSHOT === "1";
const NOON = 52; // simulator interval 13:00, when PV peaks

describe("gas snapshot", function () {
  this.timeout(20 * 60_000);
  const measured: Record<string, number> = {};

  it("measures readings, orders and clearing of 100 and 1,000 households", async () => {
    // A missing snapshot is a failure (a green run compared against nothing), unless rewriting it on purpose.
    if (!UPDATE && !fs.existsSync(FILE)) throw new Error(`${FILE} is missing: UPDATE_GAS_SNAPSHOT=1 npx hardhat test test/gas/snapshot.test.ts writes it`);
    const core = await deployCore();
    const keeper = {
      registry: core.registry,
      readings: core.readings,
      market: core.market,
      fromBlock: (await deployments.get("EnergyMarket")).receipt?.blockNumber ?? 0,
    };
    const community = await buildCommunity(core, 1000, 7);
    // Building mines thousands of blocks, each a second later: start from wherever the clock is.
    const b = Number(await core.readings.currentInterval()) + 1;
    await goToInterval(core.readings, b + 1);
    await readInterval(core, community, community.members, b, undefined, 200);
    for (let t = Number(await core.market.nextInterval()); t <= b; t++) await settleInterval(keeper, t);
    // A warm-up interval in which every household reports and trades, as in `npm run bench`:
    // the figures below are a member's steady state, not its first clearing (new slots, the
    // position index the market keeps from a member's first collection on).
    const warm = b + 1;
    await goToInterval(core.readings, warm + 1);
    await network.provider.send("evm_setBlockGasLimit", ["0x" + (50_000_000).toString(16)]);
    await readInterval(core, community, community.members, warm, NOON - 1, 500, 49_000_000);
    await network.provider.send("evm_setBlockGasLimit", ["0x" + (30_000_000).toString(16)]);
    await settleInterval(keeper, warm, { pageSize: 200 });
    const t1 = warm + 1;
    const t2 = warm + 2;

    // Orders: one by transaction, one relayed.
    const newcomer = wallet("newcomer");
    const relayed = wallet("relayed");
    await core.registry.onboardMember(newcomer.address, 1, ethers.ZeroHash);
    await core.registry.onboardMember(relayed.address, 1, ethers.ZeroHash);
    await ethers.provider.send("hardhat_setBalance", [newcomer.address, "0x56BC75E2D63100000"]);
    const s0 = await snapshot();
    const placed = await (await core.market.connect(newcomer).placeOrder(Side.Buy, 200_000, 0, t1, 100_000)).wait();
    measured["market.placeOrder"] = Number(placed!.gasUsed);
    const { chainId } = await ethers.provider.getNetwork();
    const msg = {
      member: relayed.address,
      action: 0,
      side: Side.Buy,
      limitPricePerKWh: 200_000n,
      capWhPerInterval: 0n,
      firstInterval: t1,
      lastInterval: 100_000,
      nonce: 0n,
      deadline: 2n ** 40n,
    };
    const sig = await relayed.signTypedData(marketDomain(chainId, await core.market.getAddress()), ORDER_INTENT_TYPES, msg);
    const relayedTx = await (await core.market.submitSignedOrder(msg, sig)).wait();
    measured["market.submitSignedOrder"] = Number(relayedTx!.gasUsed);
    await revertTo(s0);

    // Interval 1: 100 households report and trade; the others miss it (cleared after the deadline).
    await goToInterval(core.readings, t1 + 1);
    const r100 = await readInterval(core, community, community.members.slice(0, 100), t1, NOON, 100);
    measured["readings.perReading.batch100"] = Math.round(Number(r100[0].gasUsed) / 100);
    await goToInterval(core.readings, t1 + 2, 2);
    const c100 = await settleInterval(keeper, t1, { pageSize: 200 });
    measured["market.clearSettle.households100.total"] = Number(c100.gasUsed);
    measured["market.clearSettle.households100.perHousehold"] = Math.round(Number(c100.gasUsed) / c100.participants);
    measured["market.clearSettle.households100.txs"] = c100.collectTxs + c100.settleTxs;
    expect(c100.participants).to.equal(100);

    await goToInterval(core.readings, t2 + 1);
    // Interval t2: all 1,000 report in batches of 500 (in a 50M block) and trade.
    await network.provider.send("evm_setBlockGasLimit", ["0x" + (50_000_000).toString(16)]);
    const r500 = await readInterval(core, community, community.members, t2, NOON + 1, 500, 49_000_000);
    await network.provider.send("evm_setBlockGasLimit", ["0x" + (30_000_000).toString(16)]);
    measured["readings.perReading.batch500"] = Math.round(Number(r500[0].gasUsed) / 500);
    const rejected = r500.flatMap((r) => r.logs).filter((l) => core.readings.interface.parseLog(l)?.name === "ReadingRejected");
    expect(rejected, "rejected readings").to.have.length(0);
    measured["readings.batchGas.batch500"] = Number(r500[0].gasUsed);
    let maxTx = 0;
    const c1000 = await settleInterval(keeper, t2, { pageSize: 200, onTx: (_k, r) => (maxTx = Math.max(maxTx, Number(r.gasUsed))) });
    measured["market.clearSettle.households1000.total"] = Number(c1000.gasUsed);
    measured["market.clearSettle.households1000.perHousehold"] = Math.round(Number(c1000.gasUsed) / c1000.participants);
    measured["market.clearSettle.households1000.txs"] = c1000.collectTxs + c1000.settleTxs;
    measured["market.clearSettle.households1000.maxTxGas"] = maxTx;
    expect(c1000.participants).to.equal(1000);
    expect(maxTx).to.be.below(30_000_000);

    console.log("      gas:", JSON.stringify(measured, null, 2).replace(/\n/g, "\n      "));
    if (UPDATE) {
      fs.writeFileSync(FILE, JSON.stringify(measured, null, 2) + "\n");
      return;
    }
    const committed = JSON.parse(fs.readFileSync(FILE, "utf8")) as Record<string, number>;
    const changes = Object.keys({ ...committed, ...measured })
      .filter((k) => !(k in committed) || !(k in measured) || Math.abs(measured[k] - committed[k]) > committed[k] * TOLERANCE)
      .map((k) => `${k}: committed ${committed[k]}, measured ${measured[k]}`);
    expect(changes, "gas changed: review, then UPDATE_GAS_SNAPSHOT=1 to accept").to.deep.equal([]);
  });
});
