/**
 * GridLedger web app: the prosumer's view (wallet, meters, energy, deposits, orders, bill), the
 * market view (prices, volume, book) and the auditor's view (re-clearing verdicts, drill-down,
 * statement export). Everything is derived from the deployment records, view calls and events.
 */
import "./style.css";
import { formatCredits, formatEnergy, parseCredits, parseEnergyWh, parsePricePerKWh } from "@sdk/units";
import { ORDER_INTENT_TYPES, OrderAction, Side, marketDomain } from "@sdk/eip712";
import { unsettledExportWh } from "@sdk/unsettled";
import { Chain, FriendlyError } from "./chain";
import { explain } from "./errors";
import { BILL_HEADER, STORAGE_KIND, billOf, billRow, buildLedger, positions, storageFlows, verify, type IntervalRec, type Ledger } from "./ledger";
import { chart, downloadCsv, html, mount, raw, short, type Html } from "./ui";

type View = "me" | "market" | "audit";
const $ = <T extends Element = HTMLElement>(sel: string) => document.querySelector(sel) as T | null;
const app = $("#app")!;

let chain: Chain;
let ledger: Ledger;
let clock = { marketStart: 0, intervalSeconds: 900, current: 0, next: 0 };
let view: View = "me";
let auditSelected: number | undefined;
let busy = false;

// ------------------------------------------------------------------ messages

function alertMsg(text: string | undefined, extra?: Html): void {
  const el = $("#alert")!;
  el.hidden = !text;
  mount(el, text ? html`${text} ${extra}` : html``);
}
function notice(text: string | undefined): void {
  const el = $("#notice")!;
  el.hidden = !text;
  el.textContent = text ?? "";
}

const timeOf = (t: number) => new Date((clock.marketStart + t * clock.intervalSeconds) * 1000).toISOString().slice(11, 16);
const label = (t: number) => `#${t} ${timeOf(t)}`;
const kwh = (wh: bigint) => Number(wh) / 1000;
/** Prices always in credits per kWh. */
const formatPricePerKWh = (p: bigint) => `${formatCredits(p)} credits/kWh`;
/** Meter registers and energies in one unit: kWh with three decimals (1 Wh). */
const kWhText = (wh: bigint) => `${(Number(wh) / 1000).toFixed(3)} kWh`;
const credits = (c: bigint) => `${formatCredits(c)}`;
const lc = (a: string) => a.toLowerCase();
/**
 * A meter's label: the name the operator registered it under (`gridledger meter register
 * alice-roof` stores keccak256("meter:alice-roof")), when the deployment file lists it in
 * `meterNames`, else "meter N".
 */
function meterLabel(id: string, index?: number): string {
  const names = (chain.deps as unknown as { meterNames?: Record<string, string> }).meterNames ?? {};
  return names[lc(id)] ?? (index === undefined ? "meter" : `meter ${index + 1}`);
}

// ------------------------------------------------------------------ wallet

function wrongNetwork(): boolean {
  return !!chain.wallet && chain.wallet.chainId !== chain.deps.chainId;
}

function showNetwork(): void {
  const w = chain.wallet;
  const net = $("#net")!;
  net.textContent = w ? `${short(w.address)} · chain ${w.chainId}` : `${chain.deps.network} · chain ${chain.deps.chainId} (read-only)`;
  $("#connect")!.textContent = w ? "Connected" : "Connect wallet";
  if (wrongNetwork()) {
    alertMsg(
      `Wrong network: your wallet is on chain ${w!.chainId}, but this GridLedger community runs on chain ${chain.deps.chainId} (${chain.deps.network}). Switch networks in your wallet.`,
      raw(`<button type="button" class="secondary" data-action="switch">Switch to chain ${chain.deps.chainId}</button>`),
    );
  }
}

async function connect(): Promise<void> {
  try {
    await chain.connect();
    alertMsg(undefined);
    showNetwork();
    await refresh();
  } catch (e) {
    alertMsg(explain(e, "connect the wallet"));
  }
}

/** Throws a sentence when the wallet cannot act: none, wrong chain, not a member. */
async function guard(): Promise<string> {
  const w = chain.wallet;
  if (!w) throw new FriendlyError("Connect your wallet first.");
  if (wrongNetwork()) throw new FriendlyError(`Wrong network: your wallet is on chain ${w.chainId}, this community runs on chain ${chain.deps.chainId}. Switch networks in your wallet and try again.`);
  if (!(await chain.read.registry.isActiveMember(w.address))) {
    throw new FriendlyError(`Not a member: ${w.address} is not an active member of this community. Ask the community operator to onboard this wallet.`);
  }
  return w.address;
}

