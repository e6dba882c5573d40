/**
 * The storage agent's decision for one interval, as a pure function: the buy (charge) and sell
 * (discharge) orders the battery should hold, each with its reason.
 *
 * Rules, in order:
 * 1. Round trip: `eta = charge * discharge` (ppm). A Wh bought at price p and sold back costs
 *    `p / eta` per Wh sold.
 * 2. Buy limit B: the lower quartile of the forecast prices of the coming slots where the
 *    community had a surplus (their same-time-of-day averages), at most the tariff fallback
 *    `feedIn + share * spread` (`fallbackBuySharePpm`), which is B without history. A battery
 *    that paid what its neighbours pay at the margin would need a sell limit few of them accept.
 *    B never exceeds `(retail - margin) * eta`: above it no sale could be profitable, as no
 *    buyer pays more than retail.
 * 3. Sell limit S = ceil(max(B, costBasis) / eta) + margin: every cycle is profitable after the
 *    round-trip losses, both for energy bought at the current limit and for energy in store
 *    (whose cost basis is the average price the battery paid). S >= B / eta + margin always.
 * 4. Caps (Wh per interval at the meter) never exceed the power over one interval, the room
 *    left (buy) or the energy in store (sell) after losses. A side whose cap would be 0 has no
 *    order at all (an order cap of 0 would mean "no cap" on chain), so the battery never bids
 *    beyond its capacity and never offers energy it does not hold.
 * 5. Volumes: when the forecast unmet demand of the whole horizon is already covered by the
 *    energy in store, the agent does not buy more (it could not sell it). This needs history for
 *    every slot of the horizon; with gaps (a young market) it buys up to capacity.
 * 6. A buy order is only worth holding when the deposit can pay for something at B.
 */
import type { BatterySpec } from "../../sim/battery";
import { maxExportWh, maxImportWh, PPM } from "../../sim/battery";
import type { SlotForecast } from "./forecast";

export interface OrderDecision {
  limitPricePerKWh: bigint;
  /** Always > 0 (a side with nothing to do has no order). */
  capWhPerInterval: bigint;
}

export interface Decision {
  interval: number;
  buy?: OrderDecision;
  sell?: OrderDecision;
  /** Why each side is what it is, in words (logged with the decision). */
  reasons: { buy: string; sell: string };
  /** Figures behind the decision (logged). */
  basis: { buyLimitPerKWh: bigint; minSellPerKWh: bigint; costBasisPerKWh: bigint; roundTripPpm: bigint; socWh: bigint; forecastSource: "history" | "tariffs" };
}

export interface DecisionInput {
  /** The interval the orders are for (it has not ended yet). */
  interval: number;
  intervalSeconds: number;
  spec: BatterySpec;
  /** Energy in store at the start of `interval`. */
  socWh: bigint;
  tariffs: { retailPerKWh: bigint; feedInPerKWh: bigint };
  /** Slots from `interval` on (see `forecast`). */
  forecast: SlotForecast[];
  /** Average price paid per kWh (metered import) for the energy in store; 0n when unknown. */
  costBasisPerKWh: bigint;
  /** Profit kept on every cycle, per kWh sold. */
  marginPerKWh: bigint;
  /** Tariff fallback of the buy limit: share of the spread above feed-in, in ppm. */
  fallbackBuySharePpm: bigint;
  /** Credits in the market the buy order may spend. */
  depositCredits: bigint;
}

const ceilDiv = (a: bigint, b: bigint) => (a + b - 1n) / b;
const max = (a: bigint, b: bigint) => (a > b ? a : b);
const min = (a: bigint, b: bigint) => (a < b ? a : b);

/** The lower quartile (the cheaper surplus slots are the ones worth charging in). */
function lowQuartile(xs: bigint[]): bigint {
  const s = [...xs].sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
  return s[Math.floor((s.length - 1) / 4)];
}

