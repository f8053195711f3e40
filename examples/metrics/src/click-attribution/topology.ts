import { type DeadLetter, type Duration, json, type Sink, type Topology, topic, topology } from '@ctr/streams-dsl'
import { AdClick, Impression } from './ads.js'

/** A click and the impression it is attributed to, if one was shown at most `window` before it. */
export type AttributedClick = {
  readonly click_id: string
  readonly impression_id: string
  /** The impression's product; null when the click is not attributed. */
  readonly product_id: string | null
  readonly attributed: boolean
  readonly clicked_at: number
  /** From the impression to the click; null when not attributed. */
  readonly delay_ms: number | null
}

/** Where the click-attribution topology reads and writes. */
export type ClickAttributionOptions = {
  readonly applicationId: string
  /** Topic of {@link Impression} events. */
  readonly impressions: string
  /** Topic of {@link AdClick} events. */
  readonly clicks: string
  readonly results: Sink<AttributedClick>
  /** Bad records and late events (default: the runner's DLQ `<applicationId>-dlq`). */
  readonly deadLetters?: Sink<DeadLetter>
  /** How long before a click its impression may have been shown (default 30 minutes). */
  readonly window?: Duration
}

/**
 * Each click joined to the impression it names (`impression_id`) when that impression was shown at most
 * `window` before it: an interval left join, so a click is attributed by what it names, not by falling in the
 * same window as some impression. An attributed click comes out as soon as both have arrived, in either order;
 * a click with no such impression comes out unattributed once `window` (plus 5 s of lateness) has passed.
 *
 * @example
 * clickAttributionTopology({ applicationId: 'attribution', impressions: 'impressions', clicks: 'clicks', results })
 */
export function clickAttributionTopology(o: ClickAttributionOptions): Topology {
  const app = topology(o.applicationId, {
    watermarks: { maxOutOfOrderness: '2s', idleTimeout: '5s', maxFutureSkew: '5m' },
  })
  const impressions = app.source(topic(o.impressions, { value: json(Impression), timestamp: (i) => i.timestamp }))
  const clicks = app.source(topic(o.clicks, { value: json(AdClick), timestamp: (c) => c.timestamp }))
  clicks
    .keyBy((c) => c.impression_id, { name: 'by-impression' })
    .leftJoin(
      impressions.keyBy((i) => i.impression_id),
      (click, impression): AttributedClick => ({
        click_id: click.click_id,
        impression_id: click.impression_id,
        product_id: impression?.product_id ?? null,
        attributed: impression !== undefined,
        clicked_at: click.timestamp,
        delay_ms: impression ? click.timestamp - impression.timestamp : null,
      }),
      { within: { before: o.window ?? '30m', after: 0 }, allowedLateness: '5s', name: 'attribute' },
    )
    .to(o.results)
  if (o.deadLetters) app.deadLetters().to(o.deadLetters)
  return app.build()
}