async function act(action: string, fn: () => Promise<string | void>, contract = "EnergyMarket"): Promise<void> {
  if (busy) return;
  busy = true;
  document.querySelectorAll("button").forEach((b) => ((b as HTMLButtonElement).disabled = true));
  notice(`${action}: confirm in your wallet…`);
  alertMsg(undefined);
  try {
    const done = await fn();
    notice(done || `${action}: done.`);
  } catch (e) {
    notice(undefined);
    alertMsg(explain(e, action, contract));
  } finally {
    busy = false;
    document.querySelectorAll("button").forEach((b) => ((b as HTMLButtonElement).disabled = false));
    await refresh();
  }
}

// ------------------------------------------------------------------ actions

const val = (name: string) => ($<HTMLInputElement>(`[name="${name}"]`)?.value ?? "").trim();

async function deposit(): Promise<void> {
  await act("deposit", async () => {
    const me = await guard();
    const amount = parseCredits(val("depositAmount"), "deposit amount");
    if (amount === 0n) throw new FriendlyError("Enter an amount of credits to deposit.");
    const c = chain.write();
    const held = await chain.read.credit.balanceOf(me);
    if (held < amount) throw new FriendlyError(`Not enough credits in your wallet: you hold ${credits(held)}, ${credits(amount)} needed.`);
    const market = await c.market.getAddress();
    if ((await chain.read.credit.allowance(me, market)) < amount) {
      notice("deposit: approve the market to take the credits (1 of 2)…");
      await (await c.credit.approve(market, amount)).wait();
    }
    notice("deposit: confirm the deposit (2 of 2)…");
    await (await c.market.deposit(amount)).wait();
    return `Deposited ${credits(amount)} credits.`;
  });
}

async function withdraw(): Promise<void> {
  await act("withdraw", async () => {
    const me = await guard();
    const amount = parseCredits(val("withdrawAmount"), "withdraw amount");
    const have = await chain.read.market.depositOf(me);
    if (have < amount) throw new FriendlyError(`Insufficient deposit: you have ${credits(have)} credits deposited, ${credits(amount)} requested.`);
    await (await chain.write().market.withdraw(amount)).wait();
    return `Withdrew ${credits(amount)} credits.`;
  });
}

function orderForm() {
  const side = val("side") === "sell" ? Side.Sell : Side.Buy;
  const limit = parsePricePerKWh(val("limit"), "limit price");
  const cap = val("cap") ? parseEnergyWh(val("cap"), "cap per interval") : 0n;
  const first = Number(val("first"));
  const last = Number(val("last"));
  if (!Number.isInteger(first) || !Number.isInteger(last) || first < 0 || last < first) {
    throw new FriendlyError(`The intervals must be whole numbers with first <= last (got ${val("first")}…${val("last")}).`);
  }
  return { side, limit, cap, first, last, signed: val("mode") === "signed" };
}

async function order(kind: "place" | "update" | "cancel"): Promise<void> {
  await act(`${kind} order`, async () => {
    const me = await guard();
    const f = kind === "cancel" ? { ...orderFormLoose(), limit: 0n, cap: 0n, first: 0, last: 0 } : orderForm();
    const sideName = f.side === Side.Sell ? "sell" : "buy";
    const c = chain.write();
    if (f.signed) {
      const intent = {
        member: me,
        action: kind === "place" ? OrderAction.Place : kind === "update" ? OrderAction.Update : OrderAction.Cancel,
        side: f.side,
        limitPricePerKWh: f.limit,
        capWhPerInterval: f.cap,
        firstInterval: f.first,
        lastInterval: f.last,
        nonce: await chain.read.market.nonces(me),
        deadline: BigInt(Math.floor(Date.now() / 1000) + 3600),
      };
      notice(`${kind} order: sign the order intent in your wallet (EIP-712)…`);
      const domain = marketDomain(chain.deps.chainId, chain.deps.contracts.EnergyMarket.address);
      const signature = await chain.wallet!.signer.signTypedData(domain, ORDER_INTENT_TYPES, intent);
      mount(
        $("#intent"),
        html`<p class="muted">Signed order intent (anyone may relay it with <code>submitSignedOrder</code>):</p><pre>${JSON.stringify({ domain, intent, signature }, (_k, v) => (typeof v === "bigint" ? v.toString() : v), 2)}</pre>`,
      );
      notice(`${kind} order: relaying the signed intent…`);
      await (await c.market.submitSignedOrder(intent, signature)).wait();
    } else if (kind === "place") {
      await (await c.market.placeOrder(f.side, f.limit, f.cap, f.first, f.last)).wait();
    } else if (kind === "update") {
      await (await c.market.updateOrder(f.side, f.limit, f.cap, f.first, f.last)).wait();
    } else {
      await (await c.market.cancelOrder(f.side)).wait();
    }
    let msg = kind === "cancel" ? `Cancelled your ${sideName} order.` : `Your ${sideName} order at ${formatPricePerKWh(f.limit)} is on the book${f.signed ? " (signed intent relayed)" : ""}.`;
    if (kind !== "cancel" && f.side === Side.Buy && (await chain.read.market.depositOf(me)) === 0n) {
      msg += " Insufficient deposit: you have 0 credits deposited, so this buy order cannot buy anything until you deposit.";
    }
    return msg;
  });
}
function orderFormLoose() {
  return { side: val("side") === "sell" ? Side.Sell : Side.Buy, signed: val("mode") === "signed" };
}

