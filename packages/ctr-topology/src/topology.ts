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
import type { CtrResult } from './contract.js'
import { ClickEvent, ImpressionEvent } from './events.js'
import { toCtrResult } from './result.js'

/** Where the CTR topology reads and writes; the job passes Kafka and Redis, tests pass collecting sinks. */
export type CtrTopologyOptions = {
  readonly applicationId: string
  readonly impressionsTopic: string
  readonly clicksTopic: string
  /** The per-product, per-window results (the job: Redis `ctr:latest` / `ctr:previous`). */
  readonly results: Sink<CtrResult>
  /** Where bad records and late events go; by default the runner's DLQ, Kafka `<applicationId>-dlq`. */
  readonly deadLetters?: Sink<DeadLetter>
  /** How long a silent input partition holds the watermark back (default 10 s). */
  readonly idleTimeout?: Duration
}

/**
 * The CTR job: impressions and clicks per product in 10 s tumbling event-time windows (3 s out of
 * order, 5 s allowed lateness), CTR = clicks / impressions; late events and bad records to the DLQ.
 *
 * @example
 * const t = ctrTopology({ applicationId: 'ctr', impressionsTopic: 'impressions', clicksTopic: 'clicks', results, deadLetters })
 */
export function ctrTopology(o: CtrTopologyOptions): Topology {
  const app = topology(o.applicationId, {
    watermarks: { maxOutOfOrderness: '3s', idleTimeout: o.idleTimeout ?? '10s', maxFutureSkew: '5m' },
  })

  const impressions = app.source(
    topic(o.impressionsTopic, { value: json(ImpressionEvent), timestamp: (e) => e.timestamp }),
  )
  const clicks = app.source(topic(o.clicksTopic, { value: json(ClickEvent), timestamp: (e) => e.timestamp }))

  impressions
    .map((e) => ({ productId: e.product_id, impressions: 1, clicks: 0 }))
    .merge(clicks.map((e) => ({ productId: e.product_id, impressions: 0, clicks: 1 })))
    .keyBy((e) => e.productId, { name: 'by-product' })
    .window(tumbling('10s'), { allowedLateness: '5s' })
    .aggregate(sumOf('impressions', 'clicks'))
    .map(toCtrResult)
    .to(o.results)

  // Bad records (invalid_json, invalid_event, future_timestamp) and late events (late_event) go,
  // with the original record, to the runner's DLQ `<applicationId>-dlq` unless routed here.
  if (o.deadLetters) app.deadLetters().to(o.deadLetters)

  return app.build()
}
