/**
 * unique-clicks on the real cluster and Redis: simulated clicks with retries (2 minutes, 3 partitions, keyed by
 * event_id as the example's producer keys them) and one malformed record in a fresh topic, the example as
 * `pnpm example unique-clicks` wires it, run to the end of the topic; then the Redis hash unique-clicks:latest
 * holds, for every product, exactly its newest window's distinct clicks as the oracle counts them, and every copy
 * was dropped as a duplicate.
 */
import { mulberry32 } from '@ctr/producers'
import { consume, createTopics, freshRedis, kafkaBrokers, produce, uniqueTopic } from '@ctr/testing'
import { expect, it, onTestFinished } from 'vitest'
import { pastMinute, runUntilEnd } from '../harness/test-run.js'
import { ClickGenerator, type SimulatedClick } from '../top-products/clicks.js'
import { UNIQUE_CLICKS_KEY, uniqueClicksExample } from './example.js'
import { expectedUniqueCounts } from './oracle.js'
import { Retries } from './retries.js'
import type { UniqueClickCount } from './topology.js'

it('writes the newest window of distinct clicks of every product to Redis, each copy dropped; a bad record goes to the DLQ', async () => {
  const input = uniqueTopic('unique-clicks')
  const applicationId = uniqueTopic('example-unique-clicks')
  await createTopics([{ topic: input, partitions: 3 }])
  const redis = await freshRedis()
  onTestFinished(() => redis.release())

  const T = pastMinute()
  const rng = mulberry32(29)
  const gen = new ClickGenerator({ rate: 50, products: 20, users: 200, trendEveryMs: 0 }, rng, T)
  const retries = new Retries({ rate: 0.15, maxDelayMs: 5_000 }, rng)
  const sent: SimulatedClick[] = []
  for (let now = T; now <= T + 120_000; now += 250) sent.push(...retries.tick(now, gen.tick(now)))
  const distinct = new Set(sent.map((c) => c.event_id)).size
  expect(sent.length - distinct).toBeGreaterThan(500)
  await produce(input, [
    // keyed by event_id, as the example's producer does: a click and its copies in one partition
    ...sent.map((c) => ({ key: c.event_id, value: JSON.stringify(c), timestamp: c.timestamp })),
    { key: 'c-0', value: '{"event_id": "c-0", ', timestamp: T + 120_000 },
  ])

  const ctx = { applicationId, input, output: undefined, kafkaBrokers: kafkaBrokers(), redisUrl: redis.url }
  const { code, status } = await runUntilEnd(uniqueClicksExample, ctx)
  expect(code).toBe(0)
  expect(status.counters).toMatchObject({
    eventsIn: sent.length + 1,
    duplicatesDropped: sent.length - distinct,
    late: 0,
  })

  // windows fire in end order: each product's field holds its newest window
  const newest = new Map<string, UniqueClickCount>()
  for (const c of expectedUniqueCounts(sent)) newest.set(c.product_id, c)
  const stored = await redis.hgetall(UNIQUE_CLICKS_KEY)
  expect(Object.fromEntries(Object.entries(stored).map(([p, json]) => [p, JSON.parse(json)]))).toEqual(
    Object.fromEntries(newest),
  )
  expect(Object.keys(stored).length).toBe(20)

  const [dead] = await consume(`${applicationId}-dlq`, { count: 1 })
  expect(dead?.headers).toMatchObject({ 'error.reason': 'invalid_json', 'source.topic': input })
  expect(status.deadLetters).toEqual({ invalid_json: 1 })
})