function exportStatement(member?: string): void {
  const rows: (string | number | bigint)[][] = [BILL_HEADER];
  const members = member ? [member] : [...new Set([...ledger.intervals.values()].flatMap((r) => r.settlements.map((s) => s.member)))];
  for (const m of members) for (const b of billOf(ledger, m)) rows.push(billRow(m, b));
  rows.sort((a, b) => (a === BILL_HEADER ? -1 : b === BILL_HEADER ? 1 : Number(a[0]) - Number(b[0])));
  downloadCsv(member ? `gridledger-statement-${member.slice(0, 10)}.csv` : "gridledger-statement-all.csv", rows);
  notice(`Statement exported (${rows.length - 1} lines).`);
}

// ------------------------------------------------------------------ views

function layout(): void {
  document.querySelectorAll("[data-nav]").forEach((a) => a.classList.toggle("active", a.getAttribute("data-nav") === view));
  if (view === "me") {
    mount(app, html`
      <section id="membership"><h2>Membership and meters</h2><div data-slot="membership"></div></section>
      <section><h2>Production and consumption per interval</h2><div data-slot="energy"></div></section>
      <div class="grid2">
        <section><h2>Deposits and balances</h2><div data-slot="balances"></div>
          <form data-form="deposit"><label>Deposit (credits)<input name="depositAmount" value="100" inputmode="decimal"></label><button type="submit">Deposit</button></form>
          <form data-form="withdraw" style="margin-top:.5rem"><label>Withdraw (credits)<input name="withdrawAmount" value="10" inputmode="decimal"></label><button type="submit" class="secondary">Withdraw</button></form>
        </section>
        <section><h2>Standing orders</h2><div data-slot="orders"></div>
          <form data-form="order">
            <label>Side<select name="side"><option value="buy">Buy</option><option value="sell">Sell</option></select></label>
            <label>Limit (credits/kWh)<input name="limit" value="0.20" inputmode="decimal"></label>
            <label>Cap per interval (Wh, empty = none)<input name="cap" value=""></label>
            <label>First interval<input name="first" inputmode="numeric"></label>
            <label>Last interval<input name="last" inputmode="numeric"></label>
            <label>Sign as<select name="mode"><option value="signed">EIP-712 intent</option><option value="tx">Transaction</option></select></label>
            <button type="button" data-action="place">Place</button>
            <button type="button" data-action="update" class="secondary">Update</button>
            <button type="button" data-action="cancel" class="danger">Cancel</button>
          </form>
          <div id="intent"></div>
        </section>
      </div>
      <section><h2>My results and bill</h2><div data-slot="bill"></div></section>`);
  } else if (view === "market") {
    mount(app, html`
      <section><h2>Clearing price and volume</h2><div data-slot="prices"></div></section>
      <section><h2>Community storage: charge and discharge</h2><div data-slot="storage"></div></section>
      <section><h2>Order book</h2><div data-slot="book"></div></section>`);
  } else {
    mount(app, html`
      <section><h2>Audit: every interval re-cleared from events</h2>
        <p class="muted">Each cleared interval is re-computed with the project's clearing function from the readings, orders, deposits and tariffs in the events, and compared with <code>IntervalCleared</code>, <code>Traded</code> and <code>MemberSettled</code>.</p>
        <button type="button" data-action="export-all">Export statement (CSV)</button>
        <div data-slot="verdicts"></div></section>
      <section id="drill"><div data-slot="drill"></div></section>`);
  }
}

