import { expect } from "chai";
import { Command } from "commander";
import { deployments, ethers } from "hardhat";
import { Side } from "../../src/sdk/eip712";
import { ROLES } from "../../src/sdk/roles";
import { KeeperContracts, settleInterval } from "../../src/keeper/interval";
import { registerAudit, runAudit } from "../../src/audit";
import { exitCodeOf } from "../../src/cli/main";
import { AuditViolationsError } from "../../src/sdk/errors";
import type { EnergyMarket } from "../../typechain-types";
import { deployCore, identityHash, MemberKind, meterId } from "../helpers/fixtures";
import { CREDIT, Household, submitReadings } from "../helpers/market";
import { goToInterval } from "../helpers/readings";
import { auditTarget, tmpDb } from "./helpers";

/**
 * The production deployment with its EnergyMarket swapped for `FaultyEnergyMarket`, which pays
 * every fill at 1.5x the price it reports. Same constructor, roles and migration hook.
 */
async function faultyWorld() {
  const core = await deployCore();
  const reg = core.registry;
  const orderBook = await deployments.get("OrderBook");
  const tariffs = await core.market.tariffAt(0);
  const Factory = await ethers.getContractFactory("FaultyEnergyMarket", { libraries: { OrderBook: orderBook.address } });
  const faulty = (await Factory.deploy(
    await reg.getAddress(),
    await core.readings.getAddress(),
    await core.credit.getAddress(),
    tariffs.retailPerKWh,
    tariffs.feedInPerKWh,
    await core.readings.currentInterval(),
  )) as unknown as EnergyMarket;
  await faulty.waitForDeployment();
  const at = await faulty.getAddress();
  await reg.grantRole(ROLES.SYSTEM_ROLE, at);
  await reg.addMigrationHook(at);

  const people = (await ethers.getSigners()).slice(6, 8);
  const households: Household[] = [];
  for (const [i, s] of people.entries()) {
    await reg.onboardMember(s.address, MemberKind.Prosumer, identityHash(`f${i}`));
    const m = meterId(`f${i}`);
    await reg.registerMeter(m, s.address, core.signerKey.address, 10_000, 1, 0n, 0n);
    await core.credit.mint(s.address, 1000n * CREDIT);
    await core.credit.connect(s).approve(at, ethers.MaxUint256);
    households.push({ signer: s, address: s.address, meter: m, importWhTotal: 10_000n, exportWhTotal: 5_000n });
  }
  const keeper: KeeperContracts = { registry: reg, readings: core.readings, market: faulty, fromBlock: 0 };
  const first = Number(await core.readings.currentInterval());
  await goToInterval(core.readings, first + 1);
  await submitReadings(core, households, first, new Map());
  await settleInterval(keeper, first);
  return { core, faulty, households, keeper, first };
}

describe("audit of a tampered market", () => {
  let dbPath: string;
  let seller: string;
  let buyer: string;
  let t: number;
  let target: Awaited<ReturnType<typeof auditTarget>>;

  before(async () => {
    const { core, faulty, households, keeper, first } = await faultyWorld();
    const [h0, h1] = households;
    seller = h0.address;
    buyer = h1.address;
    t = first + 1;
    await faulty.connect(h0.signer).placeOrder(Side.Sell, 100_000, 0, t, t + 10);
    await faulty.connect(h1.signer).deposit(10n * CREDIT);
    await faulty.connect(h1.signer).placeOrder(Side.Buy, 200_000, 0, t, t + 10);
    await goToInterval(core.readings, t + 1);
    await submitReadings(core, households, t, new Map([[seller, { importWh: 500n, exportWh: 2500n }], [buyer, { importWh: 1500n, exportWh: 0n }]]));
    await settleInterval(keeper, t);
    target = await auditTarget(await faulty.getAddress());
    dbPath = tmpDb("faulty");
  });

  it("names the interval, the member and the difference", async () => {
    const run = await runAudit({ provider: ethers.provider, ...target, dbPath });
    const messages = run.violations.map((v) => v.message);
    // 1,500 Wh at 0.10 (the seller's 500 unmatched Wh at 0.10 set the price) = 150,000; the
    // faulty market moved 225,000.
    expect(messages).to.include(`interval ${t}: member ${buyer}: paid 225000 but the rule says 150000 (difference +75000)`);
    expect(messages).to.include(`interval ${t}: member ${seller}: received 225000 but the rule says 150000 (difference +75000)`);
    const fill = run.violations.find((v) => v.check === "fill")!;
    expect(fill).to.include({ interval: t, member: buyer, actual: "225000", expected: "150000", difference: "+75000" });
    // The interval's total breaks the rounding rule too; energy and the deposits still add up.
    expect(messages).to.include(`interval ${t}: credits paid 225000 but floor(matched Wh * price / 1000) is 150000 (difference +75000)`);
    expect(new Set(run.violations.map((v) => v.check))).to.deep.equal(new Set(["fill", "settlement", "credits"]));
    run.close();
  });

  it("`audit verify` exits non-zero with a clear list", async () => {
    const lines: string[] = [];
    const program = new Command("gridledger").exitOverride();
    registerAudit(program, { provider: ethers.provider, write: (s) => lines.push(s), defaults: { ...target, dbPath } });
    const err = await program.parseAsync(["node", "gridledger", "audit", "verify"]).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(err).to.be.instanceOf(AuditViolationsError);
    expect(exitCodeOf(err)).to.equal(1);
    const text = lines.join("\n");
    expect(text).to.match(/audit verify: \d+ violation\(s\)/);
    expect(text).to.include(`[settlement] interval ${t}: member ${buyer}: paid 225000 but the rule says 150000 (difference +75000)`);
  });

  it("`audit member --csv -` prints the statement of the overcharged buyer", async () => {
    const lines: string[] = [];
    const program = new Command("gridledger").exitOverride();
    registerAudit(program, { provider: ethers.provider, write: (s) => lines.push(s), defaults: { ...target, dbPath } });
    // The statement is printed, and the command still fails: the ledger it comes from is wrong.
    const err = await program.parseAsync(["node", "gridledger", "audit", "member", buyer, "--csv", "-"]).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(exitCodeOf(err)).to.equal(1);
    const csv = lines.join("");
    expect(csv.split("\r\n")[0]).to.match(/^interval,start_utc,wallet,/);
    expect(csv).to.include(`bought 1500 Wh from ${seller}`);
  });
});
