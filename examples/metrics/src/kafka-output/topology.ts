import {
  type DeadLetter,
  type Duration,
  json,
  type Sink,
  sumOf,
  type Topology,
  topic,
  topology,
  tumbling,
} from '@ctr/streams-dsl'
import { Order } from './order.js'

/** Orders and revenue of one category in one window. */
export type CategoryRevenue = {
  readonly category: string
  readonly window_start: number
  readonly window_end: number
  readonly orders: number
  readonly revenue_cents: number
  /** revenue_cents / orders. */
  readonly average_order_cents: number
  /** True when a late order updated a window that had already been written. */
  readonly late_update: boolean
}

/** Where the category-revenue topology reads and writes. */
export type CategoryRevenueOptions = {
  readonly applicationId: string
  /** Topic of {@link Order} events. */
  readonly input: string
  /** Results: a Kafka topic in the example (`kafkaSink`), any sink in tests. */
  readonly results: Sink<CategoryRevenue>
  /** Bad records and late events (default: the runner's DLQ `<applicationId>-dlq`). */
  readonly deadLetters?: Sink<DeadLetter>
  /** Window length (default 10 s). */
  readonly size?: Duration
  /** How long after a window closed a late order still updates it (default 5 s): a second record goes out. */
  readonly allowedLateness?: Duration
}

/**
 * Orders and revenue per category in 10-second tumbling windows, with the average order value. Late orders
 * within the allowed lateness update their window: the topic then gets the window's full, updated result
 * again (`late_update: true`); a reader keeps the last record per category and window.
 *
 * @example
 * categoryRevenueTopology({ applicationId: 'revenue', input: 'orders', results: kafkaSink({ topic: 'revenue', key: (r) => r.category }) })
 */
export function categoryRevenueTopology(o: CategoryRevenueOptions): Topology {
  const app = topology(o.applicationId, {
    watermarks: { maxOutOfOrderness: '2s', idleTimeout: '5s', maxFutureSkew: '5m' },
  })
  app
    .source(topic(o.input, { value: json(Order), timestamp: (e) => e.timestamp }))
    .map((e) => ({ category: e.category, orders: 1, revenue_cents: e.amount_cents }))
    .keyBy((e) => e.category, { name: 'by-category' })
    .window(tumbling(o.size ?? '10s'), { name: 'per-window', allowedLateness: o.allowedLateness ?? '5s' })
    .aggregate(sumOf('orders', 'revenue_cents'))
    .map((r) => ({
      category: r.key,
      window_start: r.window.start,
      window_end: r.window.end,
      orders: r.value.orders,
      revenue_cents: r.value.revenue_cents,
      average_order_cents: r.value.revenue_cents / r.value.orders,
      late_update: r.lateFiring,
    }))
    .to(o.results)
  if (o.deadLetters) app.deadLetters().to(o.deadLetters)
  return app.build()
}