async function renderMe(): Promise<void> {
  const w = chain.wallet;
  // The forms act for a member: usable only with a connected wallet of an active member.
  const setForms = (enabled: boolean, why: string) =>
    document.querySelectorAll("[data-form] input, [data-form] select, [data-form] button").forEach((el) => {
      (el as HTMLInputElement).disabled = !enabled;
      if (enabled) el.removeAttribute("title");
      else el.setAttribute("title", why);
    });
  if (!w) {
    mount($("[data-slot=membership]"), html`<p>Connect a wallet (MetaMask or any EIP-1193 wallet) to see your meters, energy, deposits, orders and bill.</p><button type="button" data-action="connect">Connect wallet</button>`);
    for (const s of ["energy", "balances", "orders", "bill"]) mount($(`[data-slot=${s}]`), html`<p class="muted">Not connected.</p>`);
    setForms(false, "Connect your wallet first");
    return;
  }
  const me = w.address;
  const r = chain.read;
  const [member, meterIds, held, deposited, buy, sell] = await Promise.all([
    r.registry.memberOf(me), r.registry.metersOf(me), r.credit.balanceOf(me), r.market.depositOf(me), r.market.orderOf(me, 0), r.market.orderOf(me, 1),
  ]);
  const status = ["not a member", "active", "suspended", "removed", "migrated"][Number(member.status)];
  const kind = ["—", "consumer", "prosumer", "storage"][Number(member.kind)];
  const meters = await Promise.all(meterIds.map(async (id) => ({ id, m: await r.registry.meterOf(id), s: await r.readings.meterState(id) })));
  // The person navigated away while the chain answered: nothing of this view (nor its alert) belongs there.
  if (view !== "me") return;
  if (Number(member.status) !== 1 && !wrongNetwork()) {
    alertMsg(`Not a member: ${me} is ${status} in this community, so it cannot deposit or trade. Ask the community operator to onboard this wallet.`);
  }
  setForms(Number(member.status) === 1 && !wrongNetwork(), "Only an active member can deposit or trade");
  if (Number(member.status) === 0) {
    // Nothing to chart for a wallet that never joined: say so instead of empty axes.
    mount($("[data-slot=membership]"), html`<div class="cards"><div class="card"><b data-testid="member-status">not a member</b><span>${me}</span></div></div>
      <p data-testid="not-member">This wallet is not a member of this community: it has no meters, energy, deposits, orders or bill here. Ask the community operator to onboard it (<code>gridledger member add</code>), or connect a member's wallet.</p>`);
    for (const sl of ["energy", "balances", "orders", "bill"]) mount($(`[data-slot=${sl}]`), html`<p class="muted">Not a member.</p>`);
    return;
  }
  mount($("[data-slot=membership]"), html`
    <div class="cards">
      <div class="card"><b data-testid="member-status">${status}</b><span>membership (${kind})</span></div>
      <div class="card"><b>${meterIds.length}</b><span>meters</span></div>
      <div class="card"><b>#${clock.current}</b><span>current interval (${timeOf(clock.current)} UTC)</span></div>
    </div>
    ${meters.length ? html`<table data-testid="meters"><tr><th>meter</th><th>id</th><th>zone</th><th class="num">max power</th><th class="num">import register</th><th class="num">export register</th><th class="num">last interval</th></tr>
      ${meters.map(({ id, m, s }, i) => html`<tr><td>${meterLabel(id, i)}</td><td><code title="${id}">${short(id)}</code></td><td>${m.zone}</td><td class="num">${(Number(m.maxPowerW) / 1000).toFixed(1)} kW</td><td class="num">${kWhText(s.importWhTotal)}</td><td class="num">${kWhText(s.exportWhTotal)}</td><td class="num">${s.hasReading ? s.lastInterval : "—"}</td></tr>`)}</table>` : ""}`);

  // energy per interval
  const mine = [...ledger.intervals.values()].filter((x) => positions(x).has(lc(me))).sort((a, b) => a.interval - b.interval).slice(-48);
  const pos = mine.map((x) => positions(x).get(lc(me))!);
  mount($("[data-slot=energy]"), chart("energy-chart", mine.map((x) => label(x.interval)), [
    { label: "production (kWh exported)", color: "#10b981", kind: "bar", values: pos.map((p) => kwh(p.exportWh)) },
    { label: "consumption (kWh imported)", color: "#f59e0b", kind: "bar", values: pos.map((p) => kwh(p.importWh)) },
  ], { left: "kWh per interval" }));

  const energyHeld = unsettledExportWh(
    [...ledger.intervals.values()].map((x) => ({ interval: x.interval, exportWh: positions(x).get(lc(me))?.exportWh ?? 0n })),
    clock.next,
  );
  mount($("[data-slot=balances]"), html`<div class="cards">
    <div class="card"><b data-testid="deposit">${credits(deposited)}</b><span>credits deposited in the market</span></div>
    <div class="card"><b>${credits(held)}</b><span>credits in your wallet</span></div>
    <div class="card"><b>${formatEnergy(energyHeld)}</b><span>unsettled production</span></div></div>`);

  const row = (name: string, o: typeof buy) =>
    o.orderId === 0n ? html`<tr><td>${name}</td><td colspan="4" class="muted">none</td></tr>`
      : html`<tr data-testid="order-${name}"><td>${name}</td><td class="num">#${o.orderId}</td><td class="num">${formatPricePerKWh(o.limitPricePerKWh)}</td><td class="num">${o.capWhPerInterval === 0n ? "no cap" : formatEnergy(o.capWhPerInterval)}</td><td>${o.firstInterval}…${o.lastInterval}${o.lastInterval < BigInt(clock.next) ? " (expired)" : ""}</td></tr>`;
  mount($("[data-slot=orders]"), html`<table><tr><th>side</th><th class="num">order</th><th class="num">limit</th><th class="num">cap</th><th>intervals</th></tr>${row("buy", buy)}${row("sell", sell)}</table>`);
  const first = $<HTMLInputElement>("[name=first]")!, last = $<HTMLInputElement>("[name=last]")!;
  if (!first.value) first.value = String(clock.next);
  if (!last.value) last.value = String(clock.current + 96);

  const bill = billOf(ledger, me);
  const sum = (f: (b: (typeof bill)[number]) => bigint) => bill.reduce((s, b) => s + f(b), 0n);
  mount($("[data-slot=bill]"), html`
    <div class="cards">
      <div class="card"><b data-testid="bill-net">${credits(sum((b) => b.netCredits))}</b><span>my net bill (credits)</span></div>
      <div class="card"><b>${credits(sum((b) => b.gridOnlyCredits))}</b><span>grid-only would have cost</span></div>
      <div class="card"><b data-testid="saving">${credits(sum((b) => b.savingCredits))}</b><span>saving against grid-only</span></div>
      <div class="card"><b>${formatEnergy(sum((b) => b.soldWh))} / ${formatEnergy(sum((b) => b.boughtWh))}</b><span>sold / bought to/from neighbours</span></div>
    </div>
    <p><button type="button" data-action="export-me">Export my statement (CSV)</button></p>
    <table data-testid="results"><tr><th>interval</th><th class="num">price</th><th class="num">self-supply</th><th class="num">sold</th><th>to</th><th class="num">bought</th><th>from</th><th class="num">grid in/out</th><th class="num">net</th><th class="num">saving</th></tr>
    ${bill.slice().reverse().map((b) => html`<tr><td>${label(b.interval)}</td><td class="num">${formatPricePerKWh(b.pricePerKWh)}</td><td class="num">${formatEnergy(b.selfSupplyWh)}</td>
      <td class="num">${formatEnergy(b.soldWh)}</td><td>${b.soldTo.map((s) => short(s.split(" ")[0]) + " " + s.split(" ")[1] + " Wh").join(", ")}</td>
      <td class="num">${formatEnergy(b.boughtWh)}</td><td>${b.boughtFrom.map((s) => short(s.split(" ")[0]) + " " + s.split(" ")[1] + " Wh").join(", ")}</td>
      <td class="num">${formatEnergy(b.gridImportWh)} / ${formatEnergy(b.gridExportWh)}</td><td class="num">${credits(b.netCredits)}</td><td class="num">${credits(b.savingCredits)}</td></tr>`)}
    </table>${bill.length ? "" : html`<p class="muted">No settled interval with your meters yet.</p>`}`);
}

