/**
 * The CLI's sharp edges of issue 18, in-process (`run(argv, { embeddedProvider })`) on the embedded
 * chain with the production deploy scripts: a limit outside the tariffs asks for --yes, a deposit by
 * a non-member fails before any transaction, `order place` without --from starts at the current
 * interval, and a settled interval says so.
 */
import { expect } from "chai";
import * as fs from "node:fs";
import * as path from "node:path";
import { deployments, ethers, network } from "hardhat";
import { time } from "@nomicfoundation/hardhat-network-helpers";
import { BrowserProvider, id } from "ethers";
import { run } from "../../src/cli/main";
import { parseMeterId } from "../../src/sdk/meter-id";
import { hardhatAccount } from "../oracle/chain";
import { tmpDir } from "../oracle/helpers";

describe("cli / sharp edges (issue 18)", function () {
  this.timeout(120_000);
  let env: NodeJS.ProcessEnv;
  const alice = hardhatAccount(1);
  const stranger = hardhatAccount(9);

  const cli = async (argv: string[], key = alice.privateKey) => {
    let out = "";
    let err = "";
    const code = await run(["--network", "hardhat", ...argv], {
      embeddedProvider: new BrowserProvider(network.provider as never, undefined, { cacheTimeout: -1 }), // no cached nonce between approve and deposit
      env: { ...env, GRIDLEDGER_PRIVATE_KEY: key },
      stdout: (t) => (out += t),
      stderr: (t) => (err += t),
    });
    return { code, out, err, json: () => JSON.parse(out) };
  };

  before(async () => {
    await deployments.fixture(["core"]);
    const records = path.join(tmpDir("gl-cli-edges-"), "deployments");
    fs.mkdirSync(path.join(records, "hardhat"), { recursive: true });
    for (const [name, d] of Object.entries(await deployments.all())) fs.writeFileSync(path.join(records, "hardhat", `${name}.json`), JSON.stringify({ address: d.address, abi: d.abi }));
    env = { ...process.env, GRIDLEDGER_DEPLOYMENTS_DIR: records, GRIDLEDGER_NETWORK: "hardhat" };
    const operator = hardhatAccount(0).privateKey;
    expect((await cli(["member", "add", alice.address, "--kind", "prosumer"], operator)).code).to.equal(0);
    expect((await cli(["credit", "mint", alice.address, "25"], operator)).code).to.equal(0);
  });

  it("asks for --yes before a limit price outside [feed-in, retail]", async () => {
    const r = await cli(["order", "place", "--side", "sell", "--price", "25", "--to", "now+96"]);
    expect(r.code, r.err).to.equal(2);
    expect(r.err).to.match(/25\.00\/kWh is outside the tariffs of interval \d+: feed-in 0\.08\/kWh \.\. retail 0\.30\/kWh credits\/kWh \(83\.3x the retail tariff\).*Pass --yes/);
    const low = await cli(["order", "place", "--side", "buy", "--price", "0.01", "--to", "now+96"]);
    expect(low.code).to.equal(2);
    const yes = await cli(["order", "place", "--side", "sell", "--price", "25", "--to", "now+96", "--yes", "--json"]);
    expect(yes.code, yes.err).to.equal(0);
    expect(yes.json().limitPricePerKWh).to.equal("25000000");
    expect((await cli(["order", "cancel", "--side", "sell"])).code).to.equal(0);
  });

  it("refuses an interval past uint32 written as now+N, before any transaction", async () => {
    const before = await ethers.provider.getTransactionCount(alice.address);
    const r = await cli(["order", "place", "--side", "sell", "--price", "0.2", "--to", "now+99999999999"]);
    expect(r.code, r.err).to.equal(2);
    expect(r.err).to.match(/--to: "now\+99999999999" is after the last interval \(4294967295, a uint32\)/);
    expect(await ethers.provider.getTransactionCount(alice.address)).to.equal(before);
  });

  it("refuses a deposit by a non-member before sending the approval", async () => {
    const nonce = await ethers.provider.getTransactionCount(stranger.address);
    const r = await cli(["deposit", "1"], stranger.privateKey);
    expect(r.code).to.equal(2);
    expect(r.err).to.include(`${stranger.address} is not a member`);
    expect(await ethers.provider.getTransactionCount(stranger.address)).to.equal(nonce);
    const ok = await cli(["deposit", "5", "--json"]);
    expect(ok.code, ok.err).to.equal(0);
  });

  it("starts an order without --from at the current interval, not one long past", async () => {
    await time.increase(6 * 3600); // hours pass with nothing cleared: the market still owes old intervals
    const st = (await cli(["interval", "status", "now", "--json"])).json();
    expect(st.market.nextInterval).to.be.lessThan(st.currentInterval);
    const r = await cli(["order", "place", "--side", "buy", "--price", "0.25", "--to", "now+96", "--json"]);
    expect(r.code, r.err).to.equal(0);
    // The chain's clock follows wall time too: the interval may turn between the two calls.
    const after = (await cli(["interval", "status", "now", "--json"])).json();
    expect(r.json().firstInterval).to.be.within(st.currentInterval, after.currentInterval);
  });

  it("says a settled interval is settled, not ready to clear", async () => {
    const next = (await cli(["interval", "status", "next", "--json"])).json().interval as number;
    const s = await cli(["settle", "--interval", String(next)], hardhatAccount(2).privateKey);
    expect(s.code, s.err).to.equal(0);
    const r = await cli(["interval", "status", String(next), "--json"]);
    expect(r.json().market.phase).to.equal("settled");
    expect(r.json().reason).to.equal("cleared and settled");
    const human = await cli(["interval", "status", String(next)]);
    expect(human.out).to.include("cleared and settled").and.not.to.include("ready to clear");
  });

  it("resolves meter names with the one resolver the CLI and the auditor share", () => {
    expect(parseMeterId("alice-roof")).to.equal(id("meter:alice-roof"));
    const hex = id("meter:x").toUpperCase().replace("0X", "0x");
    expect(parseMeterId(hex)).to.equal(id("meter:x"));
    const audit = fs.readFileSync(path.join(__dirname, "../../src/audit/cli.ts"), "utf8");
    expect(audit).to.match(/parseMeterId\(id, "meterId"\)/);
  });
});
