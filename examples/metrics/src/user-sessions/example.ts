import { redisHash } from '@ctr/streams-dsl/redis'
import { BrowsingGenerator, SHOP_PAGES } from '../common/browsing.js'
import { clock, type Example, span } from '../harness/example.js'
import { type UserSession, userSessionsTopology } from './topology.js'

/** The Redis hash of each user's last session. */
export const USER_SESSIONS_KEY = 'user-sessions:last'

/** Sessions shown per printed line. */
const SHOWN = 3

const seconds = (ms: number) => `${(ms / 1000).toFixed(1)} s`

/** `pnpm example user-sessions`. */
export const userSessionsExample: Example<UserSession> = {
  name: 'user-sessions',
  summary:
    'per user session (views at most 20 s apart): its views and duration, as each session ends (session windows), to Redis',
  input: 'example-user-sessions',
  usesRedis: true,
  results: (ctx) => ({
    // a user's sessions end one after the other, so the field ends up holding the last one
    sink: redisHash({ key: USER_SESSIONS_KEY, field: (r) => r.user_id }),
    where:
      `Redis hash ${USER_SESSIONS_KEY} on ${ctx.redisUrl}, a field per user with their last session ` +
      `(redis-cli -u ${ctx.redisUrl} HGETALL ${USER_SESSIONS_KEY})`,
  }),
  topology: (ctx, results) => userSessionsTopology({ applicationId: ctx.applicationId, input: ctx.input, results }),
  producer: (rng, start) => {
    // visits of views 1-8 s apart, pauses well over the 20 s gap between them
    const users = new BrowsingGenerator(
      {
        users: 30,
        pages: SHOP_PAGES,
        viewsPerVisit: { min: 1, max: 10 },
        viewGapMs: { min: 1_000, max: 8_000 },
        pauseMs: { min: 25_000, max: 90_000 },
      },
      rng,
      start,
    )
    return {
      tick: (now) => users.tick(now).map((v) => ({ key: v.user_id, value: JSON.stringify(v), timestamp: v.timestamp })),
    }
  },
  print: (records) => {
    const shown = records
      .slice(0, SHOWN)
      .map((r) =>
        r.views === 1
          ? `${r.user_id} 1 view at ${clock(r.first_view)}`
          : `${r.user_id} ${r.views} views in ${seconds(r.duration_ms)} (${span(r.first_view, r.last_view)})`,
      )
    const more = records.length > SHOWN ? `, and ${records.length - SHOWN} more` : ''
    return [
      `${records.length === 1 ? 'session ended' : `${records.length} sessions ended`}: ${shown.join(', ')}${more}`,
    ]
  },
}
