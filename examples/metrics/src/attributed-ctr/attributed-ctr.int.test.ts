/**
 * attributed-ctr on the real cluster and Redis: simulated impressions and clicks (2 minutes, two topics of 3
 * partitions keyed by impression id) and one malformed click, the example as `pnpm example attributed-ctr`
 * wires it (with an 8 s attribution window, so some clicks come too late to count), run to the end of its
 * topics as one task; then the Redis hash attributed-ctr:latest holds each product's newest window as the
 * oracle counts it, every window was written, and the bad click is in the DLQ.
 */
import { mulberry32 } from '@ctr/producers'
import { consume, createTopics, freshRedis, kafkaBrokers, produce, uniqueTopic } from '@ctr/testing'
import { expect, it, onTestFinished } from 'vitest'
import { adMessage, simulateAds } from '../click-attribution/ads.js'
import { pastMinute, runUntilEnd } from '../harness/test-run.js'
import { ATTRIBUTED_CTR_KEY, attributedCtrExample } from './example.js'
import { expectedAttributedCtr } from './oracle.js'
import { type AttributedCtr, attributedCtrTopology } from './topology.js'

it('writes each product newest window to Redis, clicks counted for the product of the impression they name', async () => {
  const clicksTopic = uniqueTopic('ad-clicks')
  const impressionsTopic = uniqueTopic('ad-impressions')
  const applicationId = uniqueTopic('example-attributed-ctr')
  await createTopics([clicksTopic, impressionsTopic].map((topic) => ({ topic, partitions: 3 })))
  const redis = await freshRedis()
  onTestFinished(() => redis.release())

  const T = pastMinute()
  const { impressions, clicks } = simulateAds(
    { rate: 25, products: 6, clickThrough: 0.3, clickDelayMs: { min: 0, max: 12_000 }, strays: 0.03 },
    mulberry32(13),
    T,
    120_000,
  )
  await produce(impressionsTopic, impressions.map(adMessage))
  await produce(clicksTopic, [
    ...clicks.map(adMessage),
    { key: 'imp-1', value: JSON.stringify({ click_id: 'bad', timestamp: T }), timestamp: T },
  ])

  const WINDOW = 8_000
  const example = {
    ...attributedCtrExample,
    topology: (ctx: Parameters<typeof attributedCtrExample.topology>[0], results: never) =>
      attributedCtrTopology({
        applicationId: ctx.applicationId,
        clicks: ctx.input,
        impressions: ctx.secondInput as string,
        results,
        window: WINDOW,
      }),
  }
  const ctx = {
    applicationId,
    input: clicksTopic,
    secondInput: impressionsTopic,
    output: undefined,
    kafkaBrokers: kafkaBrokers(),
    redisUrl: redis.url,
  }
  const { code, status } = await runUntilEnd(example, ctx)
  expect(code).toBe(0)

  const expected = expectedAttributedCtr(impressions, clicks, WINDOW)
  const attributed = expected.reduce((n, r) => n + r.clicks, 0)
  expect(attributed).toBeGreaterThan(400)
  expect(clicks.length - attributed).toBeGreaterThan(100) // too late to count, or naming no impression
  expect(status.counters?.windowsEmitted).toBe(expected.length)
  expect(status.counters?.late).toBe(0)
  const newest = new Map<string, AttributedCtr>()
  for (const r of expected) newest.set(r.product_id, r) // sorted by window
  const stored = await redis.hgetall(ATTRIBUTED_CTR_KEY)
  expect(Object.fromEntries(Object.entries(stored).map(([p, json]) => [p, JSON.parse(json)]))).toEqual(
    Object.fromEntries(newest),
  )

  const [dead] = await consume(`${applicationId}-dlq`, { count: 1 })
  expect(dead?.headers).toMatchObject({ 'error.reason': 'invalid_event', 'source.topic': clicksTopic })
})
