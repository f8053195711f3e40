import type { CtrSpec } from './config.js'

/**
 * The id of the i-th product (0-based): `p-1`, `p-2`, ...
 *
 * @example
 * productId(0) // 'p-1'
 */
export function productId(i: number): string {
  return `p-${i + 1}`
}

/**
 * The true CTR of the i-th of n products: `min` for all when the spec is one value, otherwise
 * spread evenly from `min` (p-1) to `max` (p-n).
 *
 * @example
 * productCtr(2, 5, { min: 0.1, max: 0.2 }) // 0.15
 */
export function productCtr(i: number, n: number, spec: CtrSpec): number {
  if (n <= 1 || spec.max === spec.min) return spec.min
  return spec.min + ((spec.max - spec.min) * i) / (n - 1)
}
