/** The stream shared by ingest-crash.test.ts and its child: meter m's registers at unix second ts. */
export const MARKET_START = 1_700_000_000 - (1_700_000_000 % 10);
export const INTERVAL = 10;
export const BASE = MARKET_START + 3; // the stream's first second, inside interval 0
export const METERS = 40;
export const SECONDS = 40;

export function registers(m: number, ts: number): { imp: bigint; exp: bigint } {
  const k = BigInt(ts - MARKET_START);
  return { imp: 1_000n + BigInt(m) * 7n + k * BigInt(1 + (m % 5)), exp: (k * BigInt(m % 3)) / 2n };
}
