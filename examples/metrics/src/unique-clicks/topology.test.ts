import { mulberry32 } from '@ctr/producers'
import type { DeadLetter } from '@ctr/streams-dsl'
import { collectingSink, TestDriver } from '@ctr/streams-dsl/testing'
import { describe, expect, it } from 'vitest'
import { ClickGenerator, type SimulatedClick } from '../top-products/clicks.js'
import { expectedUniqueCounts, sorted } from './oracle.js'
import { Retries } from './retries.js'
import { type UniqueClickCount, uniqueClicksTopology } from './topology.js'

const T0 = Date.parse('2025-11-28T12:00:00Z') // a multiple of 10 s
const S = 1_000

function setup(partitions = 1) {
  const results = collectingSink<UniqueClickCount>('results')
  const dlq = collectingSink<DeadLetter>('dlq')
  const t = uniqueClicksTopology({ applicationId: 'unique-clicks-test', input: 'clicks', results, deadLetters: dlq })
  const d = new TestDriver(t, { startTime: T0, partitions: { clicks: partitions } })
  return { d, results, dlq }
}

const click = (event_id: string, product_id: string, timestamp: number) => ({ event_id, product_id, timestamp })
/** The partition a producer keyed by event_id would pick, near enough: the click's number modulo the count. */
const partitionOf = (c: { event_id: string }, partitions: number) => Number(c.event_id.slice(2)) % partitions

describe('uniqueClicksTopology', () => {
  it('counts a click once however often it is delivered, and distinct clicks each', async () => {
    const { d, results, dlq } = setup()
    await d.pipe('clicks', [
      click('c-1', 'p-1', T0 + 1 * S),
      click('c-2', 'p-1', T0 + 2 * S),
      click('c-1', 'p-1', T0 + 1 * S), // a retry of c-1
      click('c-3', 'p-2', T0 + 3 * S),
      click('c-1', 'p-1', T0 + 1 * S), // and another
      click('c-3', 'p-2', T0 + 3 * S),
    ])
    await d.pipe('clicks', [click('c-4', 'p-1', T0 + 13 * S)]) // W = 11 s - 1 ms: [0 s, 10 s) closes
    expect(sorted(results.records)).toEqual([
      { product_id: 'p-1', window_start: T0, window_end: T0 + 10 * S, clicks: 2 },
      { product_id: 'p-2', window_start: T0, window_end: T0 + 10 * S, clicks: 1 },
    ])
    expect(d.status().counters).toMatchObject({ eventsIn: 7, duplicatesDropped: 3, late: 0 })
    expect(dlq.records).toEqual([])
  })

  it('drops a retry that comes after its window closed as a duplicate, not as a late event', async () => {
    const { d, results, dlq } = setup()
    await d.pipe('clicks', [click('c-1', 'p-1', T0 + 9 * S), click('c-2', 'p-1', T0 + 15 * S)])
    expect(results.records).toEqual([{ product_id: 'p-1', window_start: T0, window_end: T0 + 10 * S, clicks: 1 }])
    // the copy of c-1 is behind the watermark, yet it is recognised: dropped, no dead letter, no change
    await d.pipe('clicks', [click('c-1', 'p-1', T0 + 9 * S)])
    expect(d.status().counters).toMatchObject({ duplicatesDropped: 1, late: 0 })
    expect(dlq.records).toEqual([])
    expect(results.records).toHaveLength(1)
  })

  it('gives exactly the distinct counts for simulated traffic with retries over three partitions', async () => {
    const { d, results, dlq } = setup(3)
    const rng = mulberry32(23)
    const gen = new ClickGenerator({ rate: 40, products: 12, users: 100, trendEveryMs: 0 }, rng, T0)
    const retries = new Retries({ rate: 0.2, maxDelayMs: 5_000 }, rng)
    const sent: SimulatedClick[] = []
    for (let now = T0; now <= T0 + 120 * S; now += 250) {
      const clicks = retries.tick(now, gen.tick(now))
      sent.push(...clicks)
      for (let p = 0; p < 3; p++)
        await d.pipe(
          'clicks',
          clicks.filter((c) => partitionOf(c, 3) === p),
          { partition: p },
        )
    }
    const distinct = new Set(sent.map((c) => c.event_id)).size
    expect(sent.length - distinct).toBeGreaterThan(500) // there were copies to drop
    await d.advanceWallClock('10s')
    await d.advanceWallClock('1m')
    expect(dlq.records).toEqual([])
    expect(d.status().counters).toMatchObject({ duplicatesDropped: sent.length - distinct, late: 0 })
    const want = expectedUniqueCounts(sent)
    expect(sorted(results.records)).toEqual(want)
    // a plain count would have counted the copies
    expect(want.reduce((n, r) => n + r.clicks, 0)).toBe(distinct)
  })

  it('sends a bad record to the dead letters with its reason and goes on counting', async () => {
    const { d, results, dlq } = setup()
    await d.pipe('clicks', ['{"event_id": "c-1", ', { event_id: '', product_id: 'p-1' }, click('c-2', 'p-1', T0)])
    expect(dlq.records.map((x) => x.reason)).toEqual(['invalid_json', 'invalid_event'])
    expect(dlq.records[1]?.message).toMatch(/event_id/)
    await d.advanceWallClock('10s')
    await d.advanceWallClock('1m')
    expect(results.records).toEqual([{ product_id: 'p-1', window_start: T0, window_end: T0 + 10 * S, clicks: 1 }])
  })
})
