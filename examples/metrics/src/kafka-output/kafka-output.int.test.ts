/**
 * kafka-output on the real cluster: simulated orders (90 s, 3 partitions) and one invalid order in a fresh
 * topic, the example as `pnpm example kafka-output` wires it, run to the end of the topic; then the output
 * topic holds exactly one record per category and window, keyed by category, with the oracle's sums.
 */
import { mulberry32 } from '@ctr/producers'
import { consume, createTopics, kafkaBrokers, produce, uniqueTopic } from '@ctr/testing'
import { expect, it } from 'vitest'
import { pastMinute, runUntilEnd } from '../harness/test-run.js'
import { kafkaOutputExample } from './example.js'
import { expectedRevenue, sorted } from './oracle.js'
import { OrderGenerator, type SimulatedOrder } from './orders.js'
import type { CategoryRevenue } from './topology.js'

it('writes one record per category and 10 s window to the output topic, with the oracle sums; a bad order goes to the DLQ', async () => {
  const input = uniqueTopic('orders')
  const output = uniqueTopic('category-revenue')
  const applicationId = uniqueTopic('example-kafka-output')
  await createTopics([
    { topic: input, partitions: 3 },
    { topic: output, partitions: 3 },
  ])

  const T = pastMinute()
  const gen = new OrderGenerator({ rate: 40, delayed: 0 }, mulberry32(31), T)
  const orders: SimulatedOrder[] = []
  for (let now = T; now < T + 90_000; now += 200) orders.push(...gen.tick(now))
  await produce(input, [
    ...orders.map((o) => ({ key: o.category, value: JSON.stringify(o), timestamp: o.timestamp })),
    { key: 'books', value: JSON.stringify({ category: 'books', amount_cents: '12.00', timestamp: T }), timestamp: T },
  ])

  const ctx = { applicationId, input, output, kafkaBrokers: kafkaBrokers(), redisUrl: 'redis://unused:6379' }
  const { code, status } = await runUntilEnd(kafkaOutputExample, ctx)
  expect(code).toBe(0)

  const expected = expectedRevenue(orders)
  expect(expected.length).toBeGreaterThan(40)
  const written = await consume(output, { count: expected.length, timeoutMs: 30_000 })
  expect(sorted(written.map((m) => JSON.parse(m.value as string) as CategoryRevenue))).toEqual(expected)
  for (const m of written) expect(m.key).toBe(JSON.parse(m.value as string).category)
  // nothing more than one record per window: no duplicates without a crash
  expect(await consume(output, { timeoutMs: 3_000 })).toHaveLength(expected.length)

  const [dead] = await consume(`${applicationId}-dlq`, { count: 1 })
  expect(dead?.headers).toMatchObject({ 'error.reason': 'invalid_event', 'source.topic': input })
  expect(status.deadLetters).toEqual({ invalid_event: 1 })
})
