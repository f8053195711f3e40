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
import { AdClick, Impression } from '../click-attribution/ads.js'

/** Impressions, attributed clicks and CTR of one product in one 10 s window. */
export type AttributedCtr = {
  readonly product_id: string
  readonly window_start: number
  readonly window_end: number
  /** Impressions of the product shown in the window. */
  readonly impressions: number
  /** Clicks in the window that name an impression of the product shown at most the attribution window before. */
  readonly clicks: number
  /** clicks / impressions; 0 without impressions. */
  readonly ctr: number
}

/** Where the attributed-ctr topology reads and writes. */
export type AttributedCtrOptions = {
  readonly applicationId: string
  /** Topic of {@link Impression} events. */
  readonly impressions: string
  /** Topic of {@link AdClick} events: a click names its impression, not its product. */
  readonly clicks: string
  readonly results: Sink<AttributedCtr>
  /** Bad records and late events (default: the runner's DLQ `<applicationId>-dlq`). */
  readonly deadLetters?: Sink<DeadLetter>
  /** How long before a click its impression may have been shown to be credited with it (default 30 minutes). */
  readonly window?: Duration
}

/**
 * CTR per product every 10 s, **counted by attribution**: a click names the impression it came from, and
 * counts for that impression's product only when that impression was shown at most `window` (30 min) before
 * it (an interval join on `impression_id`), never because some impression of the product fell in the same
 * window. Impressions count in the window of their time, attributed clicks in the window of theirs; both are
 * merged, keyed again by product and summed per tumbling window. A click naming no impression shown in time
 * counts nowhere. Keying the join's results again makes the topology one task (run it with `TASKS=single`).
 *
 * @example
 * attributedCtrTopology({ applicationId: 'attributed-ctr', impressions: 'impressions', clicks: 'clicks', results })
 */
export function attributedCtrTopology(o: AttributedCtrOptions): Topology {
  const app = topology(o.applicationId, {
    watermarks: { maxOutOfOrderness: '2s', idleTimeout: '5s', maxFutureSkew: '5m' },
  })
  type Counts = { readonly product_id: string; readonly impressions: number; readonly clicks: number }
  const impressions = app.source(topic(o.impressions, { value: json(Impression), timestamp: (i) => i.timestamp }))
  const clicks = app.source(topic(o.clicks, { value: json(AdClick), timestamp: (c) => c.timestamp }))
  const attributed = clicks
    .keyBy((c) => c.impression_id, { name: 'by-impression' })
    .join(
      impressions.keyBy((i) => i.impression_id),
      (_click, impression): Counts => ({ product_id: impression.product_id, impressions: 0, clicks: 1 }),
      { within: { before: o.window ?? '30m', after: 0 }, allowedLateness: '5s', name: 'attribute' },
    )
  impressions
    .map((i): Counts => ({ product_id: i.product_id, impressions: 1, clicks: 0 }), { name: 'shown' })
    .merge(attributed)
    .keyBy((c) => c.product_id, { name: 'by-product' })
    .window(tumbling('10s'), { allowedLateness: '5s', name: 'per-10s' })
    .aggregate(sumOf('impressions', 'clicks'))
    .map(
      (r): AttributedCtr => ({
        product_id: r.key,
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
