/**
 * page-views on the real cluster and Redis: simulated views (3 minutes, 3 partitions) and one malformed record
 * in a fresh topic, the example as `pnpm example page-views` wires it, run to the end of the topic; then the
 * Redis hash page-views:latest holds, for every page, exactly its newest window as the oracle counts it.
 */
import { mulberry32 } from '@ctr/producers'
import { consume, createTopics, freshRedis, kafkaBrokers, produce, uniqueTopic } from '@ctr/testing'
import { expect, it, onTestFinished } from 'vitest'
import { BrowsingGenerator, SHOP_PAGES, type SimulatedView } from '../common/browsing.js'
import { pastMinute, runUntilEnd } from '../harness/test-run.js'
import { PAGE_VIEWS_KEY, pageViewsExample } from './example.js'
import { expectedCounts } from './oracle.js'
import type { PageViewCount } from './topology.js'

it('writes the newest 1-minute count of every page to Redis, as the oracle counts it; a bad record goes to the DLQ', async () => {
  const input = uniqueTopic('page-views')
  const applicationId = uniqueTopic('example-page-views')
  await createTopics([{ topic: input, partitions: 3 }])
  const redis = await freshRedis()
  onTestFinished(() => redis.release())

  const T = pastMinute()
  const users = new BrowsingGenerator(
    {
      users: 60,
      pages: SHOP_PAGES,
      viewsPerVisit: { min: 2, max: 8 },
      viewGapMs: { min: 500, max: 4000 },
      pauseMs: { min: 5000, max: 30_000 },
    },
    mulberry32(17),
    T,
  )
  const views: SimulatedView[] = []
  for (let now = T; now <= T + 180_000; now += 500) views.push(...users.tick(now))
  await produce(input, [
    ...views.map((v) => ({ key: v.user_id, value: JSON.stringify(v), timestamp: v.timestamp })),
    { key: 'u-1', value: '{"page": "/", "user_id": ', timestamp: T + 180_000 },
  ])

  const ctx = { applicationId, input, output: undefined, kafkaBrokers: kafkaBrokers(), redisUrl: redis.url }
  const { code, status } = await runUntilEnd(pageViewsExample, ctx)
  expect(code).toBe(0)
  expect(status.counters?.eventsIn).toBe(views.length + 1)

  // windows fire in end order: each page's field holds its newest window
  const newest = new Map<string, PageViewCount>()
  for (const c of expectedCounts(views)) newest.set(c.page, c)
  const stored = await redis.hgetall(PAGE_VIEWS_KEY)
  expect(Object.fromEntries(Object.entries(stored).map(([page, json]) => [page, JSON.parse(json)]))).toEqual(
    Object.fromEntries(newest),
  )
  expect(Object.keys(stored).length).toBe(SHOP_PAGES.length)

  const [dead] = await consume(`${applicationId}-dlq`, { count: 1 })
  expect(dead?.headers).toMatchObject({ 'error.reason': 'invalid_json', 'source.topic': input })
  expect(status.deadLetters).toEqual({ invalid_json: 1 })
})
