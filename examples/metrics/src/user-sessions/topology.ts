import {
  type DeadLetter,
  type Duration,
  json,
  type Sink,
  session,
  type Topology,
  toMillis,
  topic,
  topology,
} from '@ctr/streams-dsl'
import { PageView } from '../common/page-view.js'

/** One visit of one user: the views that came less than the gap after each other. */
export type UserSession = {
  readonly user_id: string
  /** Time of the first and the last view (epoch ms). */
  readonly first_view: number
  readonly last_view: number
  /** last_view - first_view: 0 for a visit of one view. */
  readonly duration_ms: number
  readonly views: number
}

/** Where the user-sessions topology reads and writes. */
export type UserSessionsOptions = {
  readonly applicationId: string
  /** Topic of {@link PageView} events. */
  readonly input: string
  readonly results: Sink<UserSession>
  /** Bad records and late events (default: the runner's DLQ `<applicationId>-dlq`). */
  readonly deadLetters?: Sink<DeadLetter>
  /** Inactivity that ends a session (default 20 s; sites often take 30 minutes). */
  readonly gap?: Duration
}

/**
 * A user's views form one session while each comes at most `gap` after the one before; a session closes once
 * the watermark passes its last view + gap, and its result says how many views it had and how long it lasted.
 * Session windows `[first, last + gap)`, merged when an event (even out of order) bridges two.
 *
 * @example
 * userSessionsTopology({ applicationId: 'sessions', input: 'page-views', results, gap: '30m' })
 */
export function userSessionsTopology(o: UserSessionsOptions): Topology {
  const gap = toMillis(o.gap ?? '20s', 'gap')
  const app = topology(o.applicationId, {
    watermarks: { maxOutOfOrderness: '2s', idleTimeout: '5s', maxFutureSkew: '5m' },
  })
  app
    .source(topic(o.input, { value: json(PageView), timestamp: (v) => v.timestamp }))
    .keyBy((v) => v.user_id, { name: 'by-user' })
    .window(session(gap), { name: 'visits' })
    .count()
    // the session window is [first view, last view + gap): its bounds give the first and last view times
    .map((r) => ({
      user_id: r.key,
      first_view: r.window.start,
      last_view: r.window.end - gap,
      duration_ms: r.window.end - gap - r.window.start,
      views: r.value,
    }))
    .to(o.results)
  if (o.deadLetters) app.deadLetters().to(o.deadLetters)
  return app.build()
}
