/**
 * category-ctr on the real cluster and Redis: a simulated shop (2 minutes; events and the products table in
 * two topics of 3 partitions, keyed by product) and one malformed event, the example as `pnpm example
 * category-ctr` wires it, run to the end of its topics as one task; then the Redis hash category-ctr:latest
 * holds each category's newest window as the oracle counts it, and every window was written. The same topology
 * on several tasks is refused at start, with the reason.
 */
import { mulberry32 } from '@ctr/producers'
import { createRunner } from '@ctr/streams-dsl/runner'
import { collectingSink } from '@ctr/streams-dsl/testing'
import { consume, createTopics, freshRedis, kafkaBrokers, produce, uniqueTopic } from '@ctr/testing'
import { expect, it, onTestFinished } from 'vitest'
import { pastMinute, runUntilEnd } from '../harness/test-run.js'
import { CATEGORY_CTR_KEY, categoryCtrExample } from './example.js'
import { expectedCategoryCtr } from './oracle.js'
import { type AdEvent, type Product, ShopGenerator } from './shop.js'
import { type CategoryCtr, categoryCtrTopology } from './topology.js'

it('writes each category newest window to Redis as the oracle counts it, with each event in its category as of its time', async () => {
  const events = uniqueTopic('ad-events')
  const products = uniqueTopic('products')
  const applicationId = uniqueTopic('example-category-ctr')
  await createTopics([events, products].map((topic) => ({ topic, partitions: 3 })))
  const redis = await freshRedis()
  onTestFinished(() => redis.release())

  const T = pastMinute()
  const shop = new ShopGenerator(
    {
      rate: 40,
      products: 12,
      categories: ['shoes', 'hats', 'bags'],
      clickThrough: 0.1,
      moveEveryMs: 9_000,
      unlisted: 1,
    },
    mulberry32(23),
    T,
  )
  const all: AdEvent[] = []
  const versions: Product[] = []
  for (let now = T; now <= T + 120_000; now += 500) {
    all.push(...shop.tick(now))
    versions.push(...shop.tickCatalogue(now))
  }
  await produce(
    products,
    versions.map((p) => ({ key: p.product_id, value: JSON.stringify(p), timestamp: p.updated_at })),
  )
  await produce(events, [
    ...all.map((e) => ({ key: e.product_id, value: JSON.stringify(e), timestamp: e.timestamp })),
    { key: 'product-1', value: JSON.stringify({ type: 'view', product_id: 'product-1', timestamp: T }), timestamp: T },
  ])

  const ctx = {
    applicationId,
    input: events,
    secondInput: products,
    output: undefined,
    kafkaBrokers: kafkaBrokers(),
    redisUrl: redis.url,
  }
  const { code, status } = await runUntilEnd(categoryCtrExample, ctx)
  expect(code).toBe(0)

  const expected = expectedCategoryCtr(all, versions)
  expect(versions.length).toBeGreaterThan(20) // the catalogue and a dozen moves
  expect(status.counters?.windowsEmitted).toBe(expected.length)
  expect(status.counters?.late).toBe(0)
  const newest = new Map<string, CategoryCtr>()
  for (const r of expected) newest.set(r.category, r) // sorted by window
  const stored = await redis.hgetall(CATEGORY_CTR_KEY)
  expect(Object.fromEntries(Object.entries(stored).map(([c, json]) => [c, JSON.parse(json)]))).toEqual(
    Object.fromEntries(newest),
  )
  expect(newest.has('uncategorised')).toBe(true)

  const [dead] = await consume(`${applicationId}-dlq`, { count: 1 })
  expect(dead?.headers).toMatchObject({ 'error.reason': 'invalid_event', 'source.topic': events })

  // on several tasks its results would not meet: refused at start, saying what to do
  const runner = createRunner(
    categoryCtrTopology({ applicationId: `${applicationId}-auto`, events, products, results: collectingSink('x') }),
    {
      env: {},
      tasks: 'auto',
      config: { kafkaBrokers: kafkaBrokers(), port: 0, logLevel: 'silent' },
      requireRedis: false,
    },
  )
  await expect(runner.start()).rejects.toThrow(
    /by-category keys again the results of a join or a window.*set TASKS=single/,
  )
  await runner.stop().catch(() => {})
})
