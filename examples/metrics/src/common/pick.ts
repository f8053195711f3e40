import type { Rng } from '@ctr/producers'

/**
 * Picks indexes 0..n-1 with Zipf-like popularity: index i has weight 1 / (i + 1)^s, so a few items get most
 * of the traffic, as pages and products do (s = 0 is uniform). A binary search over the cumulative weights.
 *
 * @example
 * const pick = zipfPicker(20, 1, mulberry32(7))
 * pick() // 0 far more often than 19
 */
export function zipfPicker(n: number, s: number, rng: Rng): () => number {
  if (!Number.isInteger(n) || n < 1) throw new RangeError(`zipfPicker: n must be a whole number >= 1, got ${n}`)
  const cumulative: number[] = []
  let total = 0
  for (let i = 0; i < n; i++) {
    total += 1 / (i + 1) ** s
    cumulative.push(total)
  }
  return () => {
    const x = rng() * total
    let lo = 0
    let hi = n - 1
    while (lo < hi) {
      const mid = (lo + hi) >> 1
      if ((cumulative[mid] as number) > x) hi = mid
      else lo = mid + 1
    }
    return lo
  }
}

/** A whole number in [min, max], uniformly. */
export function between(rng: Rng, min: number, max: number): number {
  return min + Math.floor(rng() * (max - min + 1))
}
