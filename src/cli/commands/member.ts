/** Operator: `gridledger member add | suspend | reinstate | migrate | show`. */
import type { Command } from "commander";
import { Option } from "commander";
import { Ctx, type CliRuntime } from "../context";
import { MEMBER_KIND_NAMES, MEMBER_KINDS, MEMBER_STATUS_NAMES, parseAddress, parseIdentity } from "../parse";

export function registerMember(program: Command, rt: CliRuntime): void {
  const member = program.command("member").description("community members (operator: OPERATOR_ROLE)");

  member
    .command("add")
    .description("onboard ADDR as an active member")
    .argument("<address>", "the member's wallet")
    .addOption(new Option("--kind <kind>", "consumer, prosumer (owns exporting meters) or storage (a battery: imports when charging, exports when discharging)").choices(["consumer", "prosumer", "storage"]).makeOptionMandatory())
    .option("--identity <text>", 'off-chain identity: a 0x bytes32 hash, or text hashed as keccak256("identity:<text>")')
    .action(async (addr: string, o: { kind: keyof typeof MEMBER_KINDS; identity?: string }, cmd: Command) => {
      const ctx = new Ctx(cmd, rt);
      const a = parseAddress(addr, "address");
      const identityHash = parseIdentity(o.identity);
      await ctx.signer();
      const r = await ctx.send(`onboard ${a}`, "CommunityRegistry", () => ctx.contracts.registry.onboardMember(a, MEMBER_KINDS[o.kind], identityHash));
      ctx.out(`${a} is now an active ${o.kind} member`, { member: a, kind: o.kind, identityHash, tx: r.hash, block: r.blockNumber });
    });

  for (const [name, verb, fn] of [
    ["suspend", "suspended", "suspendMember"],
    ["reinstate", "reinstated", "reinstateMember"],
  ] as const) {
    member
      .command(name)
      .description(name === "suspend" ? "suspend ADDR: no transfers, orders or readings until reinstated" : "reinstate a suspended member")
      .argument("<address>")
      .action(async (addr: string, _o: unknown, cmd: Command) => {
        const ctx = new Ctx(cmd, rt);
        const a = parseAddress(addr, "address");
        await ctx.signer();
        const r = await ctx.send(`${name} ${a}`, "CommunityRegistry", () => ctx.contracts.registry[fn](a));
        ctx.out(`${a} ${verb}`, { member: a, action: name, tx: r.hash, block: r.blockNumber });
      });
  }

  member
    .command("migrate")
    .description("move a member (meters, balances, deposits, orders) from OLD to a NEW wallet after a lost key")
    .argument("<old>")
    .argument("<new>")
    .action(async (oldW: string, newW: string, _o: unknown, cmd: Command) => {
      const ctx = new Ctx(cmd, rt);
      const from = parseAddress(oldW, "old");
      const to = parseAddress(newW, "new");
      await ctx.signer();
      const r = await ctx.send(`migrate ${from} -> ${to}`, "CommunityRegistry", () => ctx.contracts.registry.migrateMember(from, to));
      ctx.out(`${from} migrated to ${to}`, { oldWallet: from, newWallet: to, tx: r.hash, block: r.blockNumber });
    });

  member
    .command("show")
    .description("a member's record and meters")
    .argument("<address>")
    .action(async (addr: string, _o: unknown, cmd: Command) => {
      const ctx = new Ctx(cmd, rt);
      const a = parseAddress(addr, "address");
      const reg = ctx.contracts.registry;
      const [m, meters] = await ctx.read("CommunityRegistry", () => Promise.all([reg.memberOf(a), reg.metersOf(a)]));
      const rec = {
        member: a,
        kind: MEMBER_KIND_NAMES[Number(m.kind)],
        status: MEMBER_STATUS_NAMES[Number(m.status)],
        joinedAt: Number(m.joinedAt),
        activeMeters: Number(m.activeMeters),
        identityHash: m.identityHash,
        meters: [...meters],
      };
      ctx.out(
        Number(m.status) === 0
          ? `${a} was never a member`
          : [`${a}: ${rec.status} ${rec.kind}, joined ${new Date(rec.joinedAt * 1000).toISOString()}`, `meters (${rec.activeMeters} active): ${rec.meters.join(", ") || "none"}`],
        rec,
      );
    });
}
