/**
 * A seeded pseudo-random generator returning numbers in `[0, 1)`, for deterministic
 * election jitter and simulations. The same seed always yields the same sequence.
 * (mulberry32: 32 bits of state, fast, good enough for timeouts; not for cryptography.)
 *
 * @example
 * ```ts
 * const random = seededRandom(42);
 * const server = new Server({ id: 0, clusterSize: 3, messageChannel, random });
 * ```
 */
export function seededRandom(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Mixes a seed and a stream number into a new 32-bit seed, so each server gets its own stream. */
export function deriveSeed(seed: number, stream: number): number {
  let h = (seed ^ Math.imul(stream + 1, 0x9e3779b1)) >>> 0;
  h = Math.imul(h ^ (h >>> 16), 0x85ebca6b) >>> 0;
  h = Math.imul(h ^ (h >>> 13), 0xc2b2ae35) >>> 0;
  return (h ^ (h >>> 16)) >>> 0;
}
