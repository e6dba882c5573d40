/**
 * `examples/audit-from-chain.js`, the audit written from docs/audit.md with ethers alone, run on
 * a small demo chain: every reading signature verifies, every member's credits re-computed from
 * events equal the chain's views and the project's auditor; a tampered deposit is caught.
 */
import { expect } from "chai";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { deployments, ethers } from "hardhat";
import { TypedDataEncoder } from "ethers";
import { READING_TYPES } from "../../src/sdk/eip712";
import { Side } from "../../src/sdk/eip712";
import { runAudit } from "../../src/audit";
import { memberKeyOf } from "../../src/audit/state";
import { CREDIT, deployMarketWorld, MarketWorld, revertTo, runInterval, snapshot } from "../helpers/market";
import { auditTarget, tmpDb } from "./helpers";
import { setDepositInStorage } from "../helpers/storage";

// eslint-disable-next-line @typescript-eslint/no-var-requires
const example = require("../../examples/audit-from-chain.js") as {
  audit(o: { provider: unknown; recordsDir: string }): Promise<{ block: number; signatures: number; members: number; balances: Record<string, { walletCredits: bigint; depositCredits: bigint }>; problems: string[] }>;
};

const e = (importWh: bigint, exportWh: bigint) => ({ importWh, exportWh });

describe("examples/audit-from-chain.js (an audit without the project's code)", function () {
  this.timeout(120_000);
  let w: MarketWorld;
  let dir: string;
  let base: string;

  before(async () => {
    w = await deployMarketWorld(4);
    const h = (i: number) => w.households[i];
    await w.market.connect(h(0).signer).placeOrder(Side.Sell, 100_000, 0, 1, 50);
    await w.market.connect(h(2).signer).placeOrder(Side.Sell, 90_000, 0, 1, 50);
    await w.market.connect(h(1).signer).deposit(20n * CREDIT);
    await w.market.connect(h(1).signer).placeOrder(Side.Buy, 200_000, 0, 1, 50);
    await w.market.connect(h(3).signer).deposit(5n * CREDIT);
    await w.market.connect(h(3).signer).placeOrder(Side.Buy, 250_000, 0, 1, 50);
    await runInterval(w, 1, new Map([[h(0).address, e(100n, 2000n)], [h(1).address, e(1500n, 0n)], [h(2).address, e(0n, 800n)], [h(3).address, e(900n, 0n)]]));
    await runInterval(w, 2, new Map([[h(0).address, e(700n, 300n)], [h(1).address, e(600n, 0n)], [h(3).address, e(1200n, 0n)]]));
    await w.market.connect(h(3).signer).withdraw(1n * CREDIT);
    await w.registry.migrateMember(h(1).address, ethers.Wallet.createRandom().address);
    await runInterval(w, 3, new Map([[h(2).address, e(0n, 1500n)], [h(3).address, e(1000n, 0n)]]));
    dir = fs.mkdtempSync(path.join(os.tmpdir(), "gl-example-"));
    for (const name of ["CommunityRegistry", "EnergyToken", "CommunityCredit", "MeterReadings", "EnergyMarket"]) {
      const d = await deployments.get(name);
      fs.writeFileSync(path.join(dir, `${name}.json`), JSON.stringify({ address: d.address, abi: d.abi, receipt: { blockNumber: d.receipt?.blockNumber } }));
    }
    base = await snapshot();
  });
  after(async () => {
    await revertTo(base);
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it("verifies every reading signature and re-computes every member's credits", async () => {
    const r = await example.audit({ provider: ethers.provider, recordsDir: dir });
    expect(r.problems).to.deep.equal([]);
    const accepted = await w.readings.queryFilter(w.readings.filters.ReadingAccepted());
    expect(r.signatures).to.equal(accepted.length);
    expect(r.members).to.equal(5); // four households and the migrated wallet
    const ours = await runAudit({ provider: ethers.provider, ...(await auditTarget()), dbPath: tmpDb("example") });
    expect(ours.violations).to.deep.equal([]);
    for (const [m, b] of Object.entries(r.balances)) {
      expect(b.depositCredits, `deposit of ${m}`).to.equal(ours.state.deposits.balances.get(memberKeyOf(ours.state, m)) ?? 0n);
      expect(b.depositCredits).to.equal(await w.market.depositOf(m));
      expect(b.walletCredits).to.equal(await w.credit.balanceOf(m));
    }
    ours.close();
  });

  it("signs what the contract and docs/audit.md say: the reading type string and domain", async () => {
    const typeString = TypedDataEncoder.from(READING_TYPES).encodeType("Reading");
    // MeterReadings publishes it as READING_TYPE() (issue 14); older deployments do not.
    const onChain = (w.readings.interface as unknown as { getFunction(n: string): unknown }).getFunction("READING_TYPE") ? await (w.readings as unknown as { READING_TYPE(): Promise<string> }).READING_TYPE() : typeString;
    expect(onChain).to.equal(typeString);
    expect(fs.readFileSync(path.join(__dirname, "../../docs/audit.md"), "utf8")).to.include(typeString);
    const d = await w.readings.eip712Domain();
    expect([d.name, d.version]).to.deep.equal(["GridLedger MeterReadings", "1"]);
  });

  it("reports a deposit changed without an event", async () => {
    const who = w.households[3].address;
    const market = await w.market.getAddress();
    const dep = await w.market.depositOf(who);
    await setDepositInStorage(ethers.provider, market, who, dep, dep + 1n);
    const r = await example.audit({ provider: ethers.provider, recordsDir: dir });
    expect(r.problems).to.deep.equal([`member ${who}: market deposit ${dep + 1n} on chain, ${dep} from the events`]);
  });
});
