import { type DeadLetter, json, type Sink, sumOf, type Topology, topic, topology, tumbling } from '@ctr/streams-dsl'
import { AdEvent, Product } from './shop.js'

/** Impressions, clicks and CTR of one category in one 10 s window. */
export type CategoryCtr = {
  readonly category: string
  readonly window_start: number
  readonly window_end: number
  readonly impressions: number
  readonly clicks: number
  /** clicks / impressions; 0 without impressions. */
  readonly ctr: number
}

/** The category of events whose product is not in the catalogue at their time. */
export const UNCATEGORISED = 'uncategorised'

/** Where the category-ctr topology reads and writes. */
export type CategoryCtrOptions = {
  readonly applicationId: string
  /** Topic of {@link AdEvent}s, keyed by product id. */
  readonly events: string
  /** Topic of {@link Product}s, keyed by product id (compacted). */
  readonly products: string
  readonly results: Sink<CategoryCtr>
  /** Bad records and late events (default: the runner's DLQ `<applicationId>-dlq`). */
  readonly deadLetters?: Sink<DeadLetter>
}

/**
 * CTR per category every 10 s: each impression and click enriched with its product's category **as of its
 * time** from the products table (a stream-table join), keyed again by category, summed per tumbling window. A
 * product that moves category counts in its old category before the move and in the new one after it. Keying
 * a join's results again makes the topology one task (run it with `TASKS=single`).
 *
 * @example
 * categoryCtrTopology({ applicationId: 'category-ctr', events: 'ad-events', products: 'products', results })
 */
export function categoryCtrTopology(o: CategoryCtrOptions): Topology {
  const app = topology(o.applicationId, {
    watermarks: { maxOutOfOrderness: '2s', idleTimeout: '5s', maxFutureSkew: '5m' },
  })
  const products = app.table(topic(o.products, { value: json(Product), timestamp: (p) => p.updated_at }))
  app
    .source(topic(o.events, { value: json(AdEvent), timestamp: (e) => e.timestamp }))
    .keyBy((e) => e.product_id, { name: 'by-product' })
    .leftJoin(
      products,
      (e, product) => ({
        category: product?.category ?? UNCATEGORISED,
        impressions: e.type === 'impression' ? 1 : 0,
        clicks: e.type === 'click' ? 1 : 0,
      }),
      { allowedLateness: '5s', name: 'categorise' },
    )
    .keyBy((e) => e.category, { name: 'by-category' })
    .window(tumbling('10s'), { allowedLateness: '5s', name: 'per-10s' })
    .aggregate(sumOf('impressions', 'clicks'))
    .map(
      (r): CategoryCtr => ({
        category: r.key,
        window_start: r.window.start,
        window_end: r.window.end,
        impressions: r.value.impressions,
        clicks: r.value.clicks,
        ctr: r.value.impressions > 0 ? r.value.clicks / r.value.impressions : 0,
      }),
    )
    .to(o.results)
  if (o.deadLetters) app.deadLetters().to(o.deadLetters)
  return app.build()
}
