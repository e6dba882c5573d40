/**
 * The auditor as a cron job runs it: `node bin/gridledger.js audit verify` as a child process
 * against `npx hardhat node`, judged by its exit code. A deposit changed in storage without an
 * event must exit 1; a restarted node (a new chain) must rebuild the index, not report a chain
 * that no longer exists, and not print a statement for a member of the old chain.
 */
import { expect } from "chai";
import { execFile } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { Contract, Wallet } from "ethers";
import { HardhatNode, Processes, ROOT, startHardhatNode } from "../helpers/node";
import { setDepositInStorage } from "../helpers/storage";

const BIN = path.join(ROOT, "bin", "gridledger.js");
// Hardhat's publicly known development accounts: #0 deploys and holds every role.
const OPERATOR_KEY = "0xac0974bec39a17e36ba4a6b4d238ff944bacb478cbed5efcae784d7bf4f2ff80";
const MEMBER_KEY = "0x59c6995e998f97a5a0044966f0945389dc9e86dae88c7a8412f4603b6b78690d";

interface Run {
  code: number;
  stdout: string;
  stderr: string;
}

function gridledger(args: string[], env: NodeJS.ProcessEnv): Promise<Run> {
  return new Promise((resolve) => {
    execFile(process.execPath, [BIN, ...args], { cwd: ROOT, env: { PATH: process.env.PATH, HOME: env.HOME, ...env }, timeout: 90_000 }, (err, stdout, stderr) => {
      resolve({ code: err ? (typeof err.code === "number" ? err.code : 1) : 0, stdout, stderr });
    });
  });
}

describe("audit as a cron job, through `node bin/gridledger.js` against a hardhat node", function () {
  this.timeout(240_000);
  const procs = new Processes();
  let tmp: string;
  let node: HardhatNode;
  let env: NodeJS.ProcessEnv;
  const member = new Wallet(MEMBER_KEY).address;

  const envFor = (n: HardhatNode): NodeJS.ProcessEnv => ({
    HOME: tmp,
    GRIDLEDGER_NETWORK: "localhost",
    LOCALHOST_RPC_URL: n.rpcUrl,
    GRIDLEDGER_DEPLOYMENTS_DIR: n.deploymentsDir,
    GRIDLEDGER_AUDIT_DB: path.join(tmp, "audit.sqlite"),
  });

  before(async () => {
    tmp = fs.mkdtempSync(path.join(os.tmpdir(), "gl-audit-cron-"));
    fs.mkdirSync(path.join(tmp, "one", "deployments"), { recursive: true });
    node = await startHardhatNode(procs, { work: path.join(tmp, "one"), intervalSeconds: 900, marketStart: Math.floor(Date.now() / 1000 / 900) * 900 - 10 * 900 });
    env = envFor(node);
    const operator = new Wallet(OPERATOR_KEY, node.provider);
    const m = new Wallet(MEMBER_KEY, node.provider);
    const at = (name: string, runner: Wallet) => new Contract(node.record(name).address, node.record(name).abi, runner);
    await (await at("CommunityRegistry", operator).onboardMember(member, 1, "0x" + "11".repeat(32))).wait();
    await (await at("CommunityCredit", operator).mint(member, 50_000_000n)).wait();
    await (await at("CommunityCredit", m).approve(node.record("EnergyMarket").address, 50_000_000n)).wait();
    await (await at("EnergyMarket", m).deposit(20_000_000n)).wait();
  });

  after(() => {
    procs.killAll();
    node?.provider.destroy();
    if (tmp) fs.rmSync(tmp, { recursive: true, force: true });
  });

  it("exits 0 on a sound ledger, 1 after a deposit was changed without an event", async () => {
    const ok = await gridledger(["audit", "verify"], env);
    expect(ok.code, ok.stdout + ok.stderr).to.equal(0);
    expect(ok.stdout).to.match(/^audit verify: OK/);

    const market = node.record("EnergyMarket").address;
    await setDepositInStorage(node.provider, market, member, 20_000_000n, 25_000_000n);

    const bad = await gridledger(["audit", "verify"], env);
    expect(bad.code, bad.stdout + bad.stderr).to.equal(1);
    expect(bad.stdout).to.include(`[state] block`);
    expect(bad.stdout).to.include(`market depositOf(${member}) is 25000000 on chain but the events say 20000000`);
  });

  it("after the node restarts (a new chain), rebuilds the index instead of auditing the old chain", async () => {
    node.proc.signal("SIGKILL");
    await node.proc.exited();
    node.provider.destroy();
    fs.mkdirSync(path.join(tmp, "two", "deployments"), { recursive: true });
    node = await startHardhatNode(procs, { work: path.join(tmp, "two"), intervalSeconds: 900, marketStart: Math.floor(Date.now() / 1000 / 900) * 900 - 10 * 900 });
    env = envFor(node);
    const refused = await gridledger(["audit", "--no-rebuild", "verify"], env);
    expect(refused.code, refused.stderr).to.equal(7);
    expect(refused.stderr).to.include("a new chain");

    const again = await gridledger(["audit", "verify"], env);
    expect(again.code, again.stdout + again.stderr).to.equal(0);
    expect(again.stderr).to.include("audit: index rebuilt from the deployment block: a new chain");
    const gone = await gridledger(["audit", "member", member], env);
    expect(gone.code).to.equal(2);
    expect(gone.stderr).to.include(`${member} was never a member`);
  });
});
