import { planCommunity } from "../src/demo/community";
import { DEFAULT_OPTIONS } from "../src/demo/options";
import { simulateInterval } from "../src/sim/household";
import { clearInterval, ClearingInput, ClearingOrder } from "../src/sdk/clearing";
import { Battery, splitRoundTrip } from "../src/sim/battery";
import { dispatchBattery } from "../src/sim/dispatch";
import { decide } from "../src/agent/storage/strategy";
import { forecast, IntervalHistory } from "../src/agent/storage/forecast";
const kwh = Number(process.argv[2] ?? 50), share = BigInt(process.argv[3] ?? 300000), soc0 = Number(process.argv[4] ?? 0), margin = BigInt(process.argv[5] ?? 5000);
const tariffs = { retailPerKWh: 300000n, feedInPerKWh: 80000n };
const c = planCommunity(DEFAULT_OPTIONS, tariffs);
const orders: ClearingOrder[] = []; let id = 1n;
for (const m of c.members) for (const o of m.orders) orders.push({ orderId: id++, member: m.wallet.address, side: o.side, limitPricePerKWh: o.limitPricePerKWh, capWhPerInterval: o.capWhPerInterval });
const B = "0x00000000000000000000000000000000000000bb";
const batt = new Battery({ capacityWh: BigInt(kwh*1000), powerW: BigInt(kwh*500), ...splitRoundTrip(900_000n), socWh: BigInt(Math.round(soc0*kwh*1000)) });
const hist: IntervalHistory[] = []; const purch: [bigint,bigint][] = [];
let dem=0n, local=0n, p2p=0n, bPaid=0n, bRecv=0n, dep = 60_000_000n;
for (let k=0;k<96;k++){
  if (c.schedule.updateAt === k) for (const m of c.members) if (m.update) { const o = orders.find(o => o.member === m.wallet.address && o.side === m.update!.side)!; o.limitPricePerKWh = m.update.limitPricePerKWh; o.orderId = id++; }
  const members = c.members.filter(m => m.joinsAt === undefined || k >= m.joinsAt).map(m => { const e = simulateInterval(m.household, k); return { member: m.wallet.address, importWh: e.importWh, exportWh: e.exportWh, active: !(m.suspendedAt !== undefined && k >= m.suspendedAt && k < (m.reinstatedAt ?? 1e9)), availableCredits: m.orders.some(o=>o.side==="buy") ? 60_000_000n : 0n }; }).filter(m=>m.importWh>0n||m.exportWh>0n);
  const input: ClearingInput = { interval: k, feedInTariffPerKWh: 80000n, retailTariffPerKWh: 300000n, members, orders: [...orders] };
  const pw = purch.reduce((s,p)=>s+p[0],0n), pc = purch.reduce((s,p)=>s+p[1],0n);
  const d = decide({ interval: k, intervalSeconds: 900, spec: batt.spec, socWh: batt.socWh, tariffs, forecast: forecast(hist, { from: k, horizon: 96, intervalsPerDay: 96, days: 7 }), costBasisPerKWh: pw ? (pc*1000n+pw-1n)/pw : 0n, marginPerKWh: margin, fallbackBuySharePpm: share, depositCredits: dep });
  if (d.buy) input.orders.push({ orderId: 1000n+BigInt(k)*2n, member: B, side: "buy", ...d.buy });
  if (d.sell) input.orders.push({ orderId: 1001n+BigInt(k)*2n, member: B, side: "sell", ...d.sell });
  const f = dispatchBattery(input, B, batt, dep);
  batt.charge(f.importWh); batt.discharge(f.exportWh);
  const all = (f.importWh||f.exportWh) ? { ...input, members: [...members, { member: B, importWh: f.importWh, exportWh: f.exportWh, active: true, availableCredits: dep }] } : input;
  const r = clearInterval(all);
  p2p += r.matchedWh;
  let sur=0n, def=0n;
  for (const m of r.members) { if (m.member===B) { bPaid+=m.paidCredits; bRecv+=m.receivedCredits; dep += m.receivedCredits - m.paidCredits; if (m.boughtWh) purch.push([m.boughtWh, m.paidCredits]); continue; } dem += m.importWh; local += m.selfSupplyWh + m.boughtWh; sur += m.gridExportWh; def += m.gridImportWh; }
  hist.push({ interval: k, pricePerKWh: r.pricePerKWh, matchedWh: r.matchedWh, surplusWh: sur, deficitWh: def });
  if (process.env.V && k%4==0) console.error(k, d.buy?.limitPricePerKWh, d.sell?.limitPricePerKWh, d.basis.costBasisPerKWh, batt.socWh, f);
}
console.log(`kwh ${kwh} share ${share} soc0 ${soc0} margin ${margin}: self-suff ${(Number(local*10000n/dem)/100)}% p2p ${Number(p2p)/1000} batt paid ${Number(bPaid)/1e6} recv ${Number(bRecv)/1e6} net ${Number(bRecv-bPaid)/1e6} soc ${batt.socWh} cycles ${Number(batt.cyclesPpm)/1e6}`);
