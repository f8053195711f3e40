/**
 * Test oracle of the category-ctr example: each event's category looked up as of its time straight from the
 * catalogue versions, summed per category and 10 s window, sharing no code with the topology or the DSL.
 */
import type { AdEvent, Product } from './shop.js'
import { type CategoryCtr, UNCATEGORISED } from './topology.js'

export function expectedCategoryCtr(events: readonly AdEvent[], versions: readonly Product[]): CategoryCtr[] {
  const categoryAt = (product: string, t: number): string => {
    let best: Product | undefined
    for (const v of versions)
      if (v.product_id === product && v.updated_at <= t && (best === undefined || v.updated_at >= best.updated_at))
        best = v
    return best?.category ?? UNCATEGORISED
  }
  const sums = new Map<string, { category: string; start: number; impressions: number; clicks: number }>()
  for (const e of events) {
    const category = categoryAt(e.product_id, e.timestamp)
    const start = e.timestamp - (e.timestamp % 10_000)
    const id = `${category} ${start}`
    const s = sums.get(id) ?? { category, start, impressions: 0, clicks: 0 }
    if (e.type === 'impression') s.impressions++
    else s.clicks++
    sums.set(id, s)
  }
  return sortedCtr(
    [...sums.values()].map((s) => ({
      category: s.category,
      window_start: s.start,
      window_end: s.start + 10_000,
      impressions: s.impressions,
      clicks: s.clicks,
      ctr: s.impressions > 0 ? s.clicks / s.impressions : 0,
    })),
  )
}

/** By window, then category, for comparing. */
export const sortedCtr = (rs: CategoryCtr[]): CategoryCtr[] =>
  [...rs].sort(
    (a, b) => a.window_start - b.window_start || (a.category < b.category ? -1 : a.category > b.category ? 1 : 0),
  )
