import { redisHash } from '@ctr/streams-dsl/redis'
import { BrowsingGenerator, SHOP_PAGES } from '../common/browsing.js'
import type { Example } from '../harness/example.js'
import { span } from '../harness/example.js'
import { type PageViewCount, pageViewsTopology } from './topology.js'

/** The Redis hash of the latest window's count per page. */
export const PAGE_VIEWS_KEY = 'page-views:latest'

/** Pages shown per window in the printed line. */
const SHOWN = 6

/** `pnpm example page-views`. */
export const pageViewsExample: Example<PageViewCount> = {
  name: 'page-views',
  summary: 'views per page in the last minute, a new 1-minute window every 10 s (hopping windows), to Redis',
  input: 'example-page-views',
  usesRedis: true,
  results: (ctx) => ({
    // windows fire in end order, so each page's field ends up holding its newest window
    sink: redisHash({ key: PAGE_VIEWS_KEY, field: (r) => r.page }),
    where:
      `Redis hash ${PAGE_VIEWS_KEY} on ${ctx.redisUrl}, a field per page with its newest window's count ` +
      `(redis-cli -u ${ctx.redisUrl} HGETALL ${PAGE_VIEWS_KEY})`,
  }),
  topology: (ctx, results) => pageViewsTopology({ applicationId: ctx.applicationId, input: ctx.input, results }),
  producer: (rng, start) => {
    const users = new BrowsingGenerator(
      {
        users: 200,
        pages: SHOP_PAGES,
        viewsPerVisit: { min: 3, max: 12 },
        viewGapMs: { min: 1_000, max: 5_000 },
        pauseMs: { min: 10_000, max: 60_000 },
      },
      rng,
      start,
    )
    return {
      tick: (now) => users.tick(now).map((v) => ({ key: v.user_id, value: JSON.stringify(v), timestamp: v.timestamp })),
    }
  },
  print: (records) => {
    const byWindow = new Map<number, PageViewCount[]>()
    for (const r of records) byWindow.set(r.window_start, [...(byWindow.get(r.window_start) ?? []), r])
    return [...byWindow.values()].map((rs) => {
      const top = [...rs].sort((a, b) => b.views - a.views || (a.page < b.page ? -1 : 1))
      const total = rs.reduce((n, r) => n + r.views, 0)
      const first = rs[0] as PageViewCount
      const shown = top.slice(0, SHOWN).map((r) => `${r.page} ${r.views}`)
      const more = top.length > SHOWN ? `, ... (${top.length} pages, ${total} views)` : ` (${total} views)`
      return `${span(first.window_start, first.window_end)} UTC  ${shown.join(', ')}${more}`
    })
  },
}
