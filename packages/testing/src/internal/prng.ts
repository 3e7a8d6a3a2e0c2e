/**
 * Seeded pseudo-random numbers shared by the scheduler and the fault injector.
 *
 * `mix` is splitmix32's finaliser (a seed hash that decorrelates neighbouring seeds such as 41, 42, 43); `make`
 * returns mulberry32 (Tommy Ettinger), a 32-bit generator with a full 2^32 period that is more than good enough to
 * pick among a handful of runnable tasks.
 *
 * @internal
 */

/**
 * A safe-integer seed as 32 bits: its low 32 bits, with the high bits (if any) folded in, so that seeds 2^32 apart do
 * not alias. Seeds in [-2^31, 2^32) map as `seed | 0` did before the fold, so recorded seeds replay unchanged.
 *
 * @internal
 */
export const seed32 = (seed: number): number => {
  const high = Math.floor(seed / 4294967296)
  return high === 0 || high === -1 ? seed | 0 : (seed | 0) ^ Math.imul(high, 0x85ebca6b)
}

/** @internal */
export const mix = (seed: number): number => {
  let z = (seed32(seed) + 0x9e3779b9) | 0
  z = Math.imul(z ^ (z >>> 16), 0x85ebca6b)
  z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35)
  return (z ^ (z >>> 16)) >>> 0
}

/** @internal */
export const hashString = (text: string): number => {
  let hash = 0x811c9dc5
  for (let i = 0; i < text.length; i++) {
    hash = Math.imul(hash ^ text.charCodeAt(i), 0x01000193)
  }
  return hash >>> 0
}

/** Returns a generator of floats in `[0, 1)`. @internal */
export const make = (seed: number): () => number => {
  let state = mix(seed)
  return () => {
    state = (state + 0x6d2b79f5) | 0
    let t = state
    t = Math.imul(t ^ (t >>> 15), t | 1)
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61)
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296
  }
}

/** Folds one number into an FNV-1a style running hash. @internal */
export const fold = (hash: number, value: number): number => Math.imul(hash ^ value, 0x01000193) >>> 0

/** The FNV-1a offset basis, the starting value for `fold`. @internal */
export const initialHash = 0x811c9dc5
