/** Operator: `gridledger meter register | rebind | reset-registers | retire | show`. */
import type { Command } from "commander";
import { Ctx, type CliRuntime } from "../context";
import { METER_STATUS_NAMES, parseAddress, parseMeterId } from "../parse";
import { parseUint } from "../../sdk/units";

const ID_HELP = 'meter id: 0x + 64 hex digits, or a name hashed as keccak256("meter:<name>")';

export function registerMeter(program: Command, rt: CliRuntime): void {
  const meter = program.command("meter").description("smart meters (operator: OPERATOR_ROLE)");

  meter
    .command("register")
    .description("register a meter owned by an active member")
    .argument("<id>", ID_HELP)
    .requiredOption("--owner <address>", "the member who owns the meter")
    .requiredOption("--signer <address>", "the key that signs the meter's readings (meter or gateway)")
    .requiredOption("--max-power <W>", "largest plausible power through the meter, in W")
    .option("--zone <n>", "grid zone (feeder, transformer)", "0")
    .requiredOption("--import-wh-total <Wh>", "the meter's imported-Wh register (OBIS 1.8.0) now: its first reading is measured from it")
    .requiredOption("--export-wh-total <Wh>", "the meter's exported-Wh register (OBIS 2.8.0) now: its first reading is measured from it")
    .action(
      async (
        idText: string,
        o: { owner: string; signer: string; maxPower: string; zone: string; importWhTotal: string; exportWhTotal: string },
        cmd: Command,
      ) => {
        const ctx = new Ctx(cmd, rt);
        const meterId = parseMeterId(idText);
        const owner = parseAddress(o.owner, "--owner");
        const signerKey = parseAddress(o.signer, "--signer");
        const maxPowerW = parseUint(o.maxPower, "--max-power", 32);
        const zone = parseUint(o.zone, "--zone", 16);
        const importWhTotal = parseUint(o.importWhTotal, "--import-wh-total", 64);
        const exportWhTotal = parseUint(o.exportWhTotal, "--export-wh-total", 64);
        await ctx.signer();
        const r = await ctx.send(`register meter ${idText}`, "CommunityRegistry", () =>
          ctx.contracts.registry.registerMeter(meterId, owner, signerKey, maxPowerW, zone, importWhTotal, exportWhTotal),
        );
        ctx.out(`meter ${idText} (${meterId}) registered to ${owner}`, {
          meterId,
          owner,
          signer: signerKey,
          maxPowerW,
          zone,
          importWhTotal,
          exportWhTotal,
          tx: r.hash,
          block: r.blockNumber,
        });
      },
    );

  meter
    .command("rebind")
    .description("bind a new signer key to an active meter")
    .argument("<id>", ID_HELP)
    .requiredOption("--signer <address>", "the new signer key")
    .action(async (idText: string, o: { signer: string }, cmd: Command) => {
      const ctx = new Ctx(cmd, rt);
      const meterId = parseMeterId(idText);
      const signerKey = parseAddress(o.signer, "--signer");
      await ctx.signer();
      const r = await ctx.send(`rebind meter ${idText}`, "CommunityRegistry", () => ctx.contracts.registry.rebindMeterSigner(meterId, signerKey));
      ctx.out(`meter ${idText} now signed by ${signerKey}`, { meterId, signer: signerKey, tx: r.hash, block: r.blockNumber });
    });

  meter
    .command("reset-registers")
    .description("set a meter's registers after it was replaced or its registers were reset (from the current interval)")
    .argument("<id>", ID_HELP)
    .requiredOption("--import-wh-total <Wh>", "the (new) meter's imported-Wh register (OBIS 1.8.0) now")
    .requiredOption("--export-wh-total <Wh>", "the (new) meter's exported-Wh register (OBIS 2.8.0) now")
    .action(async (idText: string, o: { importWhTotal: string; exportWhTotal: string }, cmd: Command) => {
      const ctx = new Ctx(cmd, rt);
      const meterId = parseMeterId(idText);
      const importWhTotal = parseUint(o.importWhTotal, "--import-wh-total", 64);
      const exportWhTotal = parseUint(o.exportWhTotal, "--export-wh-total", 64);
      await ctx.signer();
      const r = await ctx.send(`reset meter ${idText}'s registers`, "MeterReadings", () =>
        ctx.contracts.readings.resetMeterRegisters(meterId, importWhTotal, exportWhTotal),
      );
      ctx.out(`meter ${idText} now reads from import ${importWhTotal} Wh, export ${exportWhTotal} Wh`, {
        meterId,
        importWhTotal,
        exportWhTotal,
        tx: r.hash,
        block: r.blockNumber,
      });
    });

  meter
    .command("retire")
    .description("retire a meter for good (its id is never reused)")
    .argument("<id>", ID_HELP)
    .action(async (idText: string, _o: unknown, cmd: Command) => {
      const ctx = new Ctx(cmd, rt);
      const meterId = parseMeterId(idText);
      await ctx.signer();
      const r = await ctx.send(`retire meter ${idText}`, "CommunityRegistry", () => ctx.contracts.registry.retireMeter(meterId));
      ctx.out(`meter ${idText} retired`, { meterId, tx: r.hash, block: r.blockNumber });
    });

  meter
    .command("show")
    .description("a meter's record")
    .argument("<id>", ID_HELP)
    .action(async (idText: string, _o: unknown, cmd: Command) => {
      const ctx = new Ctx(cmd, rt);
      const meterId = parseMeterId(idText);
      const m = await ctx.read("CommunityRegistry", () => ctx.contracts.registry.meterOf(meterId));
      const rec = { meterId, owner: m.owner, signer: m.signer, maxPowerW: Number(m.maxPowerW), zone: Number(m.zone), status: METER_STATUS_NAMES[Number(m.status)] };
      ctx.out(
        Number(m.status) === 0 ? `meter ${idText} (${meterId}) is not registered` : `meter ${idText} (${meterId}): ${rec.status}, owner ${rec.owner}, signer ${rec.signer}, max ${rec.maxPowerW} W, zone ${rec.zone}`,
        rec,
      );
    });
}