function renderMarket(): void {
  const cleared = [...ledger.intervals.values()].filter((r) => r.cleared).sort((a, b) => a.interval - b.interval).slice(-96);
  const last = cleared[cleared.length - 1]?.cleared;
  mount($("[data-slot=prices]"), html`
    <div class="cards">
      <div class="card"><b>${last ? formatPricePerKWh(last.pricePerKWh) : "—"}</b><span>last clearing price</span></div>
      <div class="card"><b>${last ? formatPricePerKWh(last.retailPerKWh) : "—"} / ${last ? formatPricePerKWh(last.feedInPerKWh) : "—"}</b><span>retail / feed-in tariff</span></div>
      <div class="card"><b>#${clock.next}</b><span>next interval to clear</span></div>
    </div>
    ${chart("price-chart", cleared.map((r) => label(r.interval)), [
      { label: "matched volume (kWh)", color: "#93c5fd", kind: "bar", values: cleared.map((r) => kwh(r.cleared!.matchedWh)) },
      // No trade, no price: a gap in the line rather than a drop to 0.
      { label: "clearing price (credits/kWh)", color: "#047857", kind: "line", right: true, values: cleared.map((r) => (r.cleared!.matchedWh > 0n ? Number(r.cleared!.pricePerKWh) / 1e6 : NaN)) },
    ], { left: "kWh matched", right: "credits/kWh" })}`);
  renderStorage(cleared);
  const live = [...ledger.orders.values()].filter((o) => o.lastInterval >= clock.next);
  const asks = live.filter((o) => o.side === "sell").sort((a, b) => (a.limitPricePerKWh < b.limitPricePerKWh ? -1 : 1));
  const bids = live.filter((o) => o.side === "buy").sort((a, b) => (a.limitPricePerKWh > b.limitPricePerKWh ? -1 : 1));
  const levels = new Map<bigint, { bids: number; asks: number; bidCap: bigint; askCap: bigint }>();
  for (const o of live) {
    const l = levels.get(o.limitPricePerKWh) ?? { bids: 0, asks: 0, bidCap: 0n, askCap: 0n };
    if (o.side === "buy") (l.bids++, (l.bidCap += o.capWhPerInterval));
    else (l.asks++, (l.askCap += o.capWhPerInterval));
    levels.set(o.limitPricePerKWh, l);
  }
  const maxN = Math.max(1, ...[...levels.values()].map((l) => Math.max(l.bids, l.asks)));
  const ladder = [...levels.entries()].sort((a, b) => (a[0] > b[0] ? -1 : 1));
  mount($("[data-slot=book]"), html`
    <p class="muted">Live standing orders (interval #${clock.next} on) by limit price: ${bids.length} buy, ${asks.length} sell. The auction uses metered quantities, so depth is counted in orders (caps shown where set).</p>
    <table data-testid="book"><tr><th class="num">buy orders</th><th class="num">buy caps</th><th class="num">limit price</th><th>sell orders</th><th>sell caps</th></tr>
    ${ladder.map(([p, l]) => html`<tr><td class="num">${l.bids || ""} <span class="bar" style="${`width:${(60 * l.bids) / maxN}px;background:#f59e0b`}"></span></td><td class="num">${l.bidCap ? formatEnergy(l.bidCap) : l.bids ? "no cap" : ""}</td>
      <td class="num"><b>${formatPricePerKWh(p)}</b></td><td><span class="bar" style="${`width:${(60 * l.asks) / maxN}px;background:#10b981`}"></span> ${l.asks || ""}</td><td>${l.askCap ? formatEnergy(l.askCap) : l.asks ? "no cap" : ""}</td></tr>`)}
    </table>${ladder.length ? "" : html`<p class="muted">The book is empty.</p>`}`);
}

