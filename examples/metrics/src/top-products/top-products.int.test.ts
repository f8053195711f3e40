/**
 * top-products on the real cluster and Redis: simulated clicks (150 s, 3 partitions) and one invalid record in
 * a fresh topic, the example as `pnpm example top-products` wires it, run to the end of the topic; then the
 * Redis hash top-products:by-window holds exactly the oracle's ranking of every 30 s window.
 */
import { mulberry32 } from '@ctr/producers'
import { consume, createTopics, freshRedis, kafkaBrokers, produce, uniqueTopic } from '@ctr/testing'
import { expect, it, onTestFinished } from 'vitest'
import { pastMinute, runUntilEnd } from '../harness/test-run.js'
import { ClickGenerator, type SimulatedClick } from './clicks.js'
import { TOP_PRODUCTS_KEY, topProductsExample } from './example.js'
import { expectedRankings } from './oracle.js'

it('writes the top 5 of every 30 s window to Redis, as the oracle ranks them; an invalid record goes to the DLQ', async () => {
  const input = uniqueTopic('top-products')
  const applicationId = uniqueTopic('example-top-products')
  await createTopics([{ topic: input, partitions: 3 }])
  const redis = await freshRedis()
  onTestFinished(() => redis.release())

  const T = pastMinute()
  const gen = new ClickGenerator({ rate: 60, products: 30, users: 200, trendEveryMs: 40_000 }, mulberry32(23), T)
  const clicks: SimulatedClick[] = []
  for (let now = T; now < T + 150_000; now += 250) clicks.push(...gen.tick(now))
  await produce(input, [
    ...clicks.map((c) => ({ key: c.product_id, value: JSON.stringify(c), timestamp: c.timestamp })),
    { key: 'p-1', value: JSON.stringify({ product_id: '', timestamp: T }), timestamp: T },
  ])

  const ctx = { applicationId, input, output: undefined, kafkaBrokers: kafkaBrokers(), redisUrl: redis.url }
  const { code, status } = await runUntilEnd(topProductsExample, ctx)
  expect(code).toBe(0)

  const expected = expectedRankings(clicks, 5)
  expect(expected).toHaveLength(5)
  const stored = await redis.hgetall(TOP_PRODUCTS_KEY)
  expect(Object.fromEntries(Object.entries(stored).map(([field, json]) => [field, JSON.parse(json)]))).toEqual(
    Object.fromEntries(expected.map((r) => [new Date(r.window_start).toISOString(), r])),
  )

  const [dead] = await consume(`${applicationId}-dlq`, { count: 1 })
  expect(dead?.headers).toMatchObject({ 'error.reason': 'invalid_event', 'source.topic': input })
  expect(status.deadLetters).toEqual({ invalid_event: 1 })
})
