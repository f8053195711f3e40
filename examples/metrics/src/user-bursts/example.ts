import { redisHash } from '@ctr/streams-dsl/redis'
import { BrowsingGenerator, SHOP_PAGES } from '../common/browsing.js'
import { clock, type Example } from '../harness/example.js'
import { type UserBurst, userBurstsTopology } from './topology.js'

/** The Redis hash of each user's activity as of their last view. */
export const USER_BURSTS_KEY = 'user-bursts:latest'

/** Users shown per printed line. */
const SHOWN = 3

/** `pnpm example user-bursts`. */
export const userBurstsExample: Example<UserBurst> = {
  name: 'user-bursts',
  summary: 'per user and view, their views in the 30 s before it, flagged from 5 views (sliding windows), to Redis',
  input: 'example-user-bursts',
  usesRedis: true,
  results: (ctx) => ({
    // a user's windows close in the order of their views, so the field ends up holding the newest one
    sink: redisHash({ key: USER_BURSTS_KEY, field: (r) => r.user_id }),
    where:
      `Redis hash ${USER_BURSTS_KEY} on ${ctx.redisUrl}, a field per user with their activity as of their last ` +
      `view (redis-cli -u ${ctx.redisUrl} HGETALL ${USER_BURSTS_KEY})`,
  }),
  topology: (ctx, results) => userBurstsTopology({ applicationId: ctx.applicationId, input: ctx.input, results }),
  producer: (rng, start) => {
    // visits of views 1-8 s apart (some make 5 within 30 s), pauses between them
    const users = new BrowsingGenerator(
      {
        users: 30,
        pages: SHOP_PAGES,
        viewsPerVisit: { min: 1, max: 12 },
        viewGapMs: { min: 1_000, max: 8_000 },
        pauseMs: { min: 20_000, max: 60_000 },
      },
      rng,
      start,
    )
    return {
      tick: (now) => users.tick(now).map((v) => ({ key: v.user_id, value: JSON.stringify(v), timestamp: v.timestamp })),
    }
  },
  print: (records) => {
    const bursts = records.filter((r) => r.burst)
    const shown = (bursts.length > 0 ? bursts : records)
      .slice(0, SHOWN)
      .map((r) => `${r.user_id} ${r.views} view${r.views === 1 ? '' : 's'} in the 30 s to ${clock(r.at)}`)
    const more = records.length > SHOWN ? `, ${records.length} views in all` : ''
    const head = bursts.length > 0 ? `${bursts.length} burst${bursts.length === 1 ? '' : 's'}` : 'no burst'
    return [`${head}: ${shown.join(', ')}${more}`]
  },
}
