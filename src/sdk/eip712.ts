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