/** The community batteries (storage members): charge and discharge per interval, from their meters' readings. */
function renderStorage(cleared: IntervalRec[]): void {
  const slot = $("[data-slot=storage]");
  if (!slot) return;
  const batteries = [...ledger.kinds.values()].filter((v) => v === STORAGE_KIND).length;
  if (!batteries) {
    mount(slot, html`<p class="muted">No storage member (battery) in this community.</p>`);
    return;
  }
  const flows = cleared.map((r) => storageFlows(ledger, r));
  const total = (f: (x: (typeof flows)[number]) => bigint) => flows.reduce((s, x) => s + f(x), 0n);
  mount(slot, html`
    <div class="cards">
      <div class="card"><b data-testid="storage-charge">${formatEnergy(total((x) => x.chargeWh))}</b><span>charged (bought) by ${batteries} battery member(s)</span></div>
      <div class="card"><b data-testid="storage-discharge">${formatEnergy(total((x) => x.dischargeWh))}</b><span>discharged (sold)</span></div>
    </div>
    ${chart("storage-chart", cleared.map((r) => label(r.interval)), [
      { label: "battery charge (kWh)", color: "#6366f1", kind: "bar", values: flows.map((x) => kwh(x.chargeWh)) },
      { label: "battery discharge (kWh)", color: "#f97316", kind: "bar", values: flows.map((x) => kwh(x.dischargeWh)) },
    ], { left: "kWh" })}`);
}

