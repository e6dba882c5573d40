/** Argument parsers shared by the commands; each throws `ValidationError` naming the field. */
import { getAddress, id, isHexString, ZeroHash } from "ethers";
import { ValidationError } from "../sdk/errors";

export function parseAddress(text: string, field: string): string {
  const t = String(text ?? "").trim();
  if (!/^0x[0-9a-fA-F]{40}$/.test(t)) throw new ValidationError(field, `must be an address (0x followed by 40 hex digits), got "${text}"`);
  try {
    return getAddress(t);
  } catch {
    throw new ValidationError(field, `has a wrong checksum (mixed case that does not match), got "${text}"`);
  }
}

/**
 * A meter id: a 0x-prefixed 32-byte hex value as is, or a human name hashed as
 * `keccak256("meter:<name>")` (the same rule as the test fixtures and the simulator).
 */
export { parseMeterId } from "../sdk/meter-id";

/** The identity hash: a 0x bytes32 as is, text as `keccak256("identity:<text>")`, nothing as zero. */
export function parseIdentity(text: string | undefined): string {
  if (text === undefined || text === "") return ZeroHash;
  return isHexString(text, 32) ? text.toLowerCase() : id(`identity:${text}`);
}

export const MEMBER_KINDS = { consumer: 1, prosumer: 2, storage: 3 } as const;
export const MEMBER_KIND_NAMES = ["none", "consumer", "prosumer", "storage"];
export const MEMBER_STATUS_NAMES = ["none", "active", "suspended", "removed", "migrated"];
export const METER_STATUS_NAMES = ["none", "active", "retired"];
export const PHASE_NAMES = ["open", "collecting", "settling", "settled"];

export function parseSide(text: string): 0 | 1 {
  const t = String(text ?? "").trim().toLowerCase();
  if (t === "buy") return 0;
  if (t === "sell") return 1;
  throw new ValidationError("side", `must be "buy" or "sell", got "${text}"`);
}
export const SIDE_NAMES = ["buy", "sell"] as const;
