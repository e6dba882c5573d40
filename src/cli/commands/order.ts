/**
 * Members: `gridledger order place | update | cancel | list | relay`. `--sign-only` writes an
 * EIP-712 signed order intent (JSON) instead of sending a transaction; `order relay FILE`
 * submits such an intent from any account (the relayer pays the gas, the member's signature
 * decides).
 */
import * as fs from "node:fs";
import type { Command } from "commander";
import { Option } from "commander";
import { getAddress, verifyTypedData } from "ethers";
import { ValidationError } from "../../sdk/errors";
import { marketDomain, ORDER_INTENT_TYPES, OrderAction, type OrderIntentMessage } from "../../sdk/eip712";
import { formatEnergy, formatPricePerKWh, parseEnergyWh, parsePricePerKWh, parseUint } from "../../sdk/units";
import { Ctx, checkIntervalSyntax, toJson, type CliRuntime } from "../context";
import { parseAddress, parseSide, SIDE_NAMES } from "../parse";

export const SIGNED_ORDER_KIND = "gridledger.order-intent/v1";
const ACTION_NAMES = ["place", "update", "cancel"] as const;

/** The file `--sign-only` writes and `order relay` reads; numbers as decimal strings. */
export interface SignedOrderFile {
  kind: typeof SIGNED_ORDER_KIND;
  chainId: string;
  market: string;
  intent: {
    member: string;
    action: (typeof ACTION_NAMES)[number];
    side: (typeof SIDE_NAMES)[number];
    limitPricePerKWh: string;
    capWhPerInterval: string;
    firstInterval: number;
    lastInterval: number;
    nonce: string;
    deadline: string;
  };
  signature: string;
}

interface OrderOpts {
  side: string;
  price?: string;
  cap?: string;
  from?: string;
  to?: string;
  signOnly?: boolean;
  out?: string;
  deadline?: string;
  yes?: boolean;
}

function addSignOptions(c: Command): Command {
  return c
    .option("--sign-only", "do not send: write an EIP-712 signed intent that anyone can relay with `order relay`")
    .option("--out <file>", "with --sign-only: write the signed intent to FILE (default stdout)")
    .option("--deadline <seconds>", "with --sign-only: the signature is valid for this many seconds", "3600");
}

function addOrderOptions(c: Command): Command {
  return c
    .addOption(new Option("--side <side>", "buy or sell").choices(["buy", "sell"]).makeOptionMandatory())
    .requiredOption("--price <price>", 'limit price per kWh in credits, e.g. "0.22"')
    .option("--cap <energy>", 'most energy per interval, e.g. "1500", "1.5 kWh"; 0 = no cap', "0")
    .option("--from <interval>", 'first interval: number, "now", "now+N" or "next" (default: the current interval, or the next to clear if later)')
    .requiredOption("--to <interval>", 'last interval: number, "now+N" or "next"')
    .option("--yes", "accept a limit price outside [feed-in, retail] (the auction clamps it to the tariffs)");
}

