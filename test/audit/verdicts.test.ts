/**
 * Issue 17: verdicts an auditor, a treasurer and a cron job can trust, on the embedded chain.
 * The same through a real node and `node bin/gridledger.js` is in `cron.test.ts`.
 */
import { expect } from "chai";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { deployments, ethers, network } from "hardhat";
import { AbiCoder, keccak256, toBeHex, zeroPadValue } from "ethers";
import { Side } from "../../src/sdk/eip712";
import { ROLES } from "../../src/sdk/roles";
import { ChainMismatchError } from "../../src/sdk/errors";
import { runAudit, AuditRun } from "../../src/audit";
import { formatViolations } from "../../src/audit/verify";
import { run as cli } from "../../src/cli/main";
import type { EnergyMarket } from "../../typechain-types";
import { CREDIT, deployMarketWorld, MarketWorld, revertTo, runInterval, snapshot } from "../helpers/market";
import { auditTarget, tmpDb } from "./helpers";
import { mappingSlot, setDepositInStorage } from "../helpers/storage";

const e = (importWh: bigint, exportWh: bigint) => ({ importWh, exportWh });

/** The storage slot of `mapping(address => uint256)` entry `key` whose value is `value` (first match in slots 0..99). */
/** Deployment records of the fixture in `<dir>/hardhat/<Name>.json`, as the CLI reads them. */
async function writeRecords(dir: string, override: Record<string, string> = {}): Promise<void> {
  fs.mkdirSync(path.join(dir, "hardhat"), { recursive: true });
  for (const name of ["CommunityRegistry", "EnergyToken", "CommunityCredit", "MeterReadings", "EnergyMarket"]) {
    const d = await deployments.get(name);
    fs.writeFileSync(path.join(dir, "hardhat", `${name}.json`), JSON.stringify({ address: override[name] ?? d.address, abi: d.abi, receipt: { blockNumber: d.receipt?.blockNumber } }));
  }
}

/** The gridledger CLI in-process on the embedded chain. */
async function gridledger(argv: string[], env: NodeJS.ProcessEnv) {
  let stdout = "";
  let stderr = "";
  const code = await cli(["--network", "hardhat", ...argv], {
    embeddedProvider: ethers.provider,
    env: { ...process.env, ...env },
    stdout: (t) => (stdout += t),
    stderr: (t) => (stderr += t),
  });
  return { code, stdout, stderr };
}

