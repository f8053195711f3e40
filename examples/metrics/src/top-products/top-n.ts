import type { Aggregation } from '@ctr/streams-dsl'

/** A product and its clicks in a window. */
export type ProductClicks = { readonly product_id: string; readonly clicks: number }

/** The top of one window: the `n` most clicked products, and how many products and clicks there were. */
export type Ranking = {
  readonly top: readonly ProductClicks[]
  readonly products: number
  readonly clicks: number
}

/**
 * Clicks per product, as JSON (window state is snapshot). Keys are `#<product_id>`: no product id — not even
 * `__proto__` or `constructor` — can then meet a property every object has.
 */
type Counts = Record<string, number>

/**
 * The `n` products with the most clicks among a window's events, most clicked first (ties: product id in
 * code-point order). The accumulator counts every product of the window; `merge` adds two counts up.
 *
 * @example
 * clicks.keyBy(() => 'all').window(tumbling('30s')).aggregate(topByClicks(5))
 */
export function topByClicks(n: number): Aggregation<{ readonly product_id: string }, Counts, Ranking> {
  if (!Number.isInteger(n) || n < 1) throw new RangeError(`topByClicks: n must be a whole number >= 1, got ${n}`)
  return {
    name: `top-${n}-by-clicks`,
    init: () => ({}),
    add: (acc, click) => {
      const k = `#${click.product_id}`
      acc[k] = (acc[k] ?? 0) + 1
      return acc
    },
    merge: (a, b) => {
      const out = { ...a }
      for (const [k, c] of Object.entries(b)) out[k] = (out[k] ?? 0) + c
      return out
    },
    result: (acc) => {
      const all = Object.entries(acc).map(([k, clicks]) => ({ product_id: k.slice(1), clicks }))
      all.sort((a, b) => b.clicks - a.clicks || (a.product_id < b.product_id ? -1 : 1))
      return { top: all.slice(0, n), products: all.length, clicks: all.reduce((s, p) => s + p.clicks, 0) }
    },
  }
}
