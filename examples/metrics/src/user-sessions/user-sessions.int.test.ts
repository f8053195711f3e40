/**
 * user-sessions on the real cluster and Redis: simulated visits (4 minutes, 3 partitions) and one malformed
 * record in a fresh topic, the example as `pnpm example user-sessions` wires it, run to the end of the topic;
 * then the Redis hash user-sessions:last holds exactly every user's last session as the oracle cuts them.
 */
import { mulberry32 } from '@ctr/producers'
import { consume, createTopics, freshRedis, kafkaBrokers, produce, uniqueTopic } from '@ctr/testing'
import { expect, it, onTestFinished } from 'vitest'
import { BrowsingGenerator, type SimulatedView } from '../common/browsing.js'
import { pastMinute, runUntilEnd } from '../harness/test-run.js'
import { USER_SESSIONS_KEY, userSessionsExample } from './example.js'
import { expectedSessions } from './oracle.js'
import type { UserSession } from './topology.js'

it('writes every user last session (views, duration) to Redis, as the oracle cuts them; a bad record goes to the DLQ', async () => {
  const input = uniqueTopic('user-sessions')
  const applicationId = uniqueTopic('example-user-sessions')
  await createTopics([{ topic: input, partitions: 3 }])
  const redis = await freshRedis()
  onTestFinished(() => redis.release())

  const T = pastMinute()
  const users = new BrowsingGenerator(
    {
      users: 40,
      pages: ['/', '/a'],
      viewsPerVisit: { min: 1, max: 6 },
      viewGapMs: { min: 1000, max: 9000 },
      pauseMs: { min: 15_000, max: 50_000 },
    },
    mulberry32(29),
    T,
  )
  const views: SimulatedView[] = []
  for (let now = T; now <= T + 240_000; now += 500) views.push(...users.tick(now))
  await produce(input, [
    ...views.map((v) => ({ key: v.user_id, value: JSON.stringify(v), timestamp: v.timestamp })),
    { key: 'u-1', value: 'not json', timestamp: T },
  ])

  const ctx = { applicationId, input, output: undefined, kafkaBrokers: kafkaBrokers(), redisUrl: redis.url }
  const { code, status } = await runUntilEnd(userSessionsExample, ctx)
  expect(code).toBe(0)

  const sessions = expectedSessions(views, 20_000)
  const last = new Map<string, UserSession>()
  for (const s of sessions) if ((last.get(s.user_id)?.first_view ?? -1) < s.first_view) last.set(s.user_id, s)
  expect(last.size).toBe(40)
  expect(status.counters?.windowsEmitted).toBe(sessions.length)
  const stored = await redis.hgetall(USER_SESSIONS_KEY)
  expect(Object.fromEntries(Object.entries(stored).map(([user, json]) => [user, JSON.parse(json)]))).toEqual(
    Object.fromEntries(last),
  )

  const [dead] = await consume(`${applicationId}-dlq`, { count: 1 })
  expect(dead?.headers).toMatchObject({ 'error.reason': 'invalid_json', 'source.topic': input })
})