export function registerOrder(program: Command, rt: CliRuntime): void {
  const order = program.command("order").description("standing limit orders, one per side (members)");

  for (const action of ["place", "update"] as const) {
    const c = order
      .command(action)
      .description(action === "place" ? "place your standing order on one side" : "replace your live order on one side (it gets a new id and loses time priority)");
    addSignOptions(addOrderOptions(c)).action(async (o: OrderOpts, cmd: Command) => {
      const ctx = new Ctx(cmd, rt);
      const side = parseSide(o.side);
      const price = parsePricePerKWh(o.price!, "--price");
      if (price === 0n) throw new ValidationError("--price", "must be greater than 0");
      const cap = parseEnergyWh(o.cap ?? "0", "--cap");
      // Both interval arguments are checked before either is resolved against the chain.
      if (o.from !== undefined) checkIntervalSyntax(o.from, "--from");
      checkIntervalSyntax(o.to!, "--to");
      // Without --from: the current interval (it has not ended, so the order takes part in it), or
      // the next to clear when that is later; never an interval long past the market still owes.
      const first = o.from !== undefined ? await ctx.interval(o.from, "--from") : Math.max(await ctx.interval("now", "--from"), await ctx.interval("next", "--from"));
      const last = await ctx.interval(o.to!, "--to");
      if (first > last) throw new ValidationError("--to", `interval ${last} is before --from ${first}`);
      await checkLimitAgainstTariff(ctx, price, first, Boolean(o.yes));
      const summary = `${SIDE_NAMES[side]} at ${formatPricePerKWh(price)}, ${cap === 0n ? "no cap" : `cap ${formatEnergy(cap)}`} per interval, intervals ${first}..${last}`;
      const act = action === "place" ? OrderAction.Place : OrderAction.Update;
      if (o.signOnly) return signIntent(ctx, o, { action: act, side, limitPricePerKWh: price, capWhPerInterval: cap, firstInterval: first, lastInterval: last }, summary);
      await ctx.signer();
      const m = ctx.contracts.market;
      const r = await ctx.send(`${action} order`, "EnergyMarket", () =>
        action === "place" ? m.placeOrder(side, price, cap, first, last) : m.updateOrder(side, price, cap, first, last),
      );
      const orderId = orderIdFrom(ctx, r.logs);
      ctx.out(`order ${orderId ?? "?"} ${action === "place" ? "placed" : "updated"}: ${summary}`, {
        action,
        orderId,
        side: SIDE_NAMES[side],
        limitPricePerKWh: price,
        capWhPerInterval: cap,
        firstInterval: first,
        lastInterval: last,
        tx: r.hash,
        block: r.blockNumber,
      });
    });
  }

  addSignOptions(
    order
      .command("cancel")
      .description("cancel your order on one side")
      .addOption(new Option("--side <side>", "buy or sell").choices(["buy", "sell"]).makeOptionMandatory()),
  ).action(async (o: OrderOpts, cmd: Command) => {
    const ctx = new Ctx(cmd, rt);
    const side = parseSide(o.side);
    if (o.signOnly) {
      return signIntent(ctx, o, { action: OrderAction.Cancel, side, limitPricePerKWh: 0n, capWhPerInterval: 0n, firstInterval: 0, lastInterval: 0 }, `cancel ${SIDE_NAMES[side]} order`);
    }
    await ctx.signer();
    const r = await ctx.send("cancel order", "EnergyMarket", () => ctx.contracts.market.cancelOrder(side));
    ctx.out(`${SIDE_NAMES[side]} order cancelled`, { action: "cancel", side: SIDE_NAMES[side], tx: r.hash, block: r.blockNumber });
  });

  order
    .command("relay")
    .description("submit a signed order intent (from `--sign-only`) from your account; FILE or - for stdin")
    .argument("<file>")
    .action(async (file: string, _o: unknown, cmd: Command) => {
      const ctx = new Ctx(cmd, rt);
      const signed = readSignedOrder(file);
      const market = ctx.contracts.record("EnergyMarket").address;
      const net = await ctx.provider.getNetwork();
      if (BigInt(signed.chainId) !== net.chainId) throw new ValidationError("chainId", `the intent was signed for chain ${signed.chainId}, this network is chain ${net.chainId}`);
      if (getAddress(signed.market) !== getAddress(market)) throw new ValidationError("market", `the intent was signed for market ${signed.market}, this network's market is ${market}`);
      const msg = intentMessage(signed);
      const recovered = verifyTypedData(marketDomain(net.chainId, market), ORDER_INTENT_TYPES, msg, signed.signature);
      if (recovered.toLowerCase() !== msg.member.toLowerCase()) {
        throw new ValidationError("signature", `recovers to ${recovered}, not to the member ${msg.member}`);
      }
      const relayer = await ctx.address();
      const r = await ctx.send(`relay ${signed.intent.action} order of ${msg.member}`, "EnergyMarket", () => ctx.contracts.market.submitSignedOrder(msg, signed.signature));
      const orderId = orderIdFrom(ctx, r.logs);
      ctx.out(`relayed ${signed.intent.action} ${signed.intent.side} order of ${msg.member}${orderId ? ` (order ${orderId})` : ""}`, {
        member: msg.member,
        relayer,
        action: signed.intent.action,
        side: signed.intent.side,
        orderId,
        tx: r.hash,
        block: r.blockNumber,
      });
    });

  order
    .command("list")
    .description("the standing orders of ADDR (default: your wallet)")
    .argument("[address]")
    .action(async (addr: string | undefined, _o: unknown, cmd: Command) => {
      const ctx = new Ctx(cmd, rt);
      const who = addr ? parseAddress(addr, "address") : await ctx.address();
      const m = ctx.contracts.market;
      const [buy, sell, next] = await ctx.read("EnergyMarket", () => Promise.all([m.orderOf(who, 0), m.orderOf(who, 1), m.nextInterval()]));
      const rows = [buy, sell]
        .map((o, side) => ({
          side: SIDE_NAMES[side],
          orderId: o.orderId,
          limitPricePerKWh: o.limitPricePerKWh,
          capWhPerInterval: o.capWhPerInterval,
          firstInterval: Number(o.firstInterval),
          lastInterval: Number(o.lastInterval),
          expired: Number(o.lastInterval) < Number(next),
        }))
        .filter((o) => o.orderId !== 0n);
      ctx.out(
        rows.length
          ? rows.map(
              (o) =>
                `#${o.orderId} ${o.side.padEnd(4)} at ${formatPricePerKWh(o.limitPricePerKWh)}, ${o.capWhPerInterval === 0n ? "no cap" : `cap ${formatEnergy(o.capWhPerInterval)}`}, intervals ${o.firstInterval}..${o.lastInterval}${o.expired ? " (expired)" : ""}`,
            )
          : [`${who} has no orders`],
        { member: who, nextInterval: Number(next), orders: rows },
      );
    });
}

