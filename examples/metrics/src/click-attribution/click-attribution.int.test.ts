/**
 * click-attribution on the real cluster: simulated impressions and clicks (2 minutes, two topics of 3
 * partitions, keyed by impression id but not declared co-partitioned, so both go through the join's repartition
 * topic) and one malformed click, the example as `pnpm example click-attribution` wires it (with an 8 s window),
 * run to the end of its topics; then the output topic holds exactly one record per click, attributed as the
 * oracle attributes it and keyed by its product.
 */
import { mulberry32 } from '@ctr/producers'
import { consume, createTopics, kafkaBrokers, produce, uniqueTopic } from '@ctr/testing'
import { expect, it } from 'vitest'
import { pastMinute, runUntilEnd } from '../harness/test-run.js'
import { adMessage, simulateAds } from './ads.js'
import { clickAttributionExample } from './example.js'
import { expectedAttribution, sortedClicks } from './oracle.js'
import { type AttributedClick, clickAttributionTopology } from './topology.js'

it('writes every click once to the output topic, attributed to its impression as the oracle says; a bad click goes to the DLQ', async () => {
  const clicksTopic = uniqueTopic('ad-clicks')
  const impressionsTopic = uniqueTopic('ad-impressions')
  const output = uniqueTopic('attributed-clicks')
  const applicationId = uniqueTopic('example-click-attribution')
  await createTopics([clicksTopic, impressionsTopic, output].map((topic) => ({ topic, partitions: 3 })))

  const T = pastMinute()
  const { impressions, clicks } = simulateAds(
    { rate: 25, products: 6, clickThrough: 0.3, clickDelayMs: { min: 0, max: 12_000 }, strays: 0.03 },
    mulberry32(11),
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
    ...clickAttributionExample,
    topology: (ctx: Parameters<typeof clickAttributionExample.topology>[0], results: never) =>
      clickAttributionTopology({
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
    output,
    kafkaBrokers: kafkaBrokers(),
    redisUrl: 'redis://unused:6379',
  }
  const { code, status } = await runUntilEnd(example, ctx)
  expect(code).toBe(0)

  const expected = expectedAttribution(impressions, clicks, WINDOW)
  expect(expected.filter((c) => c.attributed).length).toBeGreaterThan(400)
  expect(expected.filter((c) => !c.attributed).length).toBeGreaterThan(100)
  const written = await consume(output, { count: expected.length, timeoutMs: 30_000 })
  expect(sortedClicks(written.map((m) => JSON.parse(m.value as string) as AttributedClick))).toEqual(expected)
  for (const m of written) expect(m.key).toBe(JSON.parse(m.value as string).product_id ?? 'unattributed')
  expect(await consume(output, { timeoutMs: 3_000 })).toHaveLength(expected.length) // no duplicates
  expect(status.counters?.late).toBe(0)

  const [dead] = await consume(`${applicationId}-dlq`, { count: 1 })
  expect(dead?.headers).toMatchObject({ 'error.reason': 'invalid_event', 'source.topic': clicksTopic })
})
