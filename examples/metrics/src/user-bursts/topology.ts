import {
  type DeadLetter,
  type Duration,
  json,
  type Sink,
  sliding,
  type Topology,
  toMillis,
  topic,
  topology,
} from '@ctr/streams-dsl'
import { PageView } from '../common/page-view.js'

/** A user's activity as of one of their views: how many views they made within `window` before it. */
export type UserBurst = {
  readonly user_id: string
  /** The view's time (epoch ms): the window is [at - window, at], both ends included. */
  readonly at: number
  /** Views of the user within the window, this one included. */
  readonly views: number
  /** True when `views` reaches the threshold: a burst (a bot, a refresh loop, a very keen shopper). */
  readonly burst: boolean
}

/** Where the user-bursts topology reads and writes. */
export type UserBurstsOptions = {
  readonly applicationId: string
  /** Topic of {@link PageView} events. */
  readonly input: string
  readonly results: Sink<UserBurst>
  /** Bad records and late events (default: the runner's DLQ `<applicationId>-dlq`). */
  readonly deadLetters?: Sink<DeadLetter>
  /** How far back each view looks (default 30 s). */
  readonly window?: Duration
  /** Views within the window that make a burst (default 5). */
  readonly threshold?: number
}

/**
 * Per user and view, the user's views within `window` before it (sliding windows: one window per view time,
 * `[t - window, t]`, not one per fixed hop), flagged as a burst from `threshold` views. A window closes once the
 * watermark passes its view; a late view (≤ 5 s) updates the windows it falls into.
 *
 * @example
 * userBurstsTopology({ applicationId: 'bursts', input: 'page-views', results, window: '1m', threshold: 20 })
 */
export function userBurstsTopology(o: UserBurstsOptions): Topology {
  const window = toMillis(o.window ?? '30s', 'window')
  const threshold = o.threshold ?? 5
  const app = topology(o.applicationId, {
    watermarks: { maxOutOfOrderness: '2s', idleTimeout: '5s', maxFutureSkew: '5m' },
  })
  app
    .source(topic(o.input, { value: json(PageView), timestamp: (v) => v.timestamp }))
    .keyBy((v) => v.user_id, { name: 'by-user' })
    .window(sliding(window), { name: 'recent-views', allowedLateness: '5s' })
    .count()
    // the window of the view at t is [t - window, t]: reported as { start: t - window, end: t + 1 }
    .map((r) => ({ user_id: r.key, at: r.window.end - 1, views: r.value, burst: r.value >= threshold }))
    .to(o.results)
  if (o.deadLetters) app.deadLetters().to(o.deadLetters)
  return app.build()
}
