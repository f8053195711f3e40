/**
 * Test oracle of the attributed-ctr example: each click's impression looked up straight from the generated
 * events, impressions and attributed clicks summed per product and 10 s window, sharing no code with the
 * topology or the DSL.
 */
import type { AdClick, Impression } from '../click-attribution/ads.js'
import type { AttributedCtr } from './topology.js'

export function expectedAttributedCtr(
  impressions: readonly Impression[],
  clicks: readonly AdClick[],
  windowMs: number,
): AttributedCtr[] {
  const shown = new Map(impressions.map((i) => [i.impression_id, i]))
  const sums = new Map<string, { product_id: string; start: number; impressions: number; clicks: number }>()
  const add = (product_id: string, t: number, impressions: number, clicks: number) => {
    const start = t - (t % 10_000)
    const id = `${product_id} ${start}`
    const s = sums.get(id) ?? { product_id, start, impressions: 0, clicks: 0 }
    s.impressions += impressions
    s.clicks += clicks
    sums.set(id, s)
  }
  for (const i of impressions) add(i.product_id, i.timestamp, 1, 0)
  for (const c of clicks) {
    const i = shown.get(c.impression_id)
    if (i !== undefined && i.timestamp <= c.timestamp && c.timestamp - i.timestamp <= windowMs)
      add(i.product_id, c.timestamp, 0, 1)
  }
  return sortedCtr(
    [...sums.values()].map((s) => ({
      product_id: s.product_id,
      window_start: s.start,
      window_end: s.start + 10_000,
      impressions: s.impressions,
      clicks: s.clicks,
      ctr: s.impressions > 0 ? s.clicks / s.impressions : 0,
    })),
  )
}

/** By window, then product, for comparing. */
export const sortedCtr = (rs: readonly AttributedCtr[]): AttributedCtr[] =>
  [...rs].sort(
    (a, b) =>
      a.window_start - b.window_start || (a.product_id < b.product_id ? -1 : a.product_id > b.product_id ? 1 : 0),
  )
