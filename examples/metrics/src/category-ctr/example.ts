import { redisHash } from '@ctr/streams-dsl/redis'
import { type Example, span } from '../harness/example.js'
import { ShopGenerator } from './shop.js'
import { type CategoryCtr, categoryCtrTopology } from './topology.js'

/** The Redis hash of each category's newest window. */
export const CATEGORY_CTR_KEY = 'category-ctr:latest'

/** `pnpm example category-ctr`. */
export const categoryCtrExample: Example<CategoryCtr> = {
  name: 'category-ctr',
  summary:
    'CTR per product category every 10 s: each impression and click enriched with its category as of its time from a products table (a stream-table join), keyed again by category, to Redis',
  input: 'example-ad-events',
  secondInput: 'example-products',
  usesRedis: true,
  results: (ctx) => ({
    // windows fire in end order, so each category's field ends up holding its newest window
    sink: redisHash({ key: CATEGORY_CTR_KEY, field: (r) => r.category }),
    where:
      `Redis hash ${CATEGORY_CTR_KEY} on ${ctx.redisUrl}, a field per category with its newest window ` +
      `(redis-cli -u ${ctx.redisUrl} HGETALL ${CATEGORY_CTR_KEY})`,
  }),
  topology: (ctx, results) =>
    categoryCtrTopology({
      applicationId: ctx.applicationId,
      events: ctx.input,
      products: ctx.secondInput as string,
      results,
    }),
  producer: (rng, start) => {
    const shop = new ShopGenerator(
      {
        rate: 40,
        products: 12,
        categories: ['shoes', 'hats', 'bags'],
        clickThrough: 0.08,
        moveEveryMs: 15_000,
        unlisted: 1,
      },
      rng,
      start,
    )
    return {
      tick: (now) =>
        shop.tick(now).map((e) => ({ key: e.product_id, value: JSON.stringify(e), timestamp: e.timestamp })),
      tickSecond: (now) =>
        shop.tickCatalogue(now).map((p) => ({ key: p.product_id, value: JSON.stringify(p), timestamp: p.updated_at })),
    }
  },
  print: (records) => {
    const byWindow = new Map<number, CategoryCtr[]>()
    for (const r of records) byWindow.set(r.window_start, [...(byWindow.get(r.window_start) ?? []), r])
    return [...byWindow.values()].map((rs) => {
      const first = rs[0] as CategoryCtr
      const cells = [...rs]
        .sort((a, b) => b.impressions - a.impressions)
        .map((r) => `${r.category} ${(r.ctr * 100).toFixed(1)} % (${r.clicks}/${r.impressions})`)
      return `${span(first.window_start, first.window_end)} UTC  ${cells.join(', ')}`
    })
  },
}
