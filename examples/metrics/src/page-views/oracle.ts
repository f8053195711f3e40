/**
 * Test oracle of the page-views example: the counts straight from the definition of a hopping window, sharing
 * no code with the topology or the DSL.
 */
import type { PageViewCount } from './topology.js'

const S = 1_000

/** Counts per page and 1-minute window starting every 10 s, straight from the definition of a hopping window. */
export function expectedCounts(views: readonly { page: string; timestamp: number }[]): PageViewCount[] {
  const counts = new Map<string, PageViewCount>()
  for (const v of views) {
    const ts = v.timestamp
    // every multiple of 10 s in (ts - 60 s, ts]
    for (let start = Math.ceil((ts - 60 * S + 1) / (10 * S)) * 10 * S; start <= ts; start += 10 * S) {
      const id = `${v.page} ${start}`
      const c = counts.get(id) ?? { page: v.page, window_start: start, window_end: start + 60 * S, views: 0 }
      counts.set(id, { ...c, views: c.views + 1 })
    }
  }
  return sorted([...counts.values()])
}

/** Results by window, then page. */
export const sorted = (rs: readonly PageViewCount[]) =>
  [...rs].sort((a, b) => a.window_start - b.window_start || (a.page < b.page ? -1 : a.page > b.page ? 1 : 0))
