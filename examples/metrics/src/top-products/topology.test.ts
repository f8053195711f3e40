import { EventGenerator, mulberry32 } from '@ctr/producers'
import type { DeadLetter } from '@ctr/streams-dsl'
import { collectingSink, TestDriver } from '@ctr/streams-dsl/testing'
import { describe, expect, it } from 'vitest'
import { ClickGenerator, type SimulatedClick } from './clicks.js'
import { expectedRankings } from './oracle.js'
import { type TopProducts, topProductsTopology } from './topology.js'

const T0 = Date.parse('2025-11-28T12:00:00Z') // a multiple of 30 s
const S = 1_000

function setup(partitions: number, n?: number) {
  const results = collectingSink<TopProducts>('results')
  const dlq = collectingSink<DeadLetter>('dlq')
  const t = topProductsTopology({ applicationId: 'top-test', input: 'clicks', results, deadLetters: dlq, n })
  const d = new TestDriver(t, { startTime: T0, partitions: { clicks: partitions } })
  return { d, results, dlq }
}

const click = (product_id: string, timestamp: number | string) => ({
  event_id: 'e',
  product_id,
  user_id: 'u',
  timestamp,
})

describe('topProductsTopology', () => {
  it('ranks the products of a window once every partition passed its end, ties by product id', async () => {
    const { d, results } = setup(2, 3)
    await d.pipe('clicks', [click('p-2', T0 + S), click('p-1', T0 + 2 * S), click('p-2', T0 + 3 * S)], { partition: 0 })
    await d.pipe(
      'clicks',
      [click('p-3', T0 + 4 * S), click('p-1', '2025-11-28T12:00:05Z'), click('p-4', T0 + 29 * S)],
      {
        partition: 1,
      },
    )
    await d.pipe('clicks', [click('p-9', T0 + 40 * S)], { partition: 0 })
    expect(results.records).toEqual([]) // partition 1 is at W = 29 s - 2 s - 1 ms
    await d.pipe('clicks', [click('p-9', T0 + 32 * S)], { partition: 1 })
    expect(results.records).toEqual([
      {
        window_start: T0,
        window_end: T0 + 30 * S,
        top: [
          { product_id: 'p-1', clicks: 2 },
          { product_id: 'p-2', clicks: 2 },
          { product_id: 'p-3', clicks: 1 },
        ],
        products: 4,
        clicks: 6,
      },
    ])
  })

  it('gives exactly the top 5 of every window of simulated traffic over three partitions', async () => {
    const { d, results, dlq } = setup(3)
    const gen = new ClickGenerator({ rate: 40, products: 12, users: 100, trendEveryMs: 45_000 }, mulberry32(5), T0)
    const all: SimulatedClick[] = []
    for (let now = T0; now <= T0 + 150 * S; now += 250) {
      const clicks = gen.tick(now)
      all.push(...clicks)
      for (let p = 0; p < 3; p++)
        await d.pipe(
          'clicks',
          clicks.filter((c) => Number(c.product_id.slice(2)) % 3 === p),
          { partition: p },
        )
    }
    await d.advanceWallClock('10s')
    await d.advanceWallClock('1m')
    expect(dlq.records).toEqual([])
    expect(all.length).toBe(40 * 150)
    expect(results.records).toEqual(expectedRankings(all, 5))
    // the popularity moved on: not every window has the same leader
    expect(new Set(results.records.map((r) => r.top[0]?.product_id)).size).toBeGreaterThan(1)
  })

  it('sends bad records to the dead letters with their reason', async () => {
    const { d, results, dlq } = setup(1)
    await d.pipe('clicks', ['not json', { product_id: 7, timestamp: T0 }, { product_id: 'p-1', timestamp: 'noon' }])
    await d.pipe('clicks', [click('p-1', T0)])
    expect(dlq.records.map((x) => x.reason)).toEqual(['invalid_json', 'invalid_event', 'invalid_event'])
    await d.advanceWallClock('10s')
    await d.advanceWallClock('1m')
    expect(results.records.map((r) => r.top)).toEqual([[{ product_id: 'p-1', clicks: 1 }]])
  })
  it('reads the clicks of the CTR pipeline producers as they are', async () => {
    const { d, results, dlq } = setup(1)
    const ctr = new EventGenerator(
      {
        runId: 'r',
        products: 8,
        users: 50,
        ctr: { min: 0.1, max: 0.4 },
        clickDelayMs: 1000,
        outOfOrder: 0,
        outOfOrderMaxMs: 1000,
        late: 0,
        tooLate: 0,
        malformed: 0,
      },
      mulberry32(3),
    )
    const clicks: { product_id: string; timestamp: number }[] = []
    for (let now = T0; now < T0 + 90 * S; now += 100) {
      const values = ctr
        .tick(now, 5)
        .filter((r) => r.stream === 'clicks')
        .map((r) => r.value)
      clicks.push(...values.map((v) => JSON.parse(v)))
      await d.pipe('clicks', values)
    }
    expect(clicks[0]).toHaveProperty('impression_id')
    await d.advanceWallClock('10s')
    await d.advanceWallClock('1m')
    expect(dlq.records).toEqual([])
    expect(results.records).toEqual(expectedRankings(clicks, 5))
  })
})
