import { id, isHexString } from "ethers";
import { ValidationError } from "./errors";

/**
 * The one meter-id resolver (CLI, auditor, docs): `0x` + 64 hex digits as is (lower case), or a
 * name such as `alice-roof`, which becomes `keccak256("meter:alice-roof")` (the rule of the tests
 * and the simulator).
 */
export function parseMeterId(text: string, field = "meter id"): string {
  const t = String(text ?? "").trim();
  if (isHexString(t, 32)) return t.toLowerCase();
  if (t.startsWith("0x")) throw new ValidationError(field, `a hex meter id must be 32 bytes (0x + 64 hex digits), got "${text}"`);
  if (!t) throw new ValidationError(field, "must not be empty");
  return id(`meter:${t}`);
}
