import { expect } from "chai";
import { ethers } from "hardhat";
import { Side } from "../../src/sdk/eip712";
import { settleInterval } from "../../src/keeper/interval";
import { runAudit, AuditRun } from "../../src/audit";
import { formatViolations, verifyState } from "../../src/audit/verify";
import { anomalies, communitySummary, memberStatement, statementCsv } from "../../src/audit/reports";
import { buildState, memberKeyOf } from "../../src/audit/state";
import { surplusSplit } from "../../src/sdk/surplus";
import { CREDIT, deployMarketWorld, MarketWorld, revertTo, runInterval, snapshot, submitReadings } from "../helpers/market";
import { goToInterval, signReading } from "../helpers/readings";
import { auditTarget, parseCsv, tmpDb } from "./helpers";

const e = (importWh: bigint, exportWh: bigint) => ({ importWh, exportWh });

/**
 * A small community over seven intervals: trades, a paged clearing, a bid limited by its
 * deposit, a tariff change, a suspension during an interval, a refused reading, a wallet
 * migration, and a meter that misses an interval.
 */
async function community(): Promise<{ w: MarketWorld; fresh: string }> {
  const w = await deployMarketWorld(5);
  const h = (i: number) => w.households[i];
  const as = (i: number) => w.market.connect(h(i).signer);
  await as(0).placeOrder(Side.Sell, 100_000, 0, 1, 50);
  await as(2).placeOrder(Side.Sell, 90_000, 0, 1, 50);
  await as(1).deposit(50n * CREDIT);
  await as(1).placeOrder(Side.Buy, 200_000, 0, 1, 50);
  await as(3).deposit(50n * CREDIT);
  await as(3).placeOrder(Side.Buy, 250_000, 0, 1, 50);
  await as(4).deposit(100_000n); // 0.1 credit: affords 555 Wh at 0.18
  await as(4).placeOrder(Side.Buy, 180_000, 600, 1, 50);

  // 1: paged clearing (two participants per page).
  await runInterval(
    w,
    1,
    new Map([
      [h(0).address, e(0n, 2000n)],
      [h(2).address, e(300n, 1500n)],
      [h(1).address, e(1500n, 0n)],
      [h(3).address, e(700n, 0n)],
      [h(4).address, e(800n, 100n)],
    ]),
    { pageSize: 2 },
  );
  // Tariffs change from interval 4 on.
  await w.market.setTariffs(320_000, 90_000, 4);

  // 2: h3 is suspended after reading, before clearing: self-supply and grid only.
  await goToInterval(w.readings, 3);
  await submitReadings(w, w.households, 2, new Map([[h(0).address, e(100n, 1800n)], [h(3).address, e(900n, 0n)], [h(1).address, e(400n, 0n)]]));
  await w.registry.suspendMember(h(3).address);
  await settleInterval(w.keeper, 2);
  await w.registry.reinstateMember(h(3).address);

  // 3: a reading signed by the wrong key is refused; the batch goes on.
  await goToInterval(w.readings, 4);
  const forged = await signReading(w.readings, h(4).signer, { meterId: h(4).meter, interval: 3, importWhTotal: 99_999_999n, exportWhTotal: 0n });
  await w.readings.submitReadings([forged]);
  await submitReadings(w, w.households, 3, new Map([[h(2).address, e(0n, 1200n)], [h(4).address, e(1000n, 0n)], [h(3).address, e(300n, 0n)]]));
  await settleInterval(w.keeper, 3);

  // 4: h1 migrates to a new wallet (deposit and order follow), new tariffs.
  const fresh = ethers.Wallet.createRandom().address;
  await w.registry.migrateMember(h(1).address, fresh);
  await runInterval(w, 4, new Map([[h(0).address, e(0n, 900n)], [h(1).address, e(1200n, 0n)]]));

  // 5: h2's meter misses the interval (cleared after the deadline); 6: its next reading covers both.
  await goToInterval(w.readings, 6);
  await submitReadings(w, w.households.filter((_, i) => i !== 2), 5, new Map([[h(0).address, e(0n, 700n)], [h(3).address, e(600n, 0n)]]));
  await goToInterval(w.readings, 7);
  await settleInterval(w.keeper, 5);
  // h2's reading for 5 arrives after the interval was closed: refused as late.
  const late = await signReading(w.readings, w.signerKey, { meterId: h(2).meter, interval: 5, importWhTotal: h(2).importWhTotal, exportWhTotal: h(2).exportWhTotal + 10n });
  await w.readings.submitReadings([late]);
  await submitReadings(w, w.households, 6, new Map([[h(2).address, e(0n, 1400n)], [h(1).address, e(500n, 0n)], [h(3).address, e(400n, 0n)]]));
  await settleInterval(w.keeper, 6);
  return { w, fresh };
}

