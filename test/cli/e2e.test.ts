/**
 * The CLI as a user runs it: `node bin/gridledger.js ...` as real child processes against a
 * `npx hardhat node` started here on a free port. The node deploys the production scripts on
 * start; its records are exported to a temporary directory (GRIDLEDGER_DEPLOYMENTS_DIR) so
 * nothing in the project's deployments/ is touched (the node writes to a temporary folder).
 */
import { expect } from "chai";
import { ChildProcess, execFile, execFileSync, spawn } from "node:child_process";
import * as fs from "node:fs";
import * as net from "node:net";
import * as os from "node:os";
import * as path from "node:path";
import { JsonRpcProvider, Wallet, parseEther } from "ethers";

const ROOT = path.resolve(__dirname, "..", "..");
const BIN = path.join(ROOT, "bin", "gridledger.js");
// Hardhat's publicly known development accounts: #0 deploys and holds every role.
const OPERATOR_KEY = "0xac0974bec39a17e36ba4a6b4d238ff944bacb478cbed5efcae784d7bf4f2ff80";
const BOB_KEY = "0x5de4111afa1a4b94908f83103eb1f1706367c2e68ca870fc3fb9a804cdab365a";
const STRANGER_KEY = "0x7c852118294e51e653712a81e05800f419141751be58f605c371e15141b007a6";

interface Run {
  code: number;
  stdout: string;
  stderr: string;
  json: () => any; // eslint-disable-line @typescript-eslint/no-explicit-any
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = net.createServer();
    s.listen(0, "127.0.0.1", () => {
      const port = (s.address() as net.AddressInfo).port;
      s.close(() => resolve(port));
    });
    s.on("error", reject);
  });
}

