/**
 * A small seeded pseudo-random number generator for the simulator (mulberry32: 32-bit state,
 * fast, good enough for load and weather noise; not for anything secret). Everything the
 * simulator draws comes from here, so a seed reproduces a whole community day exactly.
 */
import { ValidationError } from "../sdk/errors";

export interface Rng {
  /** Uniform in [0, 1). */
  next(): number;
  /** Uniform in [min, max). */
  float(min: number, max: number): number;
  /** Uniform integer in [min, max] (both inclusive). */
  int(min: number, max: number): number;
  /** Normal with the given mean and standard deviation (Box-Muller). */
  normal(mean?: number, sd?: number): number;
  /** true with probability p. */
  chance(p: number): boolean;
  /** One element of a non-empty array. */
  pick<T>(items: readonly T[]): T;
  /** Fisher-Yates shuffle into a new array. */
  shuffle<T>(items: readonly T[]): T[];
}

/** The raw mulberry32 generator: a function returning uniform numbers in [0, 1). */
export function mulberry32(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/**
 * Mixes numbers and strings into one 32-bit seed (FNV-1a over the parts, then a murmur3
 * finaliser), so that independent streams can be derived from a seed and a label:
 * `hashSeed(seed, "weather", day)`.
 */
export function hashSeed(...parts: (number | string)[]): number {
  let h = 0x811c9dc5;
  const mix = (byte: number) => {
    h ^= byte & 0xff;
    h = Math.imul(h, 0x01000193) >>> 0;
  };
  for (const part of parts) {
    if (typeof part === "number") {
      if (!Number.isFinite(part)) throw new ValidationError("seed", `seed parts must be finite numbers, got ${part}`);
      // Integers up to 2^53 keep all their bits; fractions are rare here and keep their text.
      const text = Number.isInteger(part) ? part.toString(16) : part.toString();
      mix(0x01);
      for (let k = 0; k < text.length; k++) mix(text.charCodeAt(k));
    } else {
      mix(0x02);
      for (let k = 0; k < part.length; k++) {
        const c = part.charCodeAt(k);
        mix(c);
        mix(c >>> 8);
      }
    }
    mix(0xff);
  }
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b) >>> 0;
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35) >>> 0;
  h ^= h >>> 16;
  return h >>> 0;
}

/** A seeded generator; `seed` must be an integer (it is reduced to 32 bits). */
export function createRng(seed: number): Rng {
  if (!Number.isSafeInteger(seed)) {
    throw new ValidationError("seed", `must be a safe integer, got ${seed}`);
  }
  const next = mulberry32(Number(BigInt.asUintN(32, BigInt(seed))));
  let spareNormal: number | undefined;
  const rng: Rng = {
    next,
    float: (min, max) => min + (max - min) * next(),
    int: (min, max) => min + Math.floor((max - min + 1) * next()),
    normal(mean = 0, sd = 1) {
      if (spareNormal !== undefined) {
        const z = spareNormal;
        spareNormal = undefined;
        return mean + sd * z;
      }
      let u = next();
      while (u === 0) u = next();
      const v = next();
      const r = Math.sqrt(-2 * Math.log(u));
      spareNormal = r * Math.sin(2 * Math.PI * v);
      return mean + sd * r * Math.cos(2 * Math.PI * v);
    },
    chance: (p) => next() < p,
    pick<T>(items: readonly T[]): T {
      if (items.length === 0) throw new ValidationError("items", "cannot pick from an empty array");
      return items[Math.floor(next() * items.length)];
    },
    shuffle<T>(items: readonly T[]): T[] {
      const out = [...items];
      for (let k = out.length - 1; k > 0; k--) {
        const r = Math.floor(next() * (k + 1));
        [out[k], out[r]] = [out[r], out[k]];
      }
      return out;
    },
  };
  return rng;
}
