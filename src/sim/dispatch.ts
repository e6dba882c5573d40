/**
 * How a simulated battery moves in one interval: it follows the market. The battery charges
 * only the energy its bid buys and discharges only what its ask sells, so its meter readings are
 * exactly what its trades imply.
 *
 * A real community battery does this with a controller that follows the feeder (it charges from
 * the neighbourhood's surplus and covers its deficit, within the agent's caps); the simulator
 * finds the same quantity with the reference clearing (`src/sdk/clearing.ts`) run on the other
 * members' readings and the book of the interval: it offers its whole ask (or bid), keeps what
 * the clearing matches, and repeats until the quantity it meters is exactly the quantity it
 * trades (a fixpoint reached in a few rounds, since each round can only lower it).
 * Selling is tried first: energy in store is only worth something once sold.
 */
import { clearInterval, ClearingInput } from "../sdk/clearing";
import type { Battery } from "./battery";

export interface BatteryDispatch {
  importWh: bigint;
  exportWh: bigint;
}

/**
 * The battery's metered flow for `input.interval`. `input` holds every other participant and
 * every live order, the battery's included (under `member`); the battery must not be among
 * `input.members`.
 */
export function dispatchBattery(input: ClearingInput, member: string, battery: Battery, availableCredits: bigint): BatteryDispatch {
  const key = member.toLowerCase();
  if (input.members.some((m) => m.member.toLowerCase() === key)) throw new Error(`dispatchBattery: ${member} is already among the members`);
  const hasOrder = (side: "buy" | "sell") => input.orders.some((o) => o.member.toLowerCase() === key && o.side === side);
  const outcome = (importWh: bigint, exportWh: bigint) => {
    const r = clearInterval({ ...input, members: [...input.members, { member, importWh, exportWh, active: true, availableCredits }] });
    return r.members[r.members.length - 1];
  };
  if (hasOrder("sell")) {
    let y = battery.maxExportWh();
    while (y > 0n) {
      const sold = outcome(0n, y).soldWh;
      if (sold === y) return { importWh: 0n, exportWh: y };
      y = sold;
    }
  }
  if (hasOrder("buy")) {
    let x = battery.maxImportWh();
    while (x > 0n) {
      const bought = outcome(x, 0n).boughtWh;
      if (bought === x) return { importWh: x, exportWh: 0n };
      x = bought;
    }
  }
  return { importWh: 0n, exportWh: 0n };
}
