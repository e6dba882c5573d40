/**
 * The web app in a real browser: Debian's Chromium (driven by playwright-core) against
 * `npx hardhat node`, with an injected EIP-1193 test wallet backed by one of the node's
 * unlocked accounts. A prosumer connects, deposits, places a buy order signed as an EIP-712
 * intent, sees it settled against a neighbour's production after the keeper runs, sees the
 * charts, and exports a statement; the auditor view verifies the interval. The errors a person
 * meets (wrong network, not a member, rejected signature, insufficient deposit) read as
 * sentences. Everything binds 127.0.0.1 and stops by itself.
 */
import { expect } from "chai";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import {
  assertWebInstalled, buildApp, community, Community, CREDIT, goToInterval, keeperUpTo, launchBrowser, missingPrerequisite, Node, onboard,
  PW, readInterval, serve, startNode, stopNode, walletScript,
} from "./harness";
import { requirePrerequisite } from "../helpers/prereq";

describe("web app, end to end in Chromium against a hardhat node", function () {
  this.timeout(240_000);
  let tmp: string;
  let node: Node | undefined;
  let server: { url: string; close: () => Promise<void> } | undefined;
  let browser: PW;
  let c: Community;
  let alice = ""; // the browser's wallet: a consumer who buys
  let bob = ""; // a neighbour with PV who sells
  let stranger = ""; // never onboarded
  let start = 0; // the interval the market starts at

  before(async function () {
    requirePrerequisite(this, missingPrerequisite(), "apt-get update && apt-get install -y chromium (or GRIDLEDGER_CHROMIUM=/path/to/chromium)");
    assertWebInstalled();
    tmp = fs.mkdtempSync(path.join(os.tmpdir(), "gl-web-e2e-"));
    node = await startNode(tmp);
    const dist = buildApp(tmp, node);
    server = await serve(dist);
    c = await community(node);
    const accounts = (await node.provider.send("eth_accounts", [])) as string[];
    [alice, bob, stranger] = [accounts[1], accounts[2], accounts[5]];
    // The node's clock is real time. Start the members' first interval afresh and clear the
    // deployment's interval while no meter is registered: otherwise an interval boundary falling
    // inside this set-up registers the meters after the deployment's interval, their readings for
    // it are refused, and it waits for the reading deadline (collect: MarketIntervalNotReady).
    const deployed = Number(await c.market.nextInterval());
    await goToInterval(c, deployed + 1);
    await keeperUpTo(c, deployed);
    await onboard(c, alice, "alice", false, 500n * CREDIT);
    await onboard(c, bob, "bob", true, 0n);
    await (await c.market.connect(await node.provider.getSigner(bob)).placeOrder(1, 100_000n, 0n, 0, 100_000)).wait();
    start = Number(await c.market.nextInterval());
    browser = await launchBrowser(tmp);
  });

  after(async () => {
    await browser?.close().catch(() => undefined);
    await server?.close();
    stopNode(node);
    if (tmp) fs.rmSync(tmp, { recursive: true, force: true });
  });

  const pages = new Set<PW>();
  const logs: string[] = [];
  async function open(account: string, opts: { chainId?: number } = {}, hash = "#/me") {
    const page = await browser.newPage();
    pages.add(page);
    page.on("close", () => pages.delete(page));
    page.on("console", (m: PW) => m.type() === "error" && logs.push(`console: ${m.text()}`));
    page.on("pageerror", (e: Error) => logs.push(`page error: ${e.message}`));
    await page.addInitScript(walletScript(node!.rpcUrl, account, opts));
    await page.goto(server!.url + hash);
    return page;
  }
  // On a failure, show what the person would have seen.
  afterEach(async function () {
    if (this.currentTest?.state !== "failed") return;
    for (const p of pages) {
      const text = await p.locator("body").innerText().catch(() => "(closed)");
      console.log(`      page ${p.url()}:\n${text.slice(0, 1500)}`);
    }
    console.log(logs.join("\n"));
  });
  const alertText = (page: PW) => page.locator("#alert").innerText();

  describe("the prosumer", () => {
    let page: PW;
    before(async () => {
      page = await open(alice);
    });
    after(async () => page?.close());

    it("connects the wallet and sees the membership and meter", async () => {
      await page.getByRole("button", { name: "Connect wallet" }).first().click();
      await page.locator("[data-testid=member-status]", { hasText: "active" }).waitFor();
      expect(await page.locator("#net").innerText()).to.include(alice.slice(0, 6));
      expect(await page.locator("#membership table tr").count()).to.equal(2); // header + one meter
    });

    it("deposits credits (approve, then deposit)", async () => {
      await page.fill("[name=depositAmount]", "120");
      await page.getByRole("button", { name: "Deposit", exact: true }).click();
      await page.locator("#notice", { hasText: "Deposited 120.00 credits" }).waitFor();
      await page.locator("[data-testid=deposit]", { hasText: "120.00" }).waitFor();
      expect(await c.market.depositOf(alice)).to.equal(120n * CREDIT);
    });

    it("refuses a withdrawal beyond the deposit with a sentence", async () => {
      await page.fill("[name=withdrawAmount]", "1000");
      await page.getByRole("button", { name: "Withdraw" }).click();
      await page.locator("#alert", { hasText: "Insufficient deposit" }).waitFor();
      expect(await alertText(page)).to.include("you have 120.00 credits deposited, 1000.00 requested");
    });

    it("says so when the person rejects the signature in the wallet (4001)", async () => {
      await page.evaluate("window.__wallet.rejectNext = true");
      await page.getByRole("button", { name: "Place", exact: true }).click();
      await page.locator("#alert", { hasText: "You rejected the request in your wallet" }).waitFor();
      expect((await c.market.orderOf(alice, 0)).orderId).to.equal(0n);
    });

    it("places a buy order signed as an EIP-712 intent and relayed", async () => {
      await page.selectOption("[name=side]", "buy");
      await page.fill("[name=limit]", "0.25");
      await page.selectOption("[name=mode]", "signed");
      await page.getByRole("button", { name: "Place", exact: true }).click();
      await page.locator("#notice", { hasText: "signed intent relayed" }).waitFor();
      expect(await page.locator("#intent pre").innerText()).to.include('"signature"');
      await page.locator("[data-testid=order-buy]", { hasText: "0.25" }).waitFor();
      const o = await c.market.orderOf(alice, 0);
      expect(o.limitPricePerKWh).to.equal(250_000n);
      expect(await c.market.nonces(alice)).to.equal(1n);
    });

    it("sees the interval settled after the keeper runs: bought from the neighbour, with a saving", async () => {
      await goToInterval(c, start + 1);
      await readInterval(c, start, new Map()); // first readings: the registers the meters were registered with
      await keeperUpTo(c, start);
      await goToInterval(c, start + 2);
      await readInterval(c, start + 1, new Map([
        [alice.toLowerCase(), { importWh: 2_000n, exportWh: 0n }],
        [bob.toLowerCase(), { importWh: 0n, exportWh: 3_000n }],
      ]));
      await keeperUpTo(c, start + 1);
      const results = page.locator("[data-testid=results]");
      await results.locator("tr", { hasText: `#${start + 1}` }).waitFor({ timeout: 20_000 });
      const row = (await results.locator("tr", { hasText: `#${start + 1}` }).innerText()).toLowerCase();
      // bid 0.25 vs ask max(0.10, feed-in 0.08) = 0.10, bob's remainder unmatched at 0.10: the
      // equilibrium range is [0.10, 0.10] (docs/market-rule.md) -> price 0.10/kWh; 2 kWh bought from bob
      expect(row).to.include("0.10 credits/kwh");
      expect(row).to.include("2 kwh");
      expect(row).to.include(bob.slice(0, 6));
      expect(await page.locator("[data-testid=saving]").innerText()).to.equal("0.40"); // 2 kWh * (0.30 - 0.10)
    });

    it("draws production and consumption per interval", async () => {
      const bars = page.locator("#energy-chart svg rect");
      await bars.first().waitFor({ state: "attached" });
      expect(await bars.count()).to.be.greaterThan(0);
    });

    it("exports the statement as CSV", async () => {
      const [download] = await Promise.all([page.waitForEvent("download"), page.getByRole("button", { name: "Export my statement (CSV)" }).click()]);
      const file = path.join(tmp, "statement.csv");
      await download.saveAs(file);
      const lines = fs.readFileSync(file, "utf8").toLowerCase().trim().split("\n");
      expect(lines[0]).to.match(/^interval,member,price_per_kwh/);
      expect(lines.some((l) => l.startsWith(`${start + 1},${alice},100000,2000,0,0,0,2000`))).to.equal(true);
    });
    it("updates the order by transaction, then cancels it with a signed intent", async () => {
      const before = await c.market.orderOf(alice, 0);
      await page.selectOption("[name=mode]", "tx");
      await page.fill("[name=limit]", "0.22");
      await page.getByRole("button", { name: "Update" }).click();
      await page.locator("#notice", { hasText: "Your buy order at 0.22 credits/kWh is on the book." }).waitFor();
      const updated = await c.market.orderOf(alice, 0);
      expect(updated.limitPricePerKWh).to.equal(220_000n);
      expect(updated.orderId).to.be.greaterThan(before.orderId);
      await page.selectOption("[name=mode]", "signed");
      await page.getByRole("button", { name: "Cancel" }).click();
      await page.locator("#notice", { hasText: "Cancelled your buy order." }).waitFor();
      expect((await c.market.orderOf(alice, 0)).orderId).to.equal(0n);
      expect(await c.market.nonces(alice)).to.equal(2n);
    });
  });

  describe("the market and the auditor", () => {
    it("charts the clearing price and volume and shows the book", async () => {
      const page = await open(alice, {}, "#/market");
      await page.locator("#price-chart circle").first().waitFor(); // one point per interval with trades
      expect(await page.locator("[data-testid=book]").innerText()).to.include("0.10 credits/kWh"); // bob's standing sell order
      await page.close();
    });

    it("draws a gap in the price line for intervals without trades, on round axis ticks (issue 18)", async () => {
      const cleared = await c.market.queryFilter(c.market.filters.IntervalCleared());
      const traded = cleared.filter((e) => e.args.matchedWh > 0n).length;
      expect(cleared.length).to.be.greaterThan(traded); // the baseline interval cleared without a trade
      const page = await open(alice, {}, "#/market");
      await page.locator("#price-chart polyline").first().waitFor({ state: "attached" });
      expect(await page.locator("#price-chart circle").count()).to.equal(traded);
      for (const cls of ["tick-left", "tick-right"]) {
        const ticks = (await page.locator(`#price-chart .${cls}`).allTextContents()).map(Number); // SVG text has no innerText
        expect(ticks.length, cls).to.be.greaterThan(1);
        const step = ticks[1] - ticks[0];
        const mantissa = step / 10 ** Math.floor(Math.log10(step) + 1e-9);
        expect([1, 2, 5].some((m) => Math.abs(mantissa - m) < 1e-6), `${cls} step ${step}`).to.equal(true);
        ticks.forEach((t: number, i: number) => expect(t).to.be.closeTo(i * step, 1e-9));
      }
      await page.close();
    });

    it("counts every settled interval, with or without readings (issue 18)", async () => {
      // An interval nobody reported for: settled once its reading deadline has passed.
      const quiet = Number(await c.market.nextInterval());
      const deadline = Number(await c.readings.readingDeadlineSeconds());
      const len = Number(await c.readings.intervalSeconds());
      await goToInterval(c, quiet + 2 + Math.ceil(deadline / len));
      await keeperUpTo(c, quiet);
      const settled = (await c.market.queryFilter(c.market.filters.IntervalSettled())).length;
      const page = await open(alice, {}, "#/audit");
      await page.locator(`[data-interval="${quiet}"]`).waitFor();
      expect(await page.locator("[data-testid=audit-settled]").innerText()).to.include(`${settled} settled interval(s)`);
      expect(await page.locator("[data-testid=audit-summary]").innerText()).to.include(`${settled} interval(s) verified`);
      await page.close();
    });

    it("verifies every interval by re-clearing it and drills down to fills and readings", async () => {
      const page = await open(alice, {}, "#/audit");
      await page.locator("[data-testid=audit-summary]", { hasText: "verified, none differ" }).waitFor();
      const row = page.locator(`[data-interval="${start + 1}"]`);
      expect(await row.innerText()).to.include("verified");
      await row.getByRole("button", { name: "Details" }).click();
      const fills = (await page.locator("[data-testid=fills]").innerText()).toLowerCase();
      expect(fills).to.include(bob).and.to.include(alice).and.to.include("2 kwh");
      const [download] = await Promise.all([page.waitForEvent("download"), page.getByRole("button", { name: "Export statement (CSV)" }).click()]);
      expect(download.suggestedFilename()).to.equal("gridledger-statement-all.csv");
      await page.close();
    });
  });

  describe("errors a person understands", () => {
    it("wrong network", async () => {
      const page = await open(alice, { chainId: 1 });
      await page.getByRole("button", { name: "Connect wallet" }).first().click();
      await page.locator("#alert", { hasText: "Wrong network" }).waitFor();
      expect(await alertText(page)).to.include("your wallet is on chain 1, but this GridLedger community runs on chain 31337");
      await page.close();
    });

    it("keeps the forms disabled until a wallet is connected (issue 18)", async () => {
      const page = await open(alice);
      await page.locator("[data-slot=membership]", { hasText: "Connect a wallet" }).waitFor();
      expect(await page.locator("[name=depositAmount]").isDisabled()).to.equal(true);
      expect(await page.getByRole("button", { name: "Place", exact: true }).isDisabled()).to.equal(true);
      await page.getByRole("button", { name: "Connect wallet" }).first().click();
      await page.locator("[data-testid=member-status]", { hasText: "active" }).waitFor();
      expect(await page.locator("[name=depositAmount]").isDisabled()).to.equal(false);
      // The meter by its label, registers in kWh (never a mix of Wh and kWh).
      const meter = await page.locator("[data-testid=meters] tr").nth(1).innerText();
      expect(meter).to.match(/^meter 1\s/);
      expect(meter).to.match(/\d+\.\d{3} kWh\s+\d+\.\d{3} kWh/);
      await page.close();
    });

    it("shows a non-member a clear 'not a member' state, and the error goes on navigation (issue 18)", async () => {
      const page = await open(stranger);
      await page.getByRole("button", { name: "Connect wallet" }).first().click();
      await page.locator("[data-testid=not-member]").waitFor();
      expect(await page.locator("#energy-chart").count()).to.equal(0); // no axes of 0.00
      expect(await page.locator("[name=depositAmount]").isDisabled()).to.equal(true);
      expect(await page.locator("#alert").isVisible()).to.equal(true);
      await page.evaluate("location.hash = '#/market'");
      await page.locator("#price-chart").waitFor({ state: "attached" });
      expect(await page.locator("#alert").isVisible()).to.equal(false);
      await page.close();
    });

    it("not a member", async () => {
      const page = await open(stranger);
      await page.getByRole("button", { name: "Connect wallet" }).first().click();
      await page.locator("#alert", { hasText: "Not a member" }).waitFor();
      expect(await alertText(page)).to.include("cannot deposit or trade");
      await page.close();
    });
  });
});