describe("audit verdicts", function () {
  this.timeout(120_000);
  let w: MarketWorld;
  let base: string;
  let target: Awaited<ReturnType<typeof auditTarget>>;
  let tmp: string;
  let env: NodeJS.ProcessEnv;

  before(async () => {
    w = await deployMarketWorld(3);
    const h = (i: number) => w.households[i];
    await w.market.connect(h(0).signer).placeOrder(Side.Sell, 100_000, 0, 1, 50);
    await w.market.connect(h(1).signer).deposit(20n * CREDIT);
    await w.market.connect(h(1).signer).placeOrder(Side.Buy, 200_000, 0, 1, 50);
    await runInterval(w, 1, new Map([[h(0).address, e(200n, 2000n)], [h(1).address, e(1500n, 0n)], [h(2).address, e(700n, 100n)]]));
    await runInterval(w, 2, new Map([[h(0).address, e(900n, 1200n)], [h(1).address, e(800n, 0n)]]));
    target = await auditTarget();
    base = await snapshot();
    tmp = fs.mkdtempSync(path.join(os.tmpdir(), "gl-verdicts-"));
    await writeRecords(path.join(tmp, "deployments"));
    env = { GRIDLEDGER_DEPLOYMENTS_DIR: path.join(tmp, "deployments"), GRIDLEDGER_AUDIT_DB: path.join(tmp, "audit.sqlite") };
  });
  afterEach(async () => {
    await revertTo(base);
    base = await snapshot();
  });
  after(() => fs.rmSync(tmp, { recursive: true, force: true }));

  const audit = (extra: Partial<Parameters<typeof runAudit>[0]> = {}) => runAudit({ provider: ethers.provider, ...target, dbPath: tmpDb("verdicts"), ...extra });

  describe("state drift (item 2)", () => {
    it("reports a deposit changed in storage without an event", async () => {
      const buyer = w.households[1].address;
      const market = await w.market.getAddress();
      const deposit = await w.market.depositOf(buyer);
      const clean = await audit();
      expect(clean.violations, formatViolations(clean.violations)).to.deep.equal([]);
      clean.close();
      await setDepositInStorage(ethers.provider, market, buyer, deposit, deposit + 5n * CREDIT);
      const r = await audit();
      const drift = r.violations.filter((v) => v.check === "state");
      expect(drift.map((v) => v.message)).to.deep.equal([
        `block ${r.state.cursor}: market depositOf(${buyer}) is ${deposit + 5n * CREDIT} on chain but the events say ${deposit} (difference +5000000): state changed without an event`,
      ]);
      expect(drift[0]).to.include({ member: buyer, difference: "+5000000" });
      r.close();
    });

    it("reports a meter register changed without an event", async () => {
      const h0 = w.households[0];
      const st = await w.readings.meterState(h0.meter);
      // meterState lives in the readings contract: shift its export register by 1 Wh.
      const readings = await w.readings.getAddress();
      let found = false;
      for (let slot = 0; slot < 100 && !found; slot++) {
        const at = keccak256(AbiCoder.defaultAbiCoder().encode(["bytes32", "uint256"], [h0.meter, slot]));
        const raw = BigInt(await ethers.provider.getStorage(readings, at));
        // Packed struct: importWhTotal (64 bits), exportWhTotal (64), history (64), lastInterval (32), state (8).
        if (raw !== 0n && (raw & ((1n << 64n) - 1n)) === st.importWhTotal && ((raw >> 64n) & ((1n << 64n) - 1n)) === st.exportWhTotal) {
          await network.provider.send("hardhat_setStorageAt", [readings, at, zeroPadValue(toBeHex(raw + (1n << 64n)), 32)]);
          found = true;
        }
      }
      expect(found, "meter state slot").to.equal(true);
      await network.provider.send("evm_mine", []);
      const r = await audit();
      const msgs = r.violations.filter((v) => v.check === "state").map((v) => v.message);
      expect(msgs.length).to.equal(1);
      expect(msgs[0]).to.include(`MeterReadings meterState(${h0.meter.toLowerCase()})`);
      expect(msgs[0]).to.include(`export ${st.exportWhTotal + 1n} Wh`);
      r.close();
    });
  });

  describe("a surplus of credits in the market (item 6)", () => {
    it("is a note with its amount and origin, not a violation", async () => {
      const donor = w.households[2];
      const tx = await w.credit.connect(donor.signer).transfer(await w.market.getAddress(), 3n * CREDIT);
      await tx.wait();
      const r = await audit();
      expect(r.violations, formatViolations(r.violations)).to.deep.equal([]);
      expect(r.notes.length).to.equal(1);
      expect(r.notes[0]).to.include({ kind: "surplus", amount: 3n * CREDIT });
      expect(r.notes[0].origins).to.deep.equal([{ txHash: tx.hash, blockNumber: tx.blockNumber, from: [donor.address], credits: 3n * CREDIT }]);
      r.close();
      // Through the CLI: exit 0 and the note on stderr.
      const out = await gridledger(["audit", "--db", tmpDb("surplus-cli"), "verify"], env);
      expect(out.code, out.stderr).to.equal(0);
      expect(out.stderr).to.include(`note: the market holds 3000000 credit base units more than the members' deposits`);
      expect(out.stderr).to.include(tx.hash);
    });

    it("a market holding less than the deposits is still a violation", async () => {
      const market = await w.market.getAddress();
      const held = await w.credit.balanceOf(market);
      const { slot } = await mappingSlot(ethers.provider, await w.credit.getAddress(), market, held);
      await network.provider.send("hardhat_setStorageAt", [await w.credit.getAddress(), slot, zeroPadValue(toBeHex(held - 1n), 32)]);
      await network.provider.send("evm_mine", []);
      const r = await audit();
      expect(r.violations.map((v) => v.check)).to.include("state");
      expect(r.notes).to.deep.equal([]);
      r.close();
    });
  });

  describe("the index is tied to its chain and deployment (item 3)", () => {
    it("rebuilds for a new deployment, or refuses with --no-rebuild saying which", async () => {
      const db = tmpDb("redeploy");
      const first = await audit({ dbPath: db });
      expect(first.violations).to.deep.equal([]);
      first.close();
      // A second market (a redeployment of the market only).
      const orderBook = await deployments.get("OrderBook");
      const tariffs = await w.market.tariffAt(0);
      const Factory = await ethers.getContractFactory("EnergyMarket", { libraries: { OrderBook: orderBook.address } });
      const fresh = (await Factory.deploy(
        await w.registry.getAddress(),
        await w.readings.getAddress(),
        await w.credit.getAddress(),
        tariffs.retailPerKWh,
        tariffs.feedInPerKWh,
        await w.readings.currentInterval(),
      )) as unknown as EnergyMarket;
      await fresh.waitForDeployment();
      await w.registry.grantRole(ROLES.SYSTEM_ROLE, await fresh.getAddress());
      const next = { ...target, addresses: { ...target.addresses, market: await fresh.getAddress() } };
      const refused = await runAudit({ provider: ethers.provider, ...next, dbPath: db, rebuild: false }).then(
        () => undefined,
        (x: unknown) => x,
      );
      expect(refused).to.be.instanceOf(ChainMismatchError);
      expect((refused as Error).message).to.include("a new deployment");
      const again = await runAudit({ provider: ethers.provider, ...next, dbPath: db });
      expect(again.indexed!.rebuilt).to.match(/^a new deployment/);
      const scratch = await runAudit({ provider: ethers.provider, ...next, dbPath: tmpDb("redeploy-scratch") });
      const dump = (x: AuditRun) => x.db.prepare("SELECT * FROM events ORDER BY block_number, log_index").all();
      expect(dump(again)).to.deep.equal(dump(scratch));
      again.close();
      scratch.close();
    });

    it("re-indexes from the deployment block after a reorganisation deeper than the window", async () => {
      const db = tmpDb("deep-reorg");
      const fork = await snapshot();
      await runInterval(w, 3, new Map([[w.households[0].address, e(0n, 1000n)], [w.households[1].address, e(1000n, 0n)]]));
      const a = await audit({ dbPath: db, reorgWindow: 2 });
      expect(a.violations).to.deep.equal([]);
      a.close();
      await revertTo(fork);
      // Another history, longer than the window: other energy, a deposit, empty blocks.
      await w.market.connect(w.households[2].signer).deposit(1n);
      await runInterval(w, 3, new Map([[w.households[2].address, e(0n, 400n)], [w.households[1].address, e(400n, 0n)]]));
      await network.provider.send("hardhat_mine", ["0x5"]);
      const b = await audit({ dbPath: db, reorgWindow: 2 });
      expect(b.indexed!.deepReorg, "deep reorg detected").to.equal(true);
      expect(b.violations, formatViolations(b.violations)).to.deep.equal([]);
      const scratch = await audit({ dbPath: tmpDb("deep-reorg-scratch") });
      const dump = (x: AuditRun) => x.db.prepare("SELECT * FROM events ORDER BY block_number, log_index").all();
      expect(dump(b)).to.deep.equal(dump(scratch));
      b.close();
      scratch.close();
    });
  });

  describe("through the gridledger CLI (items 1, 4, 5)", () => {
    it("exits 1 on a violation from every subcommand, 0 when sound", async () => {
      const h1 = w.households[1];
      const db = path.join(tmp, "cli-exit.sqlite");
      expect((await gridledger(["audit", "--db", db, "verify"], env)).code).to.equal(0);
      await setDepositInStorage(ethers.provider, await w.market.getAddress(), h1.address, await w.market.depositOf(h1.address), 1n);
      for (const sub of [["verify"], ["member", h1.address], ["interval", "1"], ["meter", h1.meter], ["summary"], ["anomalies"]]) {
        const r = await gridledger(["audit", "--db", db, ...sub], env);
        expect(r.code, `audit ${sub.join(" ")}: ${r.stderr}`).to.equal(1);
        expect(r.stderr).to.match(/violation\(s\)/);
      }
    });

    it("prints credits and kWh with units, and --json after the subcommand gives JSON", async () => {
      const h0 = w.households[0];
      const db = path.join(tmp, "cli-units.sqlite");
      for (const sub of [["member", h0.address], ["summary"], ["interval", "1"], ["meter", h0.meter], ["anomalies"]]) {
        const human = await gridledger(["audit", "--db", db, ...sub], env);
        expect(human.code, human.stderr).to.equal(0);
        expect(human.stdout.trim().startsWith("{"), `audit ${sub[0]} prints text`).to.equal(false);
        const json = await gridledger(["audit", "--db", db, ...sub, "--json"], env);
        expect(json.code, json.stderr).to.equal(0);
        expect(JSON.parse(json.stdout), `audit ${sub[0]} --json`).to.be.an("object");
      }
      const member = await gridledger(["audit", "--db", db, "member", h0.address], env);
      expect(member.stdout).to.match(/saving -?\d+\.\d{2,6} credits/);
      expect(member.stdout).to.match(/export +\d+(\.\d+)? kWh/);
      expect(member.stdout).to.not.include("base units");
      const summary = await gridledger(["audit", "--db", db, "summary"], env);
      expect(summary.stdout).to.match(/average \d+\.\d+ credits\/kWh/);
      const verify = JSON.parse((await gridledger(["audit", "--db", db, "verify", "--json"], env)).stdout);
      expect(verify).to.include({ ok: true });
    });

    it("says which contract is missing on which network instead of a decoding error", async () => {
      const stale = path.join(tmp, "stale");
      const nowhere = ethers.Wallet.createRandom().address;
      await writeRecords(stale, { EnergyMarket: nowhere });
      const staleEnv = { GRIDLEDGER_DEPLOYMENTS_DIR: stale };
      const a = await gridledger(["audit", "--db", tmpDb("stale"), "verify"], staleEnv);
      expect(a.code).to.equal(4);
      expect(a.stderr).to.include(`no contract at ${nowhere} on hardhat: EnergyMarket`);
      const b = await gridledger(["interval", "status", "1"], staleEnv);
      expect(b.code, b.stderr).to.equal(4);
      expect(b.stderr).to.include(`no contract at ${nowhere} on hardhat: EnergyMarket`);
      expect(b.stderr).to.not.include("could not decode");
    });

    it("refuses a removed or unknown member instead of printing an empty statement", async () => {
      const stranger = ethers.Wallet.createRandom().address;
      const r = await gridledger(["audit", "--db", path.join(tmp, "cli-units.sqlite"), "member", stranger], env);
      expect(r.code).to.equal(2);
      expect(r.stderr).to.include(`${stranger} was never a member`);
    });
  });
});
