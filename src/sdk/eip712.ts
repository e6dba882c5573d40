import { concat, isHexString, keccak256, Signature, toBeHex, toUtf8Bytes, TypedDataEncoder } from "ethers";
import type { TypedDataDomain, TypedDataField } from "ethers";

/** EIP-712 domain name and version of the MeterReadings contract. */
export const READINGS_DOMAIN_NAME = "GridLedger MeterReadings";
export const READINGS_DOMAIN_VERSION = "1";

/** EIP-712 type of one meter reading (cumulative registers at the end of an interval). */
export const READING_TYPES: Record<string, TypedDataField[]> = {
  Reading: [
    { name: "meterId", type: "bytes32" },
    { name: "interval", type: "uint32" },
    { name: "importWhTotal", type: "uint64" },
    { name: "exportWhTotal", type: "uint64" },
  ],
};

export interface ReadingMessage {
  meterId: string;
  interval: number;
  importWhTotal: bigint;
  exportWhTotal: bigint;
}

export function readingsDomain(chainId: bigint | number, verifyingContract: string): TypedDataDomain {
  return { name: READINGS_DOMAIN_NAME, version: READINGS_DOMAIN_VERSION, chainId, verifyingContract };
}

/**
 * A reading as `MeterReadings.submitReadings` takes it: the message and its signature in the
 * compact form of EIP-2098 (`r`, and `vs` = `s` with the y parity in the top bit), the form
 * `ReadingAccepted` also carries. `signature` is the usual 65-byte signature (`signTypedData`,
 * what the oracle's outbox stores) or anything else `ethers.Signature.from` reads; it throws on a
 * malleable high-s signature (the contract refuses one sent raw, `BadSignature`).
 */
export function signedReading(m: ReadingMessage, signature: string): ReadingMessage & { r: string; vs: string } {
  const sig = Signature.from(signature);
  return { meterId: m.meterId, interval: m.interval, importWhTotal: m.importWhTotal, exportWhTotal: m.exportWhTotal, r: sig.r, vs: sig.yParityAndS };
}

/** The 65-byte signature (`r`, `s`, `v`) of a reading's compact `r` and `vs` (EIP-2098). */
export function readingSignature(r: string, vs: string): string {
  return Signature.from({ r, yParityAndS: vs }).serialized;
}

/** EIP-712 domain name and version of the EnergyMarket contract (signed orders). */
export const MARKET_DOMAIN_NAME = "GridLedger EnergyMarket";
export const MARKET_DOMAIN_VERSION = "1";

/** Order sides and actions as the contract numbers them. */
export const Side = { Buy: 0, Sell: 1 } as const;
export const OrderAction = { Place: 0, Update: 1, Cancel: 2 } as const;

/** EIP-2612 permit of `CommunityCredit` (OpenZeppelin ERC20Permit; domain: the token's name, version "1"). */
export const PERMIT_TYPES: Record<string, TypedDataField[]> = {
  Permit: [
    { name: "owner", type: "address" },
    { name: "spender", type: "address" },
    { name: "value", type: "uint256" },
    { name: "nonce", type: "uint256" },
    { name: "deadline", type: "uint256" },
  ],
};

/** EIP-712 type of an order action signed by a member and relayed by anyone. */
export const ORDER_INTENT_TYPES: Record<string, TypedDataField[]> = {
  OrderIntent: [
    { name: "member", type: "address" },
    { name: "action", type: "uint8" },
    { name: "side", type: "uint8" },
    { name: "limitPricePerKWh", type: "uint64" },
    { name: "capWhPerInterval", type: "uint64" },
    { name: "firstInterval", type: "uint32" },
    { name: "lastInterval", type: "uint32" },
    { name: "nonce", type: "uint256" },
    { name: "deadline", type: "uint256" },
  ],
};

export interface OrderIntentMessage {
  member: string;
  action: number;
  side: number;
  limitPricePerKWh: bigint;
  capWhPerInterval: bigint;
  firstInterval: number;
  lastInterval: number;
  nonce: bigint;
  deadline: bigint;
}

export function marketDomain(chainId: bigint | number, verifyingContract: string): TypedDataDomain {
  return { name: MARKET_DOMAIN_NAME, version: MARKET_DOMAIN_VERSION, chainId, verifyingContract };
}

/**
 * A reading's EIP-712 digest function for one domain, the same as `TypedDataEncoder.hash(domain,
 * READING_TYPES, message)` (tested) with the domain separator and type hash computed once:
 * keccak256(0x1901 || domainSeparator || keccak256(typeHash || meterId || interval || import ||
 * export)). About 20 times faster than the general encoder, which the oracle pays per reading.
 * Anything but a bytes32 meter id, a uint32 interval and uint64 registers goes to the general
 * encoder (and its checks).
 */
export function readingDigester(domain: TypedDataDomain): (m: ReadingMessage) => string {
  const domainSeparator = TypedDataEncoder.hashDomain(domain);
  const typeHash = keccak256(toUtf8Bytes(TypedDataEncoder.from(READING_TYPES).encodeType("Reading")));
  const U64 = (1n << 64n) - 1n;
  return (m) => {
    const interval = Number(m.interval);
    if (!isHexString(m.meterId, 32) || !Number.isInteger(interval) || interval < 0 || interval > 0xffffffff || m.importWhTotal < 0n || m.exportWhTotal < 0n || m.importWhTotal > U64 || m.exportWhTotal > U64) {
      return TypedDataEncoder.hash(domain, READING_TYPES, m);
    }
    const struct = keccak256(concat([typeHash, toBeHex(BigInt(m.meterId), 32), toBeHex(interval, 32), toBeHex(m.importWhTotal, 32), toBeHex(m.exportWhTotal, 32)]));
    return keccak256(concat(["0x1901", domainSeparator, struct]));
  };
}
