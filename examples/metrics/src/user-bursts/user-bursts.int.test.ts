/**
 * user-bursts on the real cluster and Redis: simulated visits (3 minutes, 3 partitions) and one malformed record
 * in a fresh topic, the example as `pnpm example user-bursts` wires it, run to the end of the topic; then every
 * (user, view time) had its window written, and the Redis hash user-bursts:latest holds exactly each user's
 * activity as of their last view, as the oracle counts it.
 */
import { mulberry32 } from '@ctr/producers'
import { consume, createTopics, freshRedis, kafkaBrokers, produce, uniqueTopic } from '@ctr/testing'
import { expect, it, onTestFinished } from 'vitest'
import { BrowsingGenerator, type SimulatedView } from '../common/browsing.js'
import { pastMinute, runUntilEnd } from '../harness/test-run.js'
import { USER_BURSTS_KEY, userBurstsExample } from './example.js'
import { expectedBursts } from './oracle.js'
import type { UserBurst } from './topology.js'

it('writes each user activity as of their last view to Redis, as the oracle counts it; a bad record goes to the DLQ', async () => {
  const input = uniqueTopic('user-bursts')
  const applicationId = uniqueTopic('example-user-bursts')
  await createTopics([{ topic: input, partitions: 3 }])
  const redis = await freshRedis()
  onTestFinished(() => redis.release())

  const T = pastMinute()
  const users = new BrowsingGenerator(
    {
      users: 40,
      pages: ['/', '/a'],
      viewsPerVisit: { min: 1, max: 12 },
      viewGapMs: { min: 500, max: 6000 },
      pauseMs: { min: 10_000, max: 40_000 },
    },
    mulberry32(31),
    T,
  )
  const views: SimulatedView[] = []
  for (let now = T; now <= T + 180_000; now += 500) views.push(...users.tick(now))
  await produce(input, [
    ...views.map((v) => ({ key: v.user_id, value: JSON.stringify(v), timestamp: v.timestamp })),
    { key: 'u-1', value: 'not json', timestamp: T },
  ])

  const ctx = { applicationId, input, output: undefined, kafkaBrokers: kafkaBrokers(), redisUrl: redis.url }
  const { code, status } = await runUntilEnd(userBurstsExample, ctx)
  expect(code).toBe(0)

  const all = expectedBursts(views, 30_000, 5)
  expect(all.some((b) => b.burst)).toBe(true)
  const last = new Map<string, UserBurst>()
  for (const b of all) if ((last.get(b.user_id)?.at ?? -1) < b.at) last.set(b.user_id, b)
  expect(last.size).toBe(40)
  expect(status.counters?.windowsEmitted).toBe(all.length)
  const stored = await redis.hgetall(USER_BURSTS_KEY)
  expect(Object.fromEntries(Object.entries(stored).map(([user, json]) => [user, JSON.parse(json)]))).toEqual(
    Object.fromEntries(last),
  )

  const [dead] = await consume(`${applicationId}-dlq`, { count: 1 })
  expect(dead?.headers).toMatchObject({ 'error.reason': 'invalid_json', 'source.topic': input })
})