export function decide(i: DecisionInput): Decision {
  const { retailPerKWh: retail, feedInPerKWh: feedIn } = i.tariffs;
  const eta = (i.spec.chargeEfficiencyPpm * i.spec.dischargeEfficiencyPpm) / PPM;
  const maxProfitableBuy = ((retail - i.marginPerKWh) * eta) / PPM;

  const surplusPrices = i.forecast.filter((f) => f.pricePerKWh !== undefined && f.surplusWh > f.deficitWh).map((f) => f.pricePerKWh!);
  const hasHistory = i.forecast.some((f) => f.samples > 0);
  const fullHistory = i.forecast.length > 0 && i.forecast.every((f) => f.samples > 0);
  const fromTariffs = feedIn + ((retail - feedIn) * i.fallbackBuySharePpm) / PPM;
  let buyLimit = surplusPrices.length ? lowQuartile(surplusPrices) : fromTariffs;
  if (buyLimit > fromTariffs) buyLimit = fromTariffs;
  buyLimit = min(max(buyLimit, feedIn + 1n), maxProfitableBuy);
  const costBasis = i.costBasisPerKWh > 0n ? i.costBasisPerKWh : buyLimit;
  const minSell = ceilDiv(max(buyLimit, costBasis) * PPM, eta) + i.marginPerKWh;

  const basis = { buyLimitPerKWh: buyLimit, minSellPerKWh: minSell, costBasisPerKWh: costBasis, roundTripPpm: eta, socWh: i.socWh, forecastSource: (hasHistory ? "history" : "tariffs") as "history" | "tariffs" };
  const d: Decision = { interval: i.interval, reasons: { buy: "", sell: "" }, basis };
  const src = surplusPrices.length ? `lower quartile of the forecast prices of ${surplusPrices.length} surplus slots, at most the tariff fallback` : `tariff fallback feed-in + ${Number(i.fallbackBuySharePpm) / 1e4}% of the spread`;

  // ---- sell (discharge)
  const sellCap = maxExportWh(i.spec, i.socWh, i.intervalSeconds);
  if (sellCap === 0n) d.reasons.sell = `no sell order: nothing to discharge (SoC ${i.socWh} Wh)`;
  else if (minSell > retail) d.reasons.sell = `no sell order: the profitable price ${minSell}/kWh (cost basis ${costBasis} / round trip ${eta} ppm + margin) is above retail ${retail}, nobody would buy`;
  else {
    d.sell = { limitPricePerKWh: minSell, capWhPerInterval: sellCap };
    d.reasons.sell = `sell up to ${sellCap} Wh at >= ${minSell}/kWh: max(buy limit ${buyLimit}, cost basis ${costBasis}) / round trip ${eta} ppm + margin ${i.marginPerKWh}; cap = min(power, energy in store after losses)`;
  }

  // ---- buy (charge)
  const room = maxImportWh(i.spec, i.socWh, i.intervalSeconds);
  const storedSellable = (i.socWh * i.spec.dischargeEfficiencyPpm) / PPM;
  const demandAhead = i.forecast.reduce((s, f) => s + f.deficitWh, 0n);
  const affordable = buyLimit > 0n ? (i.depositCredits * 1000n) / buyLimit : 0n;
  if (room === 0n) d.reasons.buy = `no buy order: the battery is full (SoC ${i.socWh} of ${i.spec.capacityWh} Wh)`;
  else if (maxProfitableBuy <= feedIn) d.reasons.buy = `no buy order: no price above feed-in ${feedIn} leaves a profit after round trip ${eta} ppm below retail ${retail}`;
  else if (fullHistory && demandAhead <= storedSellable) d.reasons.buy = `no buy order: the energy in store (${storedSellable} Wh sellable) covers the forecast unmet demand of the next ${i.forecast.length} intervals (${demandAhead} Wh)`;
  else if (affordable === 0n) d.reasons.buy = `no buy order: the deposit (${i.depositCredits}) pays for nothing at ${buyLimit}/kWh`;
  else {
    const cap = min(room, affordable);
    d.buy = { limitPricePerKWh: buyLimit, capWhPerInterval: cap };
    d.reasons.buy = `buy up to ${cap} Wh at <= ${buyLimit}/kWh (${src}, at most (retail - margin) x round trip = ${maxProfitableBuy}); cap = min(power, room after losses${cap < room ? ", deposit" : ""})`;
  }
  return d;
}
