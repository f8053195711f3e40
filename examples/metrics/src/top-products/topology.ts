import {
  type DeadLetter,
  type Duration,
  json,
  type Sink,
  type Topology,
  topic,
  topN,
  topology,
  tumbling,
} from '@ctr/streams-dsl'
import { Click } from './click.js'

/** A product and its clicks in a window. */
export type ProductClicks = { readonly product_id: string; readonly clicks: number }

/** The top products of one window. */
export type TopProducts = {
  readonly window_start: number
  readonly window_end: number
  /** The most clicked products, most first (ties: product id order). */
  readonly top: readonly ProductClicks[]
  /** Products clicked in the window, and clicks in all. */
  readonly products: number
  readonly clicks: number
}

/** Where the top-products topology reads and writes. */
export type TopProductsOptions = {
  readonly applicationId: string
  /** Topic of {@link Click} events. */
  readonly input: string
  readonly results: Sink<TopProducts>
  /** Bad records and late events (default: the runner's DLQ `<applicationId>-dlq`). */
  readonly deadLetters?: Sink<DeadLetter>
  /** How many products to rank (default 5). */
  readonly n?: number
  /** Window length (default 30 s). */
  readonly size?: Duration
}

/**
 * The top-N products by clicks per 30-second tumbling window. A ranking needs every click of the window in
 * one place, so all clicks go to one key (`all`) and the DSL's `topN` aggregation counts per product, ranking at
 * the end: state is one count per product clicked in an open window, and the ranking is computed once per
 * window. One key means one task: this scales with the number of products, not of instances.
 *
 * @example
 * topProductsTopology({ applicationId: 'top-products', input: 'clicks', results, n: 3 })
 */
export function topProductsTopology(o: TopProductsOptions): Topology {
  const app = topology(o.applicationId, {
    watermarks: { maxOutOfOrderness: '2s', idleTimeout: '5s', maxFutureSkew: '5m' },
  })
  app
    .source(topic(o.input, { value: json(Click), timestamp: (c) => c.timestamp }))
    .keyBy(() => 'all', { name: 'all-clicks' })
    .window(tumbling(o.size ?? '30s'), { name: 'per-window' })
    .aggregate(topN({ n: o.n ?? 5, key: (c) => c.product_id }))
    .map(
      (r): TopProducts => ({
        window_start: r.window.start,
        window_end: r.window.end,
        top: r.value.top.map((t) => ({ product_id: t.key, clicks: t.score })),
        products: r.value.keys,
        clicks: r.value.total,
      }),
    )
    .to(o.results)
  if (o.deadLetters) app.deadLetters().to(o.deadLetters)
  return app.build()
}
