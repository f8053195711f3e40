import {
  type DeadLetter,
  type Duration,
  json,
  type Sink,
  type Topology,
  topic,
  topology,
  tumbling,
} from '@ctr/streams-dsl'
import { z } from 'zod'
import { EventTimestamp } from '../common/event-time.js'

/**
 * A click with its id, as a producer with retries sends it: `{"event_id": "c-41", "product_id": "p-3",
 * "timestamp": 1764330001234}`. A retry sends the same click again, with the same `event_id` and `timestamp`.
 *
 * @example
 * IdentifiedClick.parse({ event_id: 'c-41', product_id: 'p-3', timestamp: 1764330001234 })
 */
export const IdentifiedClick = z.object({
  event_id: z.string().min(1).max(128),
  product_id: z.string().min(1).max(128),
  timestamp: EventTimestamp,
})

/** A validated click. */
export type IdentifiedClick = z.output<typeof IdentifiedClick>

/** Distinct clicks of one product in one window. */
export type UniqueClickCount = {
  readonly product_id: string
  readonly window_start: number
  readonly window_end: number
  readonly clicks: number
}

/** Where the unique-clicks topology reads and writes. */
export type UniqueClicksOptions = {
  readonly applicationId: string
  /** Topic of {@link IdentifiedClick} events, keyed by `event_id` (so that a click and its retries meet). */
  readonly input: string
  readonly results: Sink<UniqueClickCount>
  /** Bad records and late events (default: the runner's DLQ `<applicationId>-dlq`). */
  readonly deadLetters?: Sink<DeadLetter>
  /** How long after a click its retries are still recognised (default 1 minute). */
  readonly within?: Duration
  /** Window length (default 10 s). */
  readonly size?: Duration
}

/**
 * Clicks per product and 10-second window, each click counted once however often it was delivered: a producer
 * that retries (at-least-once) sends some clicks two or three times, and `deduplicate` lets the first copy of an
 * `event_id` through and drops the copies that follow it within a minute. The input is keyed by `event_id`, so the
 * copies of a click land in one partition, where the dedupe finds them; the keyBy after it repartitions by product.
 * Events may be 2 s out of order; a partition silent for 5 s stops holding the watermark back.
 *
 * @example
 * uniqueClicksTopology({ applicationId: 'unique-clicks', input: 'clicks-with-retries', results: redisHash({ key: 'unique-clicks:latest', field: (r) => r.product_id }) })
 */
export function uniqueClicksTopology(o: UniqueClicksOptions): Topology {
  const app = topology(o.applicationId, {
    watermarks: { maxOutOfOrderness: '2s', idleTimeout: '5s', maxFutureSkew: '5m' },
  })
  app
    .source(topic(o.input, { value: json(IdentifiedClick), timestamp: (c) => c.timestamp }))
    .deduplicate({ by: (c) => c.event_id, within: o.within ?? '1m', name: 'first-delivery' })
    .keyBy((c) => c.product_id, { name: 'by-product' })
    .window(tumbling(o.size ?? '10s'), { name: 'per-10s' })
    .count()
    .map((r) => ({ product_id: r.key, window_start: r.window.start, window_end: r.window.end, clicks: r.value }))
    .to(o.results)
  if (o.deadLetters) app.deadLetters().to(o.deadLetters)
  return app.build()
}
