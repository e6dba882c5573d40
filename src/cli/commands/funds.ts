/** Members: `gridledger deposit | withdraw | balance`. */
import type { Command } from "commander";
import { Signature } from "ethers";
import { PERMIT_TYPES } from "../../sdk/eip712";
import { Ctx, type CliRuntime } from "../context";
import { ValidationError } from "../../sdk/errors";
import { MEMBER_STATUS_NAMES, parseAddress } from "../parse";
import { formatCredits, formatEnergy, parseCredits } from "../../sdk/units";
import { unsettledExportWh, unsettledIntervals } from "../../sdk/unsettled";

export function registerFunds(program: Command, rt: CliRuntime): void {
  program
    .command("deposit")
    .description("deposit AMOUNT credits into the market (what your buy orders pay from)")
    .argument("<amount>", 'credits, e.g. "10" or "2.50"')
    .option("--permit", "authorise with an ERC-2612 permit signature (one transaction) instead of approve + deposit")
    .action(async (amountText: string, o: { permit?: boolean }, cmd: Command) => {
      const ctx = new Ctx(cmd, rt);
      const amount = parseCredits(amountText, "amount");
      const signer = await ctx.signer();
      const me = await signer.getAddress();
      const { credit, market } = ctx.contracts;
      const marketAddr = ctx.contracts.record("EnergyMarket").address;
      const what = `deposit ${formatCredits(amount)} credits`;
      // Check before any transaction (an approval sent for a deposit that must fail costs gas and trust).
      const [member, balance] = await ctx.read("CommunityRegistry", () => Promise.all([ctx.contracts.registry.memberOf(me), credit.balanceOf(me)]));
      const status = MEMBER_STATUS_NAMES[Number(member.status)];
      if (status !== "active") {
        throw new ValidationError("wallet", `${me} is ${status === "none" ? "not a member" : `a ${status} member`}: only active members deposit (the operator onboards with \`gridledger member add\`)`);
      }
      if (balance < amount) throw new ValidationError("amount", `${me} holds ${formatCredits(balance)} credits, ${formatCredits(amount)} needed (the issuer mints with \`gridledger credit mint\`)`);
      let hash: string;
      if (o.permit) {
        const [nonce, name, net] = await ctx.read("CommunityCredit", () => Promise.all([credit.nonces(me), credit.name(), ctx.provider.getNetwork()]));
        const deadline = BigInt(Math.floor(Date.now() / 1000) + 3600);
        const domain = { name, version: "1", chainId: net.chainId, verifyingContract: ctx.contracts.record("CommunityCredit").address };
        const types = PERMIT_TYPES;
        const sig = Signature.from(await signer.signTypedData(domain, types, { owner: me, spender: marketAddr, value: amount, nonce, deadline }));
        hash = (await ctx.send(what, "EnergyMarket", () => market.depositWithPermit(amount, deadline, sig.v, sig.r, sig.s))).hash;
      } else {
        const allowance = await ctx.read("CommunityCredit", () => credit.allowance(me, marketAddr));
        if (allowance < amount) await ctx.send(`approve the market for ${formatCredits(amount)} credits`, "CommunityCredit", () => credit.approve(marketAddr, amount));
        hash = (await ctx.send(what, "EnergyMarket", () => market.deposit(amount))).hash;
      }
      const total = await ctx.read("EnergyMarket", () => market.depositOf(me));
      ctx.out(`deposited ${formatCredits(amount)} credits; your deposit is now ${formatCredits(total)} credits`, { member: me, amount, deposit: total, tx: hash });
    });

  program
    .command("withdraw")
    .description("withdraw AMOUNT credits from your market deposit")
    .argument("<amount>")
    .action(async (amountText: string, _o: unknown, cmd: Command) => {
      const ctx = new Ctx(cmd, rt);
      const amount = parseCredits(amountText, "amount");
      const me = await ctx.address();
      const r = await ctx.send(`withdraw ${formatCredits(amount)} credits`, "EnergyMarket", () => ctx.contracts.market.withdraw(amount));
      const total = await ctx.read("EnergyMarket", () => ctx.contracts.market.depositOf(me));
      ctx.out(`withdrew ${formatCredits(amount)} credits; your deposit is now ${formatCredits(total)} credits`, { member: me, amount, deposit: total, tx: r.hash });
    });

  program
    .command("balance")
    .description("credits in the wallet and in the market, unsettled production, membership (default: your wallet)")
    .argument("[address]")
    .action(async (addr: string | undefined, _o: unknown, cmd: Command) => {
      const ctx = new Ctx(cmd, rt);
      const who = addr ? parseAddress(addr, "address") : await ctx.address();
      const c = ctx.contracts;
      const [credits, member] = await ctx.read("CommunityCredit", () => Promise.all([c.credit.balanceOf(who), c.registry.memberOf(who)]));
      const deposit = c.has("EnergyMarket") ? await ctx.read("EnergyMarket", () => c.market.depositOf(who)) : undefined;
      // Unsettled production: the member's exports in intervals the market has not settled (issue 16).
      let energyWh = 0n;
      if (c.has("EnergyMarket")) {
        const [key, next, current] = await ctx.read("EnergyMarket", () =>
          Promise.all([c.registry.memberKeyOf(who), c.market.nextInterval(), c.readings.currentInterval()]),
        );
        const ts = unsettledIntervals(Number(next), Number(current));
        const ps = await ctx.read("MeterReadings", () => Promise.all(ts.map(async (t) => ({ interval: t, exportWh: (await c.readings.positionOf(t, key)).exportWh }))));
        energyWh = unsettledExportWh(ps, Number(next));
      }
      const status = MEMBER_STATUS_NAMES[Number(member.status)];
      ctx.out(
        [
          `${who} (${status === "none" ? "not a member" : `${status} member`})`,
          `  credits in wallet:  ${formatCredits(credits)}`,
          `  deposit in market:  ${deposit === undefined ? "n/a (market not deployed)" : formatCredits(deposit)}`,
          `  unsettled production: ${formatEnergy(energyWh)}`,
        ],
        { address: who, memberStatus: status, credits, deposit: deposit ?? null, energyWh },
      );
    });
}
