import {
  type DeadLetter,
  type Duration,
  hopping,
  json,
  type Sink,
  type Topology,
  topic,
  topology,
} from '@ctr/streams-dsl'
import { PageView } from '../common/page-view.js'

/** Views of one page in one window. */
export type PageViewCount = {
  readonly page: string
  readonly window_start: number
  readonly window_end: number
  readonly views: number
}

/** Where the page-views topology reads and writes. */
export type PageViewsOptions = {
  readonly applicationId: string
  /** Topic of {@link PageView} events. */
  readonly input: string
  readonly results: Sink<PageViewCount>
  /** Bad records and late events (default: the runner's DLQ `<applicationId>-dlq`). */
  readonly deadLetters?: Sink<DeadLetter>
  /** Window length and how often a window starts (default 1 minute, every 10 s). */
  readonly size?: Duration
  readonly advance?: Duration
}

/**
 * Page views per page over hopping windows: each result counts a page's views in the last minute, and a new
 * window closes every 10 s, so every page with views gets a fresh "last minute" figure every 10 s. An event
 * belongs to six windows. Events may be 2 s out of order; a partition silent for 5 s stops holding the
 * watermark back.
 *
 * @example
 * pageViewsTopology({ applicationId: 'page-views', input: 'page-views', results: redisHash({ key: 'page-views:latest', field: (r) => r.page }) })
 */
export function pageViewsTopology(o: PageViewsOptions): Topology {
  const app = topology(o.applicationId, {
    watermarks: { maxOutOfOrderness: '2s', idleTimeout: '5s', maxFutureSkew: '5m' },
  })
  app
    .source(topic(o.input, { value: json(PageView), timestamp: (v) => v.timestamp }))
    .keyBy((v) => v.page, { name: 'by-page' })
    .window(hopping({ size: o.size ?? '1m', advance: o.advance ?? '10s' }), { name: 'last-minute' })
    .count()
    .map((r) => ({ page: r.key, window_start: r.window.start, window_end: r.window.end, views: r.value }))
    .to(o.results)
  if (o.deadLetters) app.deadLetters().to(o.deadLetters)
  return app.build()
}
