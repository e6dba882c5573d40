/**
 * Updates web/screenshots/*.png: starts a hardhat node, plays a short community day (four
 * households, several settled intervals), builds and serves the app, and photographs the main
 * pages in Debian's Chromium with the injected test wallet. Run from the project root:
 *   npm run web:screenshots
 */
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import {
  assertWebInstalled, buildApp, community, CREDIT, goToInterval, keeperUpTo, launchBrowser, missingPrerequisite, onboard, readInterval, serve,
  startNode, stopNode, walletScript, WEB,
} from "../../test/web/harness";

const OUT = path.join(WEB, "screenshots");

async function main(): Promise<void> {
  const missing = missingPrerequisite();
  if (missing) throw new Error(missing);
  assertWebInstalled();
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), "gl-web-shots-"));
  const node = await startNode(tmp);
  let server: Awaited<ReturnType<typeof serve>> | undefined;
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  let browser: any;
  try {
    const c = await community(node);
    const accounts = (await node.provider.send("eth_accounts", [])) as string[];
    const [alice, bob, carol, dave] = accounts.slice(1, 5);
    await onboard(c, alice, "alice", true, 500n * CREDIT);
    await onboard(c, bob, "bob", true, 0n);
    await onboard(c, carol, "carol", true, 0n);
    await onboard(c, dave, "dave", false, 500n * CREDIT);
    const as = async (a: string) => c.market.connect(await node.provider.getSigner(a));
    const cred = async (a: string) => c.credit.connect(await node.provider.getSigner(a));
    for (const a of [alice, dave]) {
      await (await (await cred(a)).approve(await c.market.getAddress(), 200n * CREDIT)).wait();
      await (await (await as(a)).deposit(200n * CREDIT)).wait();
    }
    await (await (await as(alice)).placeOrder(0, 240_000n, 0n, 0, 100_000)).wait();
    await (await (await as(bob)).placeOrder(1, 100_000n, 0n, 0, 100_000)).wait();
    await (await (await as(carol)).placeOrder(1, 140_000n, 1_500n, 0, 100_000)).wait();
    await (await (await as(dave)).placeOrder(0, 200_000n, 0n, 0, 100_000)).wait();
    const start = Number(await c.market.nextInterval());
    await goToInterval(c, start + 1);
    await readInterval(c, start, new Map());
    await keeperUpTo(c, start);
    // A morning: PV rises, loads vary.
    const pv = [200n, 900n, 1800n, 2600n, 3100n, 2800n, 2000n, 1100n];
    for (let i = 0; i < pv.length; i++) {
      const t = start + 1 + i;
      await goToInterval(c, t + 1);
      await readInterval(c, t, new Map([
        [alice.toLowerCase(), { importWh: 900n + BigInt(i % 3) * 250n, exportWh: pv[i] / 2n }],
        [bob.toLowerCase(), { importWh: 300n, exportWh: pv[i] }],
        [carol.toLowerCase(), { importWh: 400n, exportWh: (pv[i] * 3n) / 4n }],
        [dave.toLowerCase(), { importWh: 1200n + BigInt(i) * 100n, exportWh: 0n }],
      ]));
      await keeperUpTo(c, t);
    }
    server = await serve(buildApp(tmp, node));
    browser = await launchBrowser(tmp);
    fs.mkdirSync(OUT, { recursive: true });
    const shoot = async (hash: string, file: string, prepare?: (page: any) => Promise<void>) => { // eslint-disable-line @typescript-eslint/no-explicit-any
      const page = await browser.newPage();
      await page.addInitScript(walletScript(node.rpcUrl, alice));
      await page.goto(server!.url + hash);
      await page.getByRole("button", { name: "Connect wallet" }).first().click();
      await page.locator("#net", { hasText: "chain 31337" }).waitFor();
      await page.waitForTimeout(1500);
      if (prepare) await prepare(page);
      await page.screenshot({ path: path.join(OUT, file), fullPage: true });
      await page.close();
      console.log(`wrote web/screenshots/${file}`);
    };
    await shoot("#/me", "prosumer.png");
    await shoot("#/market", "market.png");
    await shoot("#/audit", "auditor.png", async (page) => {
      await page.locator(`[data-interval="${start + 5}"] button`).click();
      await page.waitForTimeout(300);
    });
  } finally {
    await browser?.close().catch(() => undefined);
    await server?.close();
    stopNode(node);
    fs.rmSync(tmp, { recursive: true, force: true });
  }
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
