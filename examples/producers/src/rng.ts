/** A source of uniform random numbers in [0, 1). */
export type Rng = () => number

/**
 * A small, fast, seedable PRNG (mulberry32), so a run can be replayed from its seed.
 *
 * @example
 * const rng = mulberry32(42)
 * rng() // 0.6011037519201636, the same every time
 */
export function mulberry32(seed: number): Rng {
  let a = seed >>> 0
  return () => {
    a = (a + 0x6d2b79f5) >>> 0
    let t = a
    t = Math.imul(t ^ (t >>> 15), t | 1)
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61)
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296
  }
}