describe("audit", () => {
  let w: MarketWorld;
  let fresh: string;
  let target: Awaited<ReturnType<typeof auditTarget>>;
  let base: string;
  let run: AuditRun;

  before(async () => {
    ({ w, fresh } = await community());
    target = await auditTarget();
    base = await snapshot();
    run = await runAudit({ provider: ethers.provider, ...target, dbPath: tmpDb("clean") });
  });
  after(() => run?.close());

  describe("on a correct run", () => {
    it("verifies clean", () => {
      expect(run.violations, formatViolations(run.violations)).to.deep.equal([]);
      const settled = [...run.state.intervals.values()].filter((r) => r.settled).map((r) => r.interval);
      expect(settled).to.deep.equal([0, 1, 2, 3, 4, 5, 6]);
      expect([...run.state.intervals.values()].reduce((n, r) => n + r.trades.length, 0)).to.be.greaterThan(3);
    });

    it("rebuilds balances that match the chain", async () => {
      const s = run.state;
      for (const h of w.households) {
        const wallet = h.address === w.households[1].address ? fresh : h.address;
        // The market's accounts (and the rebuilt ledger) are keyed by the member key (first wallet).
        expect(s.deposits.balances.get(memberKeyOf(s, wallet)) ?? 0n, `deposit of ${wallet}`).to.equal(await w.market.depositOf(wallet));
        expect(s.credit.balances.get(wallet) ?? 0n).to.equal(await w.credit.balanceOf(wallet));
        expect(s.energy.balances.get(wallet) ?? 0n).to.equal(await w.energy.balanceOf(wallet));
      }
      expect(s.energy.minted - s.energy.burned).to.equal(await w.energy.totalSupply());
    });

    it("re-clears a suspended member's interval without its orders", () => {
      const rec = run.state.intervals.get(2)!;
      const h3 = rec.entries.find((x) => x.member === w.households[3].address)!;
      expect(h3.statusAtCollect).to.equal("Suspended");
      expect(h3.tag).to.equal("None");
    });

    it("lists missing and refused readings, gaps and suspensions", () => {
      const a = anomalies(run.state);
      expect(a.missing).to.deep.include({ interval: 5, meterId: w.households[2].meter.toLowerCase(), owner: w.households[2].address });
      expect(a.missing.filter((m) => m.interval !== 5)).to.deep.equal([]);
      expect(a.rejected.map((r) => [r.interval, r.meterId, r.reason, r.late])).to.deep.equal([
        [3, w.households[4].meter.toLowerCase(), "BadSignature", false],
        [5, w.households[2].meter.toLowerCase(), "IntervalClosed", true],
      ]);
      expect(a.gaps).to.deep.equal([{ meterId: w.households[2].meter.toLowerCase(), fromInterval: 5, toInterval: 5 }]);
      expect(a.suspensions.map((x) => x.member)).to.deep.equal([w.households[3].address]);
      expect(a.suspendedParticipants).to.deep.equal([{ interval: 2, member: w.households[3].address, status: "Suspended" }]);
    });

    it("sums the community: volumes, prices, self-sufficiency", () => {
      const c = communitySummary(run.state);
      expect(c.intervals).to.equal(7);
      const matched = [...run.state.intervals.values()].reduce((n, r) => n + (r.cleared?.matchedWh ?? 0n), 0n);
      expect(c.p2pWh).to.equal(matched);
      expect(c.consumptionWh).to.equal(c.selfSupplyWh + c.p2pWh + c.gridImportWh);
      expect(c.selfSufficiencyPpm).to.equal(((c.selfSupplyWh + c.p2pWh) * 1_000_000n) / c.consumptionWh);
      expect(c.averagePricePerKWh >= 80_000n && c.averagePricePerKWh <= 320_000n).to.equal(true);
      expect(c.savingCredits > 0n).to.equal(true);
    });

    it("splits the gains of trading between sellers and buyers with the SDK's surplusSplit, from the chain's events", async () => {
      const c = communitySummary(run.state);
      const cleared = await w.market.queryFilter(w.market.filters.IntervalCleared());
      const settled = await w.market.queryFilter(w.market.filters.MemberSettled());
      const expected = surplusSplit(
        cleared
          .filter((l) => l.args.interval > 0n)
          .map((l) => ({ interval: Number(l.args.interval), pricePerKWh: l.args.pricePerKWh, matchedWh: l.args.matchedWh, retailPerKWh: l.args.retailPerKWh, feedInPerKWh: l.args.feedInPerKWh })),
        settled
          .filter((l) => l.args.interval > 0n)
          .map((l) => ({ interval: Number(l.args.interval), member: l.args.member, soldWh: l.args.soldWh, boughtWh: l.args.boughtWh, receivedCredits: l.args.receivedCredits, paidCredits: l.args.paidCredits })),
      );
      expect(c.gainsOfTrade).to.deep.equal(expected);
      const g = c.gainsOfTrade.community;
      expect(g.soldWh).to.equal(c.p2pWh);
      expect(g.receivedCredits).to.equal(g.paidCredits);
      // Both sides beat the grid: P2P prices lie between feed-in and retail.
      expect(g.sellerGainCredits > 0n && g.buyerGainCredits > 0n).to.equal(true);
      for (const m of c.gainsOfTrade.members) expect(m.sellerGainCredits >= 0n && m.buyerGainCredits >= 0n, m.member).to.equal(true);
    });
  });

  describe("each check bites on an altered ledger", () => {
    it("a reading signed by another key than the meter's signer at that block", () => {
      const s = buildState(run.db);
      const meter = s.meters.get(w.households[0].meter.toLowerCase())!;
      meter.signers[0].signer = w.households[0].address;
      const v = verifyState(s).filter((x) => x.check === "signature");
      expect(v.length).to.be.greaterThan(0);
      expect(v[0].meterId).to.equal(meter.meterId);
      expect(v[0].message).to.include(`but the meter's signer at block`);
    });

    it("a reading booked to another member's index, an index nobody was given, and an event carrying another reading's signature", () => {
      const s = buildState(run.db);
      const [r0, r1, r2] = s.readings.filter((x) => x.interval === 2);
      const other = [...s.keyOfIndex.entries()].find(([, key]) => key !== r0.memberKey)!;
      r0.memberIndex = other[0];
      r0.memberKey = other[1];
      r1.memberIndex = 9999;
      r1.memberKey = "";
      r2.vs = r0.vs;
      const v = verifyState(s);
      const msgs = v.map((x) => x.message);
      expect(msgs.some((m) => m.startsWith(`interval 2: meter ${r0.meterId} reading is booked to member index ${other[0]} (member ${other[1]}) but the meter belonged to`))).to.equal(true);
      expect(msgs).to.include(`interval 2: meter ${r1.meterId} reading is booked to member index 9999, which no MemberIndexAssigned event gave to a member`);
      // The event's own signature over the event's registers is what is checked: another reading's does not recover to the meter's signer.
      expect(v.some((x) => x.check === "signature" && x.meterId === r2.meterId && /reading (is signed by .* but the meter's signer|signature is malformed)/.test(x.message))).to.equal(true);
      // The clean state names every reading's member by the key of its meter's owner.
      expect(verifyState(buildState(run.db)).filter((x) => x.check === "reading")).to.deep.equal([]);
    });

    it("a (meter, interval) accepted twice and registers that go backwards", () => {
      const s = buildState(run.db);
      const r = s.readings.find((x) => x.interval === 2 && x.exportWh > 0n)!;
      s.readings.push({ ...r, pos: r.pos + 1, exportWhTotal: r.exportWhTotal - 1n });
      s.readings.sort((a, b) => a.pos - b.pos);
      const msgs = verifyState(s, { signatures: false }).map((x) => x.message);
      expect(msgs).to.include(`interval 2: meter ${r.meterId} has a second accepted reading (tx ${r.txHash})`);
      expect(msgs.some((m) => m.includes("registers went backwards"))).to.equal(true);
    });

    it("a fill with other credits, and a cleared price outside the tariffs", () => {
      const s = buildState(run.db);
      const rec = [...s.intervals.values()].find((x) => x.trades.length > 0)!;
      rec.trades[0].credits += 7n;
      rec.trades[0].pricePerKWh = 1n;
      const msgs = verifyState(s, { signatures: false }).map((x) => x.message);
      expect(msgs.some((m) => m.startsWith(`interval ${rec.interval}: member `) && m.includes("credits") && m.includes("(difference +7)"))).to.equal(true);
      expect(msgs.some((m) => m.includes("outside the tariffs"))).to.equal(true);
      expect(msgs).to.include(`interval ${rec.interval}: credits paid ${rec.settlements.reduce((a, x) => a + x.paidCredits, 0n)} but the fills add up to ${rec.trades.reduce((a, x) => a + x.credits, 0n)} (difference -7)`);
    });
  });

  describe("statements", () => {
    it("writes a CSV with a header, one row per interval and a totals row that match the chain", async () => {
      const h0 = w.households[0];
      const st = memberStatement(run.state, h0.address);
      const rows = parseCsv(statementCsv(st));
      expect(rows[0].slice(0, 4)).to.deep.equal(["interval", "start_utc", "wallet", "import_wh"]);
      const body = rows.slice(1, -1);
      const total = rows[rows.length - 1];
      expect(total[0]).to.equal("TOTAL");
      const settledFor = [...run.state.intervals.values()].filter((r) => r.settlements.some((x) => x.member === h0.address)).length;
      expect(body.length).to.equal(settledFor);
      expect(rows.every((r) => r.length === rows[0].length)).to.equal(true);
      const col = (name: string) => rows[0].indexOf(name);
      for (const name of ["export_wh", "p2p_sold_wh", "p2p_received_credits", "grid_export_wh", "saving_credits"]) {
        const sum = body.reduce((acc, r) => acc + BigInt(r[col(name)]), 0n);
        expect(BigInt(total[col(name)]), name).to.equal(sum);
      }
      // h0 never deposited: its deposit in the market is exactly what it received.
      expect(BigInt(total[col("p2p_received_credits")]) - BigInt(total[col("p2p_paid_credits")])).to.equal(await w.market.depositOf(h0.address));
      expect(st.trades.every((t) => t.side === "sold")).to.equal(true);
    });

    it("follows a migrated member across wallets; totals match its deposit", async () => {
      const st = memberStatement(run.state, fresh);
      expect(st.wallets).to.deep.equal([w.households[1].address, fresh]);
      // Settlements name the member key (its first wallet) before and after the migration.
      expect(new Set(st.rows.map((r) => r.wallet))).to.deep.equal(new Set([w.households[1].address]));
      expect(50n * CREDIT - st.totals.p2pPaidCredits).to.equal(await w.market.depositOf(fresh));
      expect(st.trades.some((t) => t.side === "bought")).to.equal(true);
      // Net cost identity.
      const t = st.totals;
      expect(t.netCostCredits).to.equal(t.p2pPaidCredits - t.p2pReceivedCredits + t.gridImportCostCredits - t.gridExportRevenueCredits);
    });
  });

  describe("indexer", () => {
    it("resumed after a stop, holds the same events as one run from scratch", async () => {
      const db = tmpDb("resume");
      const first = await runAudit({ provider: ethers.provider, ...target, dbPath: db, blockRange: 7, maxPages: 3, verify: false });
      const stoppedAt = first.indexed!.cursor;
      first.close();
      const second = await runAudit({ provider: ethers.provider, ...target, dbPath: db, blockRange: 7 });
      expect(second.indexed!.fromBlock).to.equal(stoppedAt + 1);
      const dump = (r: AuditRun) => r.db.prepare("SELECT * FROM events ORDER BY block_number, log_index").all();
      expect(dump(second)).to.deep.equal(dump(run));
      expect(second.violations).to.deep.equal([]);
      expect(JSON.stringify(buildState(second.db).deposits, (_k, v) => (typeof v === "bigint" ? v.toString() : v instanceof Map ? [...v] : v))).to.equal(
        JSON.stringify(run.state.deposits, (_k, v) => (typeof v === "bigint" ? v.toString() : v instanceof Map ? [...v] : v)),
      );
      second.close();
    });

    it("detects a reorganisation and re-indexes what changed", async () => {
      const db = tmpDb("reorg");
      const h = (i: number) => w.households[i];
      await revertTo(base);
      base = await snapshot();
      const fork = await snapshot();
      // Branch A: interval 7 with a trade, indexed.
      await runInterval(w, 7, new Map([[h(0).address, e(0n, 1000n)], [h(3).address, e(1000n, 0n)]]));
      const a = await runAudit({ provider: ethers.provider, ...target, dbPath: db, reorgWindow: 200 });
      expect(a.violations).to.deep.equal([]);
      const tradesA = a.state.intervals.get(7)!.trades.map((t) => t.wh);
      a.close();
      // Branch B replaces it: other energy, more blocks.
      await revertTo(fork);
      await w.market.connect(h(3).signer).deposit(1n);
      await runInterval(w, 7, new Map([[h(2).address, e(0n, 400n)], [h(1).address, e(400n, 0n)]]));
      const b = await runAudit({ provider: ethers.provider, ...target, dbPath: db, reorgWindow: 200 });
      expect(b.indexed!.reorgFrom, "reorg detected").to.be.a("number");
      expect(b.violations, formatViolations(b.violations)).to.deep.equal([]);
      const tradesB = b.state.intervals.get(7)!.trades.map((t) => t.wh);
      expect(tradesB).to.not.deep.equal(tradesA);
      const scratch = await runAudit({ provider: ethers.provider, ...target, dbPath: tmpDb("reorg-scratch") });
      const dump = (r: AuditRun) => r.db.prepare("SELECT * FROM events ORDER BY block_number, log_index").all();
      expect(dump(b)).to.deep.equal(dump(scratch));
      b.close();
      scratch.close();
      await revertTo(base);
      base = await snapshot();
    });
  });
});
