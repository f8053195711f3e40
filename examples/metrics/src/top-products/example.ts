import { redisHash } from '@ctr/streams-dsl/redis'
import { type Example, span } from '../harness/example.js'
import { ClickGenerator } from './clicks.js'
import { type TopProducts, topProductsTopology } from './topology.js'

/** The Redis hash of the rankings: a field per window, its start in ISO-8601 (so fields sort by time). */
export const TOP_PRODUCTS_KEY = 'top-products:by-window'

/** `pnpm example top-products`. */
export const topProductsExample: Example<TopProducts> = {
  name: 'top-products',
  summary: 'the 5 most clicked products of every 30-second window (tumbling windows, one ranking per window), to Redis',
  input: 'example-top-products',
  usesRedis: true,
  results: (ctx) => ({
    sink: redisHash({ key: TOP_PRODUCTS_KEY, field: (r) => new Date(r.window_start).toISOString() }),
    where:
      `Redis hash ${TOP_PRODUCTS_KEY} on ${ctx.redisUrl}, a field per window (its start, ISO-8601) with the ranking ` +
      `(redis-cli -u ${ctx.redisUrl} HGETALL ${TOP_PRODUCTS_KEY})`,
  }),
  topology: (ctx, results) => topProductsTopology({ applicationId: ctx.applicationId, input: ctx.input, results }),
  producer: (rng, start) => {
    const clicks = new ClickGenerator({ rate: 100, products: 50, users: 1000, trendEveryMs: 120_000 }, rng, start)
    return {
      tick: (now) =>
        clicks.tick(now).map((c) => ({ key: c.product_id, value: JSON.stringify(c), timestamp: c.timestamp })),
    }
  },
  print: (records) =>
    records.map(
      (r) =>
        `${span(r.window_start, r.window_end)} UTC  ` +
        `${r.top.map((p, i) => `${i + 1}. ${p.product_id} ${p.clicks}`).join('  ')}` +
        `  (${r.clicks} clicks on ${r.products} products)`,
    ),
}
