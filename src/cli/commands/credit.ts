/** Issuer: `gridledger credit mint | burn`; holders: `credit approve`. */
import type { Command } from "commander";
import { Ctx, type CliRuntime } from "../context";
import { parseAddress } from "../parse";
import { formatCredits, parseCredits } from "../../sdk/units";

export function registerCredit(program: Command, rt: CliRuntime): void {
  const credit = program.command("credit").description("CommunityCredit, the payment token (issuer: ISSUER_ROLE)");

  credit
    .command("mint")
    .description("mint AMOUNT credits to ADDR (fiat paid in)")
    .argument("<address>")
    .argument("<amount>", 'credits, e.g. "25" or "2.50"')
    .action(async (addr: string, amountText: string, _o: unknown, cmd: Command) => {
      const ctx = new Ctx(cmd, rt);
      const to = parseAddress(addr, "address");
      const amount = parseCredits(amountText, "amount");
      await ctx.signer();
      const r = await ctx.send(`mint ${formatCredits(amount)} credits to ${to}`, "CommunityCredit", () => ctx.contracts.credit.mint(to, amount));
      ctx.out(`minted ${formatCredits(amount)} credits to ${to}`, { to, amount, tx: r.hash, block: r.blockNumber });
    });

  credit
    .command("burn")
    .description("burn AMOUNT credits from ADDR (fiat paid out); ADDR must have approved the issuer (`credit approve`)")
    .argument("<address>")
    .argument("<amount>")
    .action(async (addr: string, amountText: string, _o: unknown, cmd: Command) => {
      const ctx = new Ctx(cmd, rt);
      const from = parseAddress(addr, "address");
      const amount = parseCredits(amountText, "amount");
      await ctx.signer();
      const r = await ctx.send(`burn ${formatCredits(amount)} credits from ${from}`, "CommunityCredit", () => ctx.contracts.credit.burn(from, amount));
      ctx.out(`burnt ${formatCredits(amount)} credits from ${from}`, { from, amount, tx: r.hash, block: r.blockNumber });
    });

  credit
    .command("approve")
    .description("allow SPENDER (e.g. the issuer, to redeem) to take up to AMOUNT of your credits")
    .argument("<spender>")
    .argument("<amount>")
    .action(async (addr: string, amountText: string, _o: unknown, cmd: Command) => {
      const ctx = new Ctx(cmd, rt);
      const spender = parseAddress(addr, "spender");
      const amount = parseCredits(amountText, "amount");
      await ctx.signer();
      const r = await ctx.send(`approve ${spender}`, "CommunityCredit", () => ctx.contracts.credit.approve(spender, amount));
      ctx.out(`${spender} may now spend ${formatCredits(amount)} of your credits`, { spender, amount, tx: r.hash, block: r.blockNumber });
    });
}