function orderIdFrom(ctx: Ctx, logs: readonly { topics: readonly string[]; data: string }[]): string | undefined {
  const iface = ctx.contracts.market.interface;
  for (const log of logs) {
    try {
      const p = iface.parseLog(log as { topics: string[]; data: string });
      if (p?.name === "OrderPlaced") return p.args.orderId.toString();
    } catch {
      /* another contract's log */
    }
  }
  return undefined;
}

async function signIntent(
  ctx: Ctx,
  o: OrderOpts,
  fields: Omit<OrderIntentMessage, "member" | "nonce" | "deadline">,
  summary: string,
): Promise<void> {
  const signer = await ctx.signer();
  const member = await signer.getAddress();
  const market = ctx.contracts.record("EnergyMarket").address;
  const [nonce, net] = await ctx.read("EnergyMarket", () => Promise.all([ctx.contracts.market.nonces(member), ctx.provider.getNetwork()]));
  const seconds = parseUint(o.deadline ?? "3600", "--deadline", 32);
  const deadline = BigInt(Math.floor(Date.now() / 1000)) + seconds;
  const msg: OrderIntentMessage = { member, nonce, deadline, ...fields };
  const signature = await signer.signTypedData(marketDomain(net.chainId, market), ORDER_INTENT_TYPES, msg);
  const file: SignedOrderFile = {
    kind: SIGNED_ORDER_KIND,
    chainId: net.chainId.toString(),
    market,
    intent: {
      member,
      action: ACTION_NAMES[msg.action],
      side: SIDE_NAMES[msg.side],
      limitPricePerKWh: msg.limitPricePerKWh.toString(),
      capWhPerInterval: msg.capWhPerInterval.toString(),
      firstInterval: msg.firstInterval,
      lastInterval: msg.lastInterval,
      nonce: nonce.toString(),
      deadline: deadline.toString(),
    },
    signature,
  };
  if (o.out) {
    fs.writeFileSync(o.out, toJson(file) + "\n");
    ctx.out(`signed (not sent): ${summary}; nonce ${nonce}, valid until ${new Date(Number(deadline) * 1000).toISOString()}\nwritten to ${o.out}; anyone can submit it with \`gridledger order relay ${o.out}\``, { file: o.out, ...file });
  } else {
    // stdout carries the signed intent itself, in both modes, so it can be piped to `order relay -`.
    (ctx.rt.stdout ?? ((t: string) => process.stdout.write(t)))(toJson(file) + "\n");
    ctx.log(`signed (not sent): ${summary}; nonce ${nonce}`);
  }
}

