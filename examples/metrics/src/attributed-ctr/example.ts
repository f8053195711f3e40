import { redisHash } from '@ctr/streams-dsl/redis'
import { adsInput } from '../click-attribution/ads.js'
import { type Example, span } from '../harness/example.js'
import { type AttributedCtr, attributedCtrTopology } from './topology.js'

/** The Redis hash of each product's newest window. */
export const ATTRIBUTED_CTR_KEY = 'attributed-ctr:latest'

/** Products shown per printed line. */
const SHOWN = 5

/** `pnpm example attributed-ctr`. */
export const attributedCtrExample: Example<AttributedCtr> = {
  name: 'attributed-ctr',
  summary:
    'CTR per product every 10 s counted by attribution: a click counts for the product of the impression it names when that was shown at most 30 min before it (an interval join), keyed again by product, to Redis',
  input: 'example-attributed-ctr-clicks',
  secondInput: 'example-attributed-ctr-impressions',
  usesRedis: true,
  results: (ctx) => ({
    // windows fire in end order, so each product's field ends up holding its newest window
    sink: redisHash({ key: ATTRIBUTED_CTR_KEY, field: (r) => r.product_id }),
    where:
      `Redis hash ${ATTRIBUTED_CTR_KEY} on ${ctx.redisUrl}, a field per product with its newest window ` +
      `(redis-cli -u ${ctx.redisUrl} HGETALL ${ATTRIBUTED_CTR_KEY})`,
  }),
  topology: (ctx, results) =>
    attributedCtrTopology({
      applicationId: ctx.applicationId,
      clicks: ctx.input,
      impressions: ctx.secondInput as string,
      results,
    }),
  producer: (rng, start) =>
    adsInput(
      { rate: 30, products: 8, clickThrough: 0.12, clickDelayMs: { min: 300, max: 20_000 }, strays: 0.01 },
      rng,
      start,
    ),
  print: (records) => {
    const byWindow = new Map<number, AttributedCtr[]>()
    for (const r of records) byWindow.set(r.window_start, [...(byWindow.get(r.window_start) ?? []), r])
    return [...byWindow.values()].map((rs) => {
      const first = rs[0] as AttributedCtr
      const sorted = [...rs].sort((a, b) => b.impressions - a.impressions)
      const cells = sorted
        .slice(0, SHOWN)
        .map((r) => `${r.product_id} ${(r.ctr * 100).toFixed(1)} % (${r.clicks}/${r.impressions})`)
      const more = sorted.length > SHOWN ? `, ... (${sorted.length} products)` : ''
      return `${span(first.window_start, first.window_end)} UTC  ${cells.join(', ')}${more}`
    })
  },
}
