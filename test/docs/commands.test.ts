/**
 * Every shell command of README.md and docs/*.md, so that none can rot (issue 18). Each command is
 * either executed here - against an `npx hardhat node` this test starts, with its records, wallets
 * and files in a temporary folder - or listed below as not executable on this machine, with the
 * reason. A command that is neither fails the first test: nothing is skipped silently.
 *
 * What the test changes in a command, all listed in SPELLING and PLACEHOLDERS: the project's
 * commands are spelled as files of this checkout (the commands run in a temporary folder, not in
 * the project), the ports are the test's free ports, and the documents' placeholders
 * (`0xA11CE...`, a password `...`) become the values they stand for.
 */
import { expect } from "chai";
import { spawn } from "node:child_process";
import * as fs from "node:fs";
import * as path from "node:path";
import { freePort, tmpDir, waitFor } from "../oracle/helpers";
import { HardhatNode, Processes, ROOT, startHardhatNode } from "../helpers/node";

interface DocCommand {
  doc: string;
  line: number;
  text: string;
}

/** Every command of the `sh` blocks: continuation lines joined, comments and blank lines dropped. */
export function docCommands(files: string[]): DocCommand[] {
  const out: DocCommand[] = [];
  for (const file of files) {
    const text = fs.readFileSync(path.join(ROOT, file), "utf8");
    const re = /```sh\n([\s\S]*?)```/g;
    for (let m = re.exec(text); m; m = re.exec(text)) {
      const startLine = text.slice(0, m.index).split("\n").length + 1;
      const lines = m[1].split("\n");
      for (let i = 0; i < lines.length; i++) {
        const first = i;
        let cmd = lines[i];
        while (cmd.trimEnd().endsWith("\\") && i + 1 < lines.length) cmd = cmd.trimEnd().slice(0, -1) + " " + lines[++i].trim();
        cmd = cmd.replace(/\s+#\s.*$/, "").trim();
        if (!cmd || cmd.startsWith("#")) continue;
        out.push({ doc: file, line: startLine + first, text: cmd.replace(/\s+/g, " ") });
      }
    }
  }
  return out;
}

const DOCS = ["README.md", ...fs.readdirSync(path.join(ROOT, "docs")).filter((f) => f.endsWith(".md")).map((f) => `docs/${f}`)];
const DEV_ORACLE = "0x70997970C51812dc3A010C7d01b50e0d17dc79C8"; // development account #1 (docs/cli.md)

type Step =
  | { not: string } // not executable here, and why
  | { node: true } // the node this test starts with this very command
  | { run: "ok" | "ok-or-not-ready" } // run to completion; the exit code it must end with
  | { daemon: "keeper" | "oracle" }; // long-running: until it reports, then SIGTERM

/** Every command, by pattern: first match wins. */
const PLAN: [RegExp, Step][] = [
  [/^npm install && npm run demo$/, { not: "installs and runs a 96-interval demo (minutes): the demo is tested by test/demo (embedded chain and a real node)" }],
  [/^npm test$/, { not: "the whole suite, of which this test is a part" }],
  [/^npm run web$/, { not: "a development server for a browser; test/web builds and serves the same app and drives Chromium" }],
  [/^stty -F \/dev\/ttyUSB0/, { not: "needs a DSMR P1 serial port (/dev/ttyUSB0), hardware" }],
  [/--dsmr \/dev\/ttyUSB0/, { not: "needs a DSMR P1 serial port (/dev/ttyUSB0), hardware" }],
  [/--dsmr tcp:\/\/192\.168\.1\.50/, { not: "needs a P1 Wi-Fi dongle on the LAN (192.168.1.50), hardware" }],
  [/--mqtt-url mqtt:\/\/127\.0\.0\.1:1883$/, { not: "needs an MQTT broker with real Tasmota/Shelly devices and their meters.json; test/oracle's MQTT suites run the same daemon against a broker" }],
  [/--mqtt-url mqtts:\/\/broker\.lan:8883$/, { not: "needs a TLS MQTT broker on the LAN with the operator's CA, password and real devices; test/oracle/auth.test.ts runs the same daemon against Mosquitto over TLS with a password" }],
  [/^node examples\/audit-from-chain\.js /, { not: "the standalone example auditor, run by test/audit/example.test.ts against a chain with readings, trades and a migration" }],
  [/^POA_(RPC_URL|CHAIN_ID|DEPLOYER_KEY)=/, { not: "a line of .env for a PoA chain, not a command" }],
  [/poa:up|poa:down|test:poa|poa\.env|--network poa|^go install/, { not: "needs a proof-of-authority network of geth nodes (built with Go, minutes); .ci/run runs npm run test:poa" }],
  [/ agent storage --mqtt-url /, { not: "the storage agent reading a real battery's state over MQTT, a daemon run with an onboarded storage member's wallet; test/agent runs the same agent (orders, dry run, SIGKILL and restart) against a node" }],
  [/ agent storage --dry-run /, { not: "the storage agent is a daemon (it decides before every interval until stopped) and needs an onboarded storage member's wallet; test/agent/storage.test.ts runs its dry run" }],
  [/^(GRIDLEDGER_INTERVAL_SECONDS=60 GRIDLEDGER_ORACLE=0x[0-9a-fA-F]{40} )?npx hardhat node$/, { node: true }],
  [/^npx hardhat deploy --network localhost$/, { run: "ok" }],
  [/ -w \S+ keeper( --http-port \d+)?$/, { daemon: "keeper" }],
  [/ oracle --meters '\[/, { daemon: "oracle" }],
  [/ settle --interval now-1$/, { run: "ok-or-not-ready" }],
  [/^(GRIDLEDGER_PRIVATE_KEY=\S+ )?npx gridledger /, { run: "ok" }],
  [/^npm run auditor -- /, { run: "ok" }],
  [/^curl /, { run: "ok" }],
];

function planOf(c: DocCommand): Step | undefined {
  return PLAN.find(([re]) => re.test(c.text))?.[1];
}

describe("docs / every command of README.md and docs/*.md", function () {
  this.timeout(600_000);
  const commands = docCommands(DOCS);

  it("executes each command or lists it as not executable here, with the reason", () => {
    expect(commands.length).to.be.greaterThan(40);
    const unplanned = commands.filter((c) => !planOf(c)).map((c) => `${c.doc}:${c.line}: ${c.text}`);
    expect(unplanned, "commands neither executed nor listed as not executable").to.deep.equal([]);
    const skipped = commands.filter((c) => "not" in planOf(c)!);
    for (const c of skipped) expect((planOf(c) as { not: string }).not.length, c.text).to.be.greaterThan(20);
    // Every skip names hardware, another chain, a download or the test suite itself.
    expect(skipped.length).to.be.lessThan(commands.length / 2);
  });

  describe("against a hardhat node", () => {
    const procs = new Processes();
    let node: HardhatNode;
    let work = "";
    let oraclePort = 0;
    let keeperPort = 0;
    const PASSWORD = "docs-test-password";
    const vars: Record<string, string> = {};

    /** How the documents' commands are spelled in the temporary folder (the commands themselves are unchanged). */
    const SPELLING: [RegExp, () => string][] = [
      [/\bnpx gridledger\b/g, () => `node ${path.join(ROOT, "bin/gridledger.js")}`],
      [/\bnpm run auditor -- /g, () => `node ${path.join(ROOT, "node_modules/.bin/ts-node")} --transpile-only -P ${path.join(ROOT, "tsconfig.json")} ${path.join(ROOT, "src/audit/main.ts")} audit `],
      [/\bnpx hardhat deploy\b/g, () => `cd ${ROOT} && node ${path.join(ROOT, "node_modules/.bin/hardhat")} deploy`],
      [/127\.0\.0\.1:8787\b/g, () => `127.0.0.1:${oraclePort}`],
      [/--http-port 8788\b/g, () => `--http-port ${keeperPort}`],
    ];
    /** The documents' placeholders and what they stand for. */
    const PLACEHOLDERS: [RegExp, () => string][] = [
      [/0xA11CE\.\.\./g, () => vars.alice],
      [/0xABC\.\.\./g, () => vars.alice],
      [/'\.\.\.'/g, () => `'${PASSWORD}'`],
    ];
    const spell = (text: string) => [...SPELLING, ...PLACEHOLDERS].reduce((t, [re, f]) => t.replace(re, f), text);

    const env = () => ({
      HOME: work,
      GRIDLEDGER_PASSWORD: PASSWORD,
      GRIDLEDGER_NETWORK: "localhost",
      LOCALHOST_RPC_URL: node.rpcUrl,
      GRIDLEDGER_DEPLOYMENTS_DIR: node.deploymentsDir,
      GRIDLEDGER_ORACLE_HTTP_PORT: String(oraclePort),
      GRIDLEDGER_ORACLE_DB: path.join(work, "oracle.sqlite"),
      GRIDLEDGER_LOG_FORMAT: "json",
      LOG_LEVEL: "info",
      NODE_PATH: path.join(ROOT, "node_modules"), // `node -e 'require("ethers")'` in docs/cli.md, run outside the project
    });
    const sh = (cmd: string, timeoutMs = 300_000) =>
      new Promise<{ code: number | null; out: string }>((resolve) => {
        const child = spawn("bash", ["-c", cmd], { cwd: work, env: { ...process.env, ...env() }, stdio: ["ignore", "pipe", "pipe"] });
        let out = "";
        child.stdout.on("data", (d) => (out += d));
        child.stderr.on("data", (d) => (out += d));
        const timer = setTimeout(() => child.kill("SIGKILL"), timeoutMs);
        child.on("exit", (code) => (clearTimeout(timer), resolve({ code, out })));
      });

    before(async () => {
      work = tmpDir("gl-docs-");
      oraclePort = await freePort();
      keeperPort = await freePort();
      // The documented node: 60-second intervals, development account #1 as the oracle's account.
      process.env.GRIDLEDGER_ORACLE = DEV_ORACLE;
      try {
        node = await startHardhatNode(procs, { work, intervalSeconds: 60, marketStart: Math.floor(Date.now() / 1000 / 60) * 60 });
      } finally {
        delete process.env.GRIDLEDGER_ORACLE;
      }
    });
    after(() => procs.killAll());

    const runnable = commands.filter((c) => !("not" in (planOf(c) ?? { not: "" })));
    // docs/cli.md's session first (it creates the wallets the README's daemons use).
    const ordered = [...runnable.filter((c) => c.doc === "docs/cli.md"), ...runnable.filter((c) => c.doc !== "docs/cli.md")];
    for (const c of ordered) {
      const step = planOf(c)!;
      it(`${c.doc}:${c.line}: ${c.text.length > 110 ? c.text.slice(0, 107) + "..." : c.text}`, async () => {
        if ("node" in step) {
          expect(node.proc.output()).to.match(/GridLedger deployed on chain 31337/);
          expect(node.proc.output()).to.match(/EnergyMarket\s+0x[0-9a-fA-F]{40}/);
          return;
        }
        const cmd = spell(c.text);
        if ("daemon" in step) {
          const p = procs.spawn("bash", ["-c", cmd], env(), work);
          const port = step.daemon === "oracle" ? oraclePort : keeperPort;
          const healthy = async () => {
            if (step.daemon === "keeper" && !/--http-port/.test(cmd)) return /keeper started/.test(p.output());
            try {
              return (await fetch(`http://127.0.0.1:${port}/healthz`)).status === 200;
            } catch {
              return false;
            }
          };
          await waitFor(async () => p.ended() || (await healthy()), `${step.daemon} to report healthy`, 90_000, 300).catch(() => undefined);
          const ok = !p.ended() && (await healthy());
          p.signal("SIGTERM");
          expect(ok, p.output().slice(-3000)).to.equal(true);
          if (step.daemon === "oracle") {
            // Leave it running for the curl posts that follow it in docs/cli.md.
            const again = procs.spawn("bash", ["-c", cmd], env(), work);
            await waitFor(async () => again.ended() || (await healthy()), "oracle again", 90_000, 300);
            vars.oracleRunning = "1";
          }
          return;
        }
        const r = await sh(cmd);
        if (/wallet create --name alice/.test(c.text)) vars.alice = /0x[0-9a-fA-F]{40}/.exec(r.out)?.[0] ?? "";
        if ("run" in step && step.run === "ok-or-not-ready" && r.code === 2) {
          // Not ready yet, or (a fast run still in the market's first interval) nothing ended yet.
          expect(r.out).to.match(/is not ready: \d+ of \d+ meters reported|"now-1" is before interval 0: the market is in interval 0/);
          return;
        }
        expect(r.code, r.out.slice(-3000)).to.equal(0);
      });
    }
  });
});
