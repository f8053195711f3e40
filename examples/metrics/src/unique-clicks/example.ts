import { redisHash } from '@ctr/streams-dsl/redis'
import { type Example, span } from '../harness/example.js'
import { ClickGenerator } from '../top-products/clicks.js'
import { Retries } from './retries.js'
import { type UniqueClickCount, uniqueClicksTopology } from './topology.js'

/** The Redis hash of the newest window's distinct clicks per product. */
export const UNIQUE_CLICKS_KEY = 'unique-clicks:latest'

/** Products shown per window in the printed line. */
const SHOWN = 5

/** `pnpm example unique-clicks`. */
export const uniqueClicksExample: Example<UniqueClickCount> = {
  name: 'unique-clicks',
  summary:
    'clicks per product and 10-second window from a producer that retries, each click counted once (deduplicate by event_id), to Redis',
  input: 'example-unique-clicks',
  usesRedis: true,
  results: (ctx) => ({
    // windows fire in end order, so each product's field ends up holding its newest window
    sink: redisHash({ key: UNIQUE_CLICKS_KEY, field: (r) => r.product_id }),
    where:
      `Redis hash ${UNIQUE_CLICKS_KEY} on ${ctx.redisUrl}, a field per product with its newest window's distinct clicks ` +
      `(redis-cli -u ${ctx.redisUrl} HGETALL ${UNIQUE_CLICKS_KEY}; copies dropped: duplicatesDropped in the status)`,
  }),
  topology: (ctx, results) => uniqueClicksTopology({ applicationId: ctx.applicationId, input: ctx.input, results }),
  producer: (rng, start) => {
    const clicks = new ClickGenerator({ rate: 100, products: 30, users: 1000, trendEveryMs: 0 }, rng, start)
    // one click in ten is sent again within 5 s (and one copy in ten once more)
    const retries = new Retries({ rate: 0.1, maxDelayMs: 5_000 }, rng)
    return {
      tick: (now) =>
        retries.tick(now, clicks.tick(now)).map((c) => ({
          key: c.event_id, // a click and its copies in one partition, where the dedupe meets them
          value: JSON.stringify({ event_id: c.event_id, product_id: c.product_id, timestamp: c.timestamp }),
          timestamp: c.timestamp,
        })),
    }
  },
  print: (records) => {
    const byWindow = new Map<number, UniqueClickCount[]>()
    for (const r of records) byWindow.set(r.window_start, [...(byWindow.get(r.window_start) ?? []), r])
    return [...byWindow.values()].map((rs) => {
      const top = [...rs].sort((a, b) => b.clicks - a.clicks || (a.product_id < b.product_id ? -1 : 1))
      const total = rs.reduce((n, r) => n + r.clicks, 0)
      const first = rs[0] as UniqueClickCount
      const shown = top.slice(0, SHOWN).map((r) => `${r.product_id} ${r.clicks}`)
      return `${span(first.window_start, first.window_end)} UTC  ${shown.join(', ')}, ... (${total} distinct clicks on ${rs.length} products)`
    })
  },
}