function renderAudit(): void {
  // Every interval the market cleared or settled counts, with or without readings.
  const recs = [...ledger.intervals.values()].filter((r) => r.collected || r.cleared || r.settled || r.readings.length).sort((a, b) => b.interval - a.interval);
  const verdicts = new Map(recs.map((r) => [r.interval, verify(r)]));
  const badge = (s: string) => html`<span class="badge ${s === "ok" ? "ok" : s === "mismatch" ? "mismatch" : "pending"}">${s === "ok" ? "✓ verified" : s}</span>`;
  const bad = [...verdicts.values()].filter((v) => v.state === "mismatch").length;
  mount($("[data-slot=verdicts]"), html`
    <p><b data-testid="audit-summary">${bad ? `${bad} interval(s) differ from the re-clearing` : `${[...verdicts.values()].filter((v) => v.state === "ok").length} interval(s) verified, none differ`}</b>
      <span class="muted" data-testid="audit-settled">(${recs.filter((r) => r.settled).length} settled interval(s) on chain)</span></p>
    <table data-testid="verdicts"><tr><th>interval</th><th class="num">readings</th><th class="num">participants</th><th class="num">price</th><th class="num">matched</th><th class="num">fills</th><th>verdict</th><th></th></tr>
    ${recs.map((r) => html`<tr class="${r.interval === auditSelected ? "sel" : ""}" data-interval="${r.interval}"><td>${label(r.interval)}</td><td class="num">${r.readings.length}</td><td class="num">${r.cleared?.participants ?? ""}</td>
      <td class="num">${r.cleared ? formatPricePerKWh(r.cleared.pricePerKWh) : ""}</td><td class="num">${r.cleared ? formatEnergy(r.cleared.matchedWh) : ""}</td><td class="num">${r.trades.length}</td>
      <td>${badge(verdicts.get(r.interval)!.state)}</td><td><button type="button" class="secondary" data-action="drill" data-t="${r.interval}">Details</button></td></tr>`)}
    </table>`);
  const r = auditSelected !== undefined ? ledger.intervals.get(auditSelected) : undefined;
  const drill = $("#drill")!;
  drill.hidden = !r;
  if (!r) return;
  const v = verdicts.get(r.interval)!;
  mount($("[data-slot=drill]"), html`
    <h2>Interval ${label(r.interval)} — ${badge(v.state)}</h2>
    ${v.problems.length ? html`<ul>${v.problems.map((p) => html`<li>${p}</li>`)}</ul>` : ""}
    ${r.cleared ? html`<p>Cleared at <b>${formatPricePerKWh(r.cleared.pricePerKWh)}</b>, ${formatEnergy(r.cleared.matchedWh)} matched; tariffs retail ${formatPricePerKWh(r.cleared.retailPerKWh)}, feed-in ${formatPricePerKWh(r.cleared.feedInPerKWh)}. Re-clearing: ${v.result ? `${formatPricePerKWh(v.result.pricePerKWh)}, ${formatEnergy(v.result.matchedWh)}` : "—"}.</p>` : html`<p class="muted">Not cleared yet.</p>`}
    <h3>Fills</h3>
    <table data-testid="fills"><tr><th>seller</th><th>buyer</th><th class="num">energy</th><th class="num">price</th><th class="num">credits</th></tr>
      ${r.trades.map((t) => html`<tr><td><code>${t.seller}</code></td><td><code>${t.buyer}</code></td><td class="num">${formatEnergy(t.wh)}</td><td class="num">${formatPricePerKWh(t.pricePerKWh)}</td><td class="num">${credits(t.credits)}</td></tr>`)}</table>
    <h3>Readings</h3>
    <table><tr><th>meter</th><th>owner</th><th class="num">import</th><th class="num">export</th><th class="num">registers (in / out)</th></tr>
      ${r.readings.map((x) => html`<tr><td>${meterLabel(x.meterId)} <code>${short(x.meterId)}</code></td><td><code>${x.owner}</code></td><td class="num">${formatEnergy(x.importWh)}</td><td class="num">${formatEnergy(x.exportWh)}</td><td class="num">${x.importWhTotal} / ${x.exportWhTotal}${x.unbookedImportWh + x.unbookedExportWh > 0n ? ` (grid, not traded: ${formatEnergy(x.unbookedImportWh)} in / ${formatEnergy(x.unbookedExportWh)} out)` : ""}</td></tr>`)}</table>
    <h3>Settlements</h3>
    <table><tr><th>member</th><th class="num">self-supply</th><th class="num">sold</th><th class="num">bought</th><th class="num">grid out</th><th class="num">grid in</th><th class="num">paid</th><th class="num">received</th></tr>
      ${r.settlements.map((s) => html`<tr><td><code>${s.member}</code></td><td class="num">${formatEnergy(s.selfSupplyWh)}</td><td class="num">${formatEnergy(s.soldWh)}</td><td class="num">${formatEnergy(s.boughtWh)}</td><td class="num">${formatEnergy(s.gridExportWh)}</td><td class="num">${formatEnergy(s.gridImportWh)}</td><td class="num">${credits(s.paidCredits)}</td><td class="num">${credits(s.receivedCredits)}</td></tr>`)}</table>`);
}

