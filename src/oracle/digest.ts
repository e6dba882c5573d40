import { keccak256, TypedDataDomain, TypedDataEncoder, toUtf8Bytes, getBytes } from "ethers";
import { READING_TYPES, ReadingMessage, readingDigester } from "../sdk/eip712";

/**
 * The EIP-712 digest of a reading, as `readingDigester` (src/sdk/eip712.ts) computes it, with the
 * bytes laid out by hand and keccak-256 from the native `keccak` addon when it loads (ethers'
 * JavaScript keccak otherwise): the oracle hashes every interval reading of every meter. Values
 * outside the fast path's range go to the SDK's digester. A test pins both to `TypedDataEncoder.hash`.
 */
type Keccak = (data: Buffer) => Buffer;

let nativeKeccak: Keccak | null | undefined;
function keccak(): Keccak {
  if (nativeKeccak === undefined) {
    try {
      // eslint-disable-next-line @typescript-eslint/no-var-requires
      const create = require("keccak/bindings") as (alg: string) => { update(b: Buffer): { digest(): Buffer } };
      nativeKeccak = (data) => create("keccak256").update(data).digest();
    } catch {
      nativeKeccak = null;
    }
  }
  return nativeKeccak ?? ((data) => Buffer.from(getBytes(keccak256(data))));
}

const U64 = (1n << 64n) - 1n;

export function fastReadingDigester(domain: TypedDataDomain): (m: ReadingMessage) => string {
  const slow = readingDigester(domain);
  const hash = keccak();
  const domainSeparator = Buffer.from(TypedDataEncoder.hashDomain(domain).slice(2), "hex");
  const typeHash = Buffer.from(keccak256(toUtf8Bytes(TypedDataEncoder.from(READING_TYPES).encodeType("Reading"))).slice(2), "hex");
  const struct = Buffer.alloc(160);
  typeHash.copy(struct, 0);
  const outer = Buffer.alloc(66);
  outer[0] = 0x19;
  outer[1] = 0x01;
  domainSeparator.copy(outer, 2);
  return (m) => {
    const interval = Number(m.interval);
    if (typeof m.meterId !== "string" || !/^0x[0-9a-fA-F]{64}$/.test(m.meterId) || !Number.isInteger(interval) || interval < 0 || interval > 0xffffffff ||
        m.importWhTotal < 0n || m.exportWhTotal < 0n || m.importWhTotal > U64 || m.exportWhTotal > U64) {
      return slow(m);
    }
    struct.write(m.meterId.slice(2), 32, 32, "hex");
    struct.fill(0, 64, 160);
    struct.writeUInt32BE(interval, 92);
    struct.writeBigUInt64BE(m.importWhTotal, 120);
    struct.writeBigUInt64BE(m.exportWhTotal, 152);
    hash(struct).copy(outer, 34);
    return "0x" + hash(outer).toString("hex");
  };
}
