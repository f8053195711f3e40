/**
 * Test oracle of the unique-clicks example: distinct event ids per product and 10-second window, straight from
 * the definitions, sharing no code with the topology or the DSL.
 */
import type { UniqueClickCount } from './topology.js'

const WINDOW = 10_000

/** Per product and window, the number of distinct `event_id`s among the clicks in it (copies count once). */
export function expectedUniqueCounts(
  clicks: readonly { event_id: string; product_id: string; timestamp: number }[],
): UniqueClickCount[] {
  const ids = new Map<string, { r: Omit<UniqueClickCount, 'clicks'>; ids: Set<string> }>()
  for (const c of clicks) {
    const start = Math.floor(c.timestamp / WINDOW) * WINDOW
    const id = `${c.product_id} ${start}`
    let e = ids.get(id)
    if (e === undefined) {
      e = { r: { product_id: c.product_id, window_start: start, window_end: start + WINDOW }, ids: new Set() }
      ids.set(id, e)
    }
    e.ids.add(c.event_id)
  }
  return sorted([...ids.values()].map((e) => ({ ...e.r, clicks: e.ids.size })))
}

/** Results by window, then product. */
export const sorted = (rs: readonly UniqueClickCount[]): UniqueClickCount[] =>
  [...rs].sort(
    (a, b) =>
      a.window_start - b.window_start || (a.product_id < b.product_id ? -1 : a.product_id > b.product_id ? 1 : 0),
  )