// ------------------------------------------------------------------ refresh loop

let refreshing: Promise<void> | undefined;
let refreshAgain = false;
/** Re-reads the chain and re-renders the view; a call during a refresh runs one more after it. */
async function refresh(): Promise<void> {
  if (refreshing) {
    refreshAgain = true;
    return refreshing;
  }
  refreshAgain = false;
  refreshing = (async () => {
    try {
      await chain.sync();
      ledger = buildLedger(chain.events);
      const [current, next] = await Promise.all([chain.read.readings.currentInterval(), chain.read.market.nextInterval()]);
      clock = { ...clock, current: Number(current), next: Number(next) };
      if (view === "me") await renderMe();
      else if (view === "market") renderMarket();
      else renderAudit();
      document.body.dataset.block = String(await chain.reader.getBlockNumber());
    } catch (e) {
      alertMsg(explain(e, "read the chain"));
    }
  })().finally(() => {
    refreshing = undefined;
    if (refreshAgain) void refresh();
  });
  return refreshing;
}

function route(): void {
  // A message belongs to the view it was shown on.
  alertMsg(undefined);
  notice(undefined);
  const h = location.hash.replace(/^#\/?/, "").split("/")[0];
  view = h === "market" || h === "audit" ? h : "me";
  layout();
  void refresh();
}

// ------------------------------------------------------------------ start

async function start(): Promise<void> {
  try {
    chain = await Chain.load();
  } catch (e) {
    mount(app, html`<section><h2>Not deployed yet</h2><p>${(e as Error).message}</p></section>`);
    return;
  }
  try {
    const [ms, len] = await Promise.all([chain.read.readings.marketStart(), chain.read.readings.intervalSeconds()]);
    clock.marketStart = Number(ms);
    clock.intervalSeconds = Number(len);
  } catch (e) {
    mount(app, html`<section><h2>Cannot reach the chain</h2><p>${explain(e, "read the chain")} (RPC ${chain.deps.rpcUrl})</p></section>`);
    return;
  }
  showNetwork();
  document.addEventListener("click", (ev) => {
    const t = (ev.target as Element).closest("[data-action]");
    if (!t) return;
    const a = t.getAttribute("data-action");
    if (a === "connect") void connect();
    else if (a === "place" || a === "update" || a === "cancel") void order(a);
    else if (a === "export-me" && chain.wallet) exportStatement(chain.wallet.address);
    else if (a === "export-all") exportStatement();
    else if (a === "drill") ((auditSelected = Number(t.getAttribute("data-t"))), renderAudit(), $("#drill")?.scrollIntoView());
    else if (a === "switch") void chain.wallet?.provider.send("wallet_switchEthereumChain", [{ chainId: "0x" + chain.deps.chainId.toString(16) }]).catch((e) => alertMsg(explain(e, "switch network")));
  });
  const connectButton = $("#connect")!;
  connectButton.addEventListener("click", () => void connect());
  // Disabled in index.html until here: a click before the handlers exist would be lost.
  connectButton.removeAttribute("disabled");
  connectButton.removeAttribute("title");
  document.addEventListener("submit", (ev) => {
    ev.preventDefault();
    const f = (ev.target as Element).getAttribute("data-form");
    if (f === "deposit") void deposit();
    else if (f === "withdraw") void withdraw();
  });
  const eth = (window as unknown as { ethereum?: { on?: (e: string, f: (x: unknown) => void) => void } }).ethereum;
  eth?.on?.("chainChanged", () => chain.wallet && void connect());
  eth?.on?.("accountsChanged", () => chain.wallet && void connect());
  window.addEventListener("hashchange", route);
  route();
  setInterval(() => !busy && void refresh(), 2000);
}

void start();