describe("gridledger CLI, end to end against a hardhat node", function () {
  this.timeout(180_000);
  let node: ChildProcess;
  let tmp: string;
  let baseEnv: NodeJS.ProcessEnv;
  let provider: JsonRpcProvider;
  let alice = "";
  let bob = "";

  function cli(args: string[], env: NodeJS.ProcessEnv = {}): Promise<Run> {
    return new Promise((resolve) => {
      execFile(process.execPath, [BIN, ...args], { cwd: ROOT, env: { ...baseEnv, ...env }, timeout: 60_000 }, (err, stdout, stderr) => {
        const code = err ? (typeof err.code === "number" ? err.code : 1) : 0;
        resolve({ code, stdout, stderr, json: () => JSON.parse(stdout) });
      });
    });
  }
  const asOperator = (args: string[]) => cli(args, { GRIDLEDGER_PRIVATE_KEY: OPERATOR_KEY });
  const asAlice = (args: string[]) => cli(["--wallet", "alice", ...args]);
  const ok = (r: Run) => {
    expect(r.code, `exit code; stderr: ${r.stderr}`).to.equal(0);
    return r;
  };

  before(async function () {
    tmp = fs.mkdtempSync(path.join(os.tmpdir(), "gl-cli-e2e-"));
    const port = await freePort();
    const records = path.join(tmp, "deployments");
    node = spawn("npx", ["hardhat", "node", "--hostname", "127.0.0.1", "--port", String(port)], {
      cwd: ROOT,
      // The node's deploy scripts write their records into the test's own folder.
      env: { ...process.env, GRIDLEDGER_DEPLOY_LOG: "0", GRIDLEDGER_DEPLOYMENTS_DIR: records },
      stdio: ["ignore", "pipe", "pipe"],
      detached: true, // its own process group, so `after` ends npx and hardhat together
    });
    let log = "";
    await new Promise<void>((resolve, reject) => {
      const onData = (d: Buffer) => {
        log += d.toString();
        if (log.includes("Started HTTP and WebSocket JSON-RPC server")) resolve();
      };
      node.stdout!.on("data", onData);
      node.stderr!.on("data", onData);
      node.on("exit", (code) => reject(new Error(`hardhat node exited with ${code}:\n${log}`)));
    });
    // The market CLI tests need the market's record: when the node's deploy scripts did not
    // write it, deploy onto the node now (never a skip), and fail if it is still missing.
    const marketRecord = path.join(records, "localhost", "EnergyMarket.json");
    if (!fs.existsSync(marketRecord)) {
      execFileSync("npx", ["hardhat", "deploy", "--network", "localhost"], {
        cwd: ROOT,
        env: { ...process.env, GRIDLEDGER_DEPLOY_LOG: "0", GRIDLEDGER_DEPLOYMENTS_DIR: records, LOCALHOST_RPC_URL: `http://127.0.0.1:${port}` },
        stdio: "pipe",
      });
    }
    if (!fs.existsSync(marketRecord)) throw new Error(`${marketRecord} is missing after deploying onto the node`);
    baseEnv = {
      PATH: process.env.PATH,
      HOME: tmp,
      GRIDLEDGER_NETWORK: "localhost",
      LOCALHOST_RPC_URL: `http://127.0.0.1:${port}`,
      GRIDLEDGER_DEPLOYMENTS_DIR: path.join(tmp, "deployments"),
      GRIDLEDGER_KEYSTORE: path.join(tmp, "keystore"),
      GRIDLEDGER_PASSWORD: "alice's passphrase",
    };
    provider = new JsonRpcProvider(`http://127.0.0.1:${port}`, 31337, { staticNetwork: true });
  });

  after(() => {
    provider?.destroy();
    if (node?.pid) {
      try {
        process.kill(-node.pid, "SIGTERM");
      } catch {
        /* already gone */
      }
    }
    if (tmp) fs.rmSync(tmp, { recursive: true, force: true });
  });

  describe("wallets", () => {
    it("creates an encrypted wallet and never prints the password or key", async () => {
      const r = ok(await cli(["wallet", "create", "--name", "alice", "--json"]));
      alice = r.json().address;
      expect(alice).to.match(/^0x[0-9a-fA-F]{40}$/);
      expect(r.stdout + r.stderr).to.not.include("alice's passphrase");
      const file = JSON.parse(fs.readFileSync(r.json().file, "utf8"));
      expect(file.crypto ?? file.Crypto).to.be.an("object");
    });

    it("imports a key from the environment and lists both wallets", async () => {
      const r = ok(await cli(["wallet", "import", "--name", "bob", "--json"], { GRIDLEDGER_PRIVATE_KEY: BOB_KEY }));
      bob = r.json().address;
      expect(bob).to.equal(new Wallet(BOB_KEY).address);
      expect(r.stdout).to.not.include(BOB_KEY.slice(2));
      const list = ok(await cli(["wallet", "list", "--json"])).json();
      expect(list.wallets.map((w: { name: string }) => w.name)).to.deep.equal(["alice", "bob"]);
    });

    it("says so when the password is wrong (exit 6)", async () => {
      const r = await cli(["--wallet", "alice", "balance"], { GRIDLEDGER_PASSWORD: "not it" });
      expect(r.code).to.equal(6);
      expect(r.stderr).to.include(`wrong password for wallet alice (${alice})`);
    });

    it("funds the new wallet with gas money from the operator", async () => {
      ok(await asOperator(["wallet", "fund", alice, "1"]));
      expect(await provider.getBalance(alice)).to.equal(parseEther("1"));
    });
  });

  describe("operator", () => {
    it("adds alice and bob as members", async () => {
      const r = ok(await asOperator(["member", "add", alice, "--kind", "prosumer", "--identity", "alice@example.org", "--json"]));
      expect(r.json().kind).to.equal("prosumer");
      ok(await asOperator(["member", "add", bob, "--kind", "consumer"]));
      const show = ok(await cli(["member", "show", bob, "--json"])).json();
      expect(show.status).to.equal("active");
    });

    it("refuses a member who is not the operator, naming the missing role (exit 3)", async () => {
      const r = await asAlice(["member", "add", new Wallet(STRANGER_KEY).address, "--kind", "consumer"]);
      expect(r.code).to.equal(3);
      expect(r.stderr).to.include(`${alice} lacks OPERATOR_ROLE`);
    });

    it("registers a meter by name", async () => {
      const r = ok(await asOperator(["meter", "register", "alice-roof", "--owner", alice, "--signer", alice, "--max-power", "8000", "--zone", "2", "--import-wh-total", "0", "--export-wh-total", "0", "--json"]));
      expect(r.json().meterId).to.match(/^0x[0-9a-f]{64}$/);
    });

    it("mints credits to members and refuses to mint to a non-member", async () => {
      ok(await asOperator(["credit", "mint", alice, "25"]));
      ok(await asOperator(["credit", "mint", bob, "10"]));
      const stranger = new Wallet(STRANGER_KEY).address;
      const r = await asOperator(["credit", "mint", stranger, "1"]);
      expect(r.code).to.equal(3);
      expect(r.stderr).to.include(`${stranger} may not receive credits: not an active member`);
      const bal = ok(await cli(["balance", alice, "--json"])).json();
      expect(bal.credits).to.equal("25000000");
    });

    it("rejects bad input before sending anything, naming the field (exit 2)", async () => {
      const r = await asOperator(["credit", "mint", alice, "1.0000001"]);
      expect(r.code).to.equal(2);
      expect(r.stderr).to.include("amount: has more than 6 decimals");
      const r2 = await asOperator(["member", "add", "0x1234", "--kind", "consumer"]);
      expect(r2.code).to.equal(2);
      expect(r2.stderr).to.include("address: must be an address");
    });
  });

  describe("intervals", () => {
    it("says a future interval is not ready, with exit 0", async () => {
      const r = ok(await cli(["interval", "status", "now+10", "--json"]));
      expect(r.json().ready).to.equal(false);
      expect(r.json().reason).to.match(/not ready: the interval has not ended/);
      const human = ok(await cli(["interval", "status", "now+10"]));
      expect(human.stdout).to.include("not ready");
    });
  });

  describe("market", () => {
    let aliceFirst = 0;
    it("deposits credits (approve + deposit) and with a permit", async () => {
      const r = ok(await asAlice(["deposit", "10", "--json"]));
      expect(r.json().deposit).to.equal("10000000");
      const p = ok(await asAlice(["deposit", "2.5", "--permit", "--json"]));
      expect(p.json().deposit).to.equal("12500000");
    });

    it("refuses to withdraw more than the deposit, naming both amounts (exit 3)", async () => {
      const r = await asAlice(["withdraw", "20"]);
      expect(r.code).to.equal(3);
      expect(r.stderr).to.include(`deposit of ${alice} is 12.50 credits, 20.00 needed`);
      ok(await asAlice(["withdraw", "2.5"]));
    });

    it("places an order by transaction and lists it", async () => {
      const r = ok(await asAlice(["order", "place", "--side", "sell", "--price", "0.12", "--cap", "2 kWh", "--to", "now+96", "--json"]));
      expect(r.json().orderId).to.match(/^\d+$/);
      aliceFirst = Number(r.json().firstInterval);
      const list = ok(await asAlice(["order", "list", "--json"])).json();
      expect(list.orders).to.have.length(1);
      expect(list.orders[0]).to.include({ side: "sell", limitPricePerKWh: "120000", capWhPerInterval: "2000" });
    });

    it("signs an order without sending it, and another account relays it", async () => {
      const file = path.join(tmp, "bob-buy.json");
      const s = ok(await cli(["--wallet", "bob", "order", "place", "--side", "buy", "--price", "0.25", "--to", "now+96", "--sign-only", "--out", file], { GRIDLEDGER_PASSWORD: "alice's passphrase" }));
      expect(s.stdout).to.include("signed (not sent)");
      const before = ok(await cli(["order", "list", bob, "--json"])).json();
      expect(before.orders).to.have.length(0);
      const r = ok(await asOperator(["order", "relay", file, "--json"]));
      expect(r.json()).to.include({ member: bob, action: "place", side: "buy" });
      expect(r.json().relayer).to.not.equal(bob);
      const after = ok(await cli(["order", "list", bob, "--json"])).json();
      expect(after.orders[0]).to.include({ side: "buy", limitPricePerKWh: "250000" });
      // The same intent cannot be used twice: the nonce is spent.
      const again = await asOperator(["order", "relay", file]);
      expect(again.code).to.equal(3);
      expect(again.stderr).to.match(/nonce/);
    });

    it("shows both orders in the book for the interval after alice's first", async () => {
      // An absolute interval: the node's clock is real time, so "now" and "next" may move on
      // between the two placings (bob's order then starts one interval later than alice's).
      const b = ok(await cli(["book", "--interval", String(aliceFirst + 1), "--json"])).json();
      expect(b.asks.map((l: { pricePerKWh: string }) => l.pricePerKWh)).to.deep.equal(["120000"]);
      expect(b.bids.map((l: { pricePerKWh: string }) => l.pricePerKWh)).to.deep.equal(["250000"]);
    });

    it("refuses an order from a wallet that is not a member (exit 3)", async () => {
      const stranger = new Wallet(STRANGER_KEY).address;
      const r = await cli(["order", "place", "--side", "buy", "--price", "0.2", "--to", "now+4"], { GRIDLEDGER_PRIVATE_KEY: STRANGER_KEY });
      expect(r.code).to.equal(3);
      expect(r.stderr).to.include(`${stranger} is not an active member of the community`);
    });

    it("bills nothing for intervals not settled yet", async () => {
      const r = ok(await asAlice(["bill", "--from", "0", "--to", "now", "--json"]));
      expect(r.json()).to.include({ intervals: 0, totalCredits: "0" });
    });
  });

  describe("the embedded chain", () => {
    it("explains that another process cannot reach it", async () => {
      const r = await cli(["--network", "hardhat", "interval", "status", "0"]);
      expect(r.code).to.equal(4);
      expect(r.stderr).to.include("the embedded chain lives inside one process; start `npx hardhat node` and use --network localhost");
    });
  });
});
