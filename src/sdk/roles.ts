import { id, ZeroHash } from "ethers";

/** Every GridLedger role id, as in `contracts/lib/Roles.sol`. */
export const ROLES = {
  DEFAULT_ADMIN_ROLE: ZeroHash,
  OPERATOR_ROLE: id("OPERATOR_ROLE"),
  ORACLE_ROLE: id("ORACLE_ROLE"),
  PAUSER_ROLE: id("PAUSER_ROLE"),
  ISSUER_ROLE: id("ISSUER_ROLE"),
  ENERGY_MINTER_ROLE: id("ENERGY_MINTER_ROLE"),
  ENERGY_RETIRER_ROLE: id("ENERGY_RETIRER_ROLE"),
  SYSTEM_ROLE: id("SYSTEM_ROLE"),
} as const;

export type RoleName = keyof typeof ROLES;

/** The role name of a role id, or the id itself when it is not a GridLedger role. */
export function roleName(roleId: string): string {
  const hit = (Object.keys(ROLES) as RoleName[]).find((k) => ROLES[k].toLowerCase() === roleId.toLowerCase());
  return hit ?? roleId;
}
