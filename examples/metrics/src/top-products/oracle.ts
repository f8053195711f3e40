/**
 * Test oracle of the top-products example: each window's ranking counted and sorted straight from the clicks,
 * sharing no code with the topology or the DSL.
 */
import type { TopProducts } from './topology.js'

const S = 1_000

/** The ranking of each 30 s window, counted and sorted straight from the clicks. */
export function expectedRankings(
  clicks: readonly { product_id: string; timestamp: number }[],
  n: number,
): TopProducts[] {
  const windows = new Map<number, Map<string, number>>()
  for (const c of clicks) {
    const start = c.timestamp - (c.timestamp % (30 * S))
    const counts = windows.get(start) ?? new Map<string, number>()
    counts.set(c.product_id, (counts.get(c.product_id) ?? 0) + 1)
    windows.set(start, counts)
  }
  return [...windows.entries()]
    .sort(([a], [b]) => a - b)
    .map(([start, counts]) => {
      const ranked = [...counts.entries()]
        .map(([product_id, clicks]) => ({ product_id, clicks }))
        .sort((a, b) => b.clicks - a.clicks || (a.product_id < b.product_id ? -1 : a.product_id > b.product_id ? 1 : 0))
      return {
        window_start: start,
        window_end: start + 30 * S,
        top: ranked.slice(0, n),
        products: counts.size,
        clicks: [...counts.values()].reduce((a, b) => a + b, 0),
      }
    })
}