export function readSignedOrder(file: string): SignedOrderFile {
  let text: string;
  try {
    text = fs.readFileSync(file === "-" ? 0 : file, "utf8");
  } catch (e) {
    throw new ValidationError("file", `cannot read ${file} (${(e as NodeJS.ErrnoException).code ?? (e as Error).message})`);
  }
  let j: SignedOrderFile;
  try {
    j = JSON.parse(text);
  } catch {
    throw new ValidationError(file, "is not JSON: expected a signed order written by `gridledger order place --sign-only`");
  }
  if (j?.kind !== SIGNED_ORDER_KIND) throw new ValidationError(`${file}: kind`, `must be "${SIGNED_ORDER_KIND}", got ${JSON.stringify(j?.kind)}`);
  if (!j.intent || typeof j.signature !== "string") throw new ValidationError(file, "has no intent or signature");
  if (!ACTION_NAMES.includes(j.intent.action)) throw new ValidationError(`${file}: intent.action`, `must be place, update or cancel, got ${JSON.stringify(j.intent.action)}`);
  if (!SIDE_NAMES.includes(j.intent.side)) throw new ValidationError(`${file}: intent.side`, `must be buy or sell, got ${JSON.stringify(j.intent.side)}`);
  parseAddress(j.intent.member, `${file}: intent.member`);
  parseAddress(j.market, `${file}: market`);
  return j;
}

function intentMessage(s: SignedOrderFile): OrderIntentMessage {
  const big = (v: string, f: string) => {
    if (!/^\d+$/.test(String(v))) throw new ValidationError(`intent.${f}`, `must be a whole number, got ${JSON.stringify(v)}`);
    return BigInt(v);
  };
  return {
    member: getAddress(s.intent.member),
    action: ACTION_NAMES.indexOf(s.intent.action),
    side: SIDE_NAMES.indexOf(s.intent.side),
    limitPricePerKWh: big(s.intent.limitPricePerKWh, "limitPricePerKWh"),
    capWhPerInterval: big(s.intent.capWhPerInterval, "capWhPerInterval"),
    firstInterval: Number(big(String(s.intent.firstInterval), "firstInterval")),
    lastInterval: Number(big(String(s.intent.lastInterval), "lastInterval")),
    nonce: big(s.intent.nonce, "nonce"),
    deadline: big(s.intent.deadline, "deadline"),
  };
}

/**
 * A limit outside [feed-in, retail] is legal (the auction clamps it) but most often a typo (25.00
 * for 0.25): it needs `--yes`.
 */
async function checkLimitAgainstTariff(ctx: Ctx, price: bigint, first: number, yes: boolean): Promise<void> {
  if (yes || !ctx.contracts.has("EnergyMarket")) return;
  const tariff = await ctx.read("EnergyMarket", () => ctx.contracts.market.tariffAt(first));
  const { retailPerKWh, feedInPerKWh } = tariff;
  if (price >= feedInPerKWh && price <= retailPerKWh) return;
  const ratio = price > retailPerKWh && retailPerKWh > 0n ? ` (${(Number((price * 10n) / retailPerKWh) / 10).toFixed(1)}x the retail tariff)` : "";
  throw new ValidationError(
    "--price",
    `${formatPricePerKWh(price)} is outside the tariffs of interval ${first}: feed-in ${formatPricePerKWh(feedInPerKWh)} .. retail ${formatPricePerKWh(retailPerKWh)} credits/kWh${ratio}; ` +
      "the auction would clamp it to the tariff. Pass --yes if you mean it",
  );
}
