import { describe, expect, it } from 'vitest'
import { z } from 'zod'
import { json, sumOf, topic, topology, tumbling, type Windowed } from '../index.js'
import { collectingSink } from './collecting-sink.js'
import { TestDriver } from './test-driver.js'

// The CTR topology of DESIGN.md, written here against the public DSL.
const Event = z.object({
  event_id: z.string(),
  product_id: z.string().min(1).max(128),
  user_id: z.string(),
  timestamp: z.union([z.number(), z.string()]).optional(),
})
type CtrResult = {
  product_id: string
  impressions: number
  clicks: number
  ctr: number | null
  window_start: number
  window_end: number
}
const toCtr = (r: Windowed<string, { impressions: number; clicks: number }>): CtrResult => ({
  product_id: r.key,
  impressions: r.value.impressions,
  clicks: r.value.clicks,
  ctr: r.value.impressions === 0 ? null : r.value.clicks / r.value.impressions,
  window_start: r.window.start,
  window_end: r.window.end,
})

function ctrApp() {
  const app = topology('ctr', { watermarks: { maxOutOfOrderness: '3s', idleTimeout: '10s', maxFutureSkew: '5m' } })
  const impressions = app.source(topic('impressions', { value: json(Event), timestamp: (e) => e.timestamp }))
  const clicks = app.source(topic('clicks', { value: json(Event), timestamp: (e) => e.timestamp }))
  const sink = collectingSink<CtrResult>('ctr')
  impressions
    .map((e) => ({ productId: e.product_id, impressions: 1, clicks: 0 }))
    .merge(clicks.map((e) => ({ productId: e.product_id, impressions: 0, clicks: 1 })))
    .keyBy((e) => e.productId)
    .window(tumbling('10s'), { allowedLateness: '5s' })
    .aggregate(sumOf('impressions', 'clicks'))
    .map(toCtr)
    .to(sink)
  return { topology: app.build(), sink }
}

const T0 = Date.parse('2025-01-01T12:00:00Z')
const ev = (product: string, at: number | string) => ({
  event_id: `e${at}`,
  product_id: product,
  user_id: 'u',
  timestamp: at,
})

describe('CTR topology on the test driver', () => {
  it('computes hand-checked CTRs per product and window, with a late firing and a late event', async () => {
    const { topology, sink } = ctrApp()
    const d = new TestDriver(topology, { startTime: T0, partitions: { impressions: 1, clicks: 1 } })
    // window [12:00:00, 12:00:10): p-1 4 impressions 1 click, p-2 2 impressions 2 clicks
    await d.pipe('impressions', [
      ev('p-1', T0 + 1000),
      ev('p-1', T0 + 2000),
      ev('p-2', T0 + 3000),
      ev('p-1', T0 + 4000),
    ])
    await d.pipe('impressions', [ev('p-1', T0 + 9999), ev('p-2', '2025-01-01T12:00:05.000Z')])
    await d.pipe('clicks', [ev('p-1', T0 + 5000), ev('p-2', T0 + 6000), ev('p-2', T0 + 7000)])
    expect(sink.records).toEqual([])
    // W = min(W(impressions), W(clicks)); clicks at 12:00:13 -> W(clicks) = 12:00:09.999, impressions too
    await d.pipe('impressions', [ev('p-3', T0 + 13_000)])
    expect(sink.records).toEqual([])
    await d.pipe('clicks', [ev('p-3', T0 + 13_000)])
    expect(sink.records).toEqual([
      { product_id: 'p-1', impressions: 4, clicks: 1, ctr: 0.25, window_start: T0, window_end: T0 + 10_000 },
      { product_id: 'p-2', impressions: 2, clicks: 2, ctr: 1, window_start: T0, window_end: T0 + 10_000 },
    ])
    // a late click for p-1 within the 5 s allowed lateness: late firing with the full updated result
    await d.pipe('clicks', [ev('p-1', T0 + 8000)])
    expect(sink.records.at(-1)).toEqual({
      product_id: 'p-1',
      impressions: 4,
      clicks: 2,
      ctr: 0.5,
      window_start: T0,
      window_end: T0 + 10_000,
    })
    // W reaches 12:00:14.999 = end - 1 + L: the window is purged; a click for it is late
    await d.pipe('impressions', [ev('p-3', T0 + 18_000)])
    await d.pipe('clicks', [ev('p-3', T0 + 18_000), ev('p-1', T0 + 9000)])
    expect(d.lateEvents()).toHaveLength(1)
    expect(d.lateEvents()[0]?.record.partition).toBe(0)
    // traffic stops: all partitions go idle, event time follows the wall clock and [10 s, 20 s) closes
    await d.advanceWallClock('10s')
    expect(sink.records.at(-1)).toEqual({
      product_id: 'p-3',
      impressions: 2,
      clicks: 2,
      ctr: 1,
      window_start: T0 + 10_000,
      window_end: T0 + 20_000,
    })
    expect(d.status().counters).toMatchObject({ late: 1, lateFirings: 1, windowsEmitted: 4 })
  })

  it('sends bad records to the dead letters with a reason and keeps counting the rest', async () => {
    const { topology, sink } = ctrApp()
    const d = new TestDriver(topology, { startTime: T0 })
    await d.pipe('impressions', [
      '{"event_id": "x", "product_id": "p-1"',
      { event_id: 'y', product_id: '', user_id: 'u', timestamp: T0 },
      ev('p-1', T0 + 600_000),
      ev('p-1', 'yesterday'),
      ev('p-1', T0),
    ])
    expect(d.deadLetters().map((x) => x.reason)).toEqual([
      'invalid_json',
      'invalid_event',
      'future_timestamp',
      'invalid_event',
    ])
    expect(d.deadLetters().map((x) => x.record.offset)).toEqual([0, 1, 2, 3])
    await d.advanceWallClock('20s')
    expect(sink.records).toEqual([
      { product_id: 'p-1', impressions: 1, clicks: 0, ctr: 0, window_start: T0, window_end: T0 + 10_000 },
    ])
  })
})
