import { describe, expect, it } from 'vitest'
import { z } from 'zod'
import { json, sumOf, topic, topology, tumbling, type Windowed } from '../index.js'
import { collectingSink } from './collecting-sink.js'
import { TestDriver } from './test-driver.js'

// A two-input topology on the test driver, hand-checked: views and purchases per item in 10 s windows, and the
// conversion rate purchases / views, written against the public DSL.
const Event = z.object({
  event_id: z.string(),
  item: z.string().min(1).max(128),
  user: z.string(),
  timestamp: z.union([z.number(), z.string()]).optional(),
})
type Conversion = {
  item: string
  views: number
  purchases: number
  conversion: number | null
  window_start: number
  window_end: number
}
const toConversion = (r: Windowed<string, { views: number; purchases: number }>): Conversion => ({
  item: r.key,
  views: r.value.views,
  purchases: r.value.purchases,
  conversion: r.value.views === 0 ? null : r.value.purchases / r.value.views,
  window_start: r.window.start,
  window_end: r.window.end,
})

function conversionApp() {
  const app = topology('conversion', {
    watermarks: { maxOutOfOrderness: '3s', idleTimeout: '10s', maxFutureSkew: '5m' },
  })
  const views = app.source(topic('views', { value: json(Event), timestamp: (e) => e.timestamp }))
  const purchases = app.source(topic('purchases', { value: json(Event), timestamp: (e) => e.timestamp }))
  const sink = collectingSink<Conversion>('conversion')
  views
    .map((e) => ({ itemId: e.item, views: 1, purchases: 0 }))
    .merge(purchases.map((e) => ({ itemId: e.item, views: 0, purchases: 1 })))
    .keyBy((e) => e.itemId)
    .window(tumbling('10s'), { allowedLateness: '5s' })
    .aggregate(sumOf('views', 'purchases'))
    .map(toConversion)
    .to(sink)
  return { topology: app.build(), sink }
}

const T0 = Date.parse('2025-01-01T12:00:00Z')
const ev = (item: string, at: number | string) => ({
  event_id: `e${at}`,
  item,
  user: 'u',
  timestamp: at,
})

describe('a two-input windowed topology on the test driver', () => {
  it('computes hand-checked conversion rates per item and window, with a late firing and a late event', async () => {
    const { topology, sink } = conversionApp()
    const d = new TestDriver(topology, { startTime: T0, partitions: { views: 1, purchases: 1 } })
    // window [12:00:00, 12:00:10): i-1 4 views 1 purchase, i-2 2 views 2 purchases
    await d.pipe('views', [ev('i-1', T0 + 1000), ev('i-1', T0 + 2000), ev('i-2', T0 + 3000), ev('i-1', T0 + 4000)])
    await d.pipe('views', [ev('i-1', T0 + 9999), ev('i-2', '2025-01-01T12:00:05.000Z')])
    await d.pipe('purchases', [ev('i-1', T0 + 5000), ev('i-2', T0 + 6000), ev('i-2', T0 + 7000)])
    expect(sink.records).toEqual([])
    // W = min(W(views), W(purchases)); purchases at 12:00:13 -> W(purchases) = 12:00:09.999, views too
    await d.pipe('views', [ev('i-3', T0 + 13_000)])
    expect(sink.records).toEqual([])
    await d.pipe('purchases', [ev('i-3', T0 + 13_000)])
    expect(sink.records).toEqual([
      { item: 'i-1', views: 4, purchases: 1, conversion: 0.25, window_start: T0, window_end: T0 + 10_000 },
      { item: 'i-2', views: 2, purchases: 2, conversion: 1, window_start: T0, window_end: T0 + 10_000 },
    ])
    // a late purchase for i-1 within the 5 s allowed lateness: late firing with the full updated result
    await d.pipe('purchases', [ev('i-1', T0 + 8000)])
    expect(sink.records.at(-1)).toEqual({
      item: 'i-1',
      views: 4,
      purchases: 2,
      conversion: 0.5,
      window_start: T0,
      window_end: T0 + 10_000,
    })
    // W reaches 12:00:14.999 = end - 1 + L: the window is purged; a purchase for it is late
    await d.pipe('views', [ev('i-3', T0 + 18_000)])
    await d.pipe('purchases', [ev('i-3', T0 + 18_000), ev('i-1', T0 + 9000)])
    expect(d.lateEvents()).toHaveLength(1)
    expect(d.lateEvents()[0]?.record.partition).toBe(0)
    // traffic stops: all partitions go idle, event time follows the wall clock and [10 s, 20 s) closes
    await d.advanceWallClock('10s')
    expect(sink.records.at(-1)).toEqual({
      item: 'i-3',
      views: 2,
      purchases: 2,
      conversion: 1,
      window_start: T0 + 10_000,
      window_end: T0 + 20_000,
    })
    expect(d.status().counters).toMatchObject({ late: 1, lateFirings: 1, windowsEmitted: 4 })
  })

  it('sends bad records to the dead letters with a reason and keeps counting the rest', async () => {
    const { topology, sink } = conversionApp()
    const d = new TestDriver(topology, { startTime: T0 })
    await d.pipe('views', [
      '{"event_id": "x", "item": "i-1"',
      { event_id: 'y', item: '', user: 'u', timestamp: T0 },
      ev('i-1', T0 + 600_000),
      ev('i-1', 'yesterday'),
      ev('i-1', T0),
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
      { item: 'i-1', views: 1, purchases: 0, conversion: 0, window_start: T0, window_end: T0 + 10_000 },
    ])
  })
})

// The driver is the real runner: its ticks and commits run on the driver's clock, a crash restores from the last
// checkpoint the runner wrote, and an outage holds the watermark.
describe('the test driver runs the real runner', () => {
  const clicksApp = () => {
    const app = topology('clicks', { watermarks: { maxOutOfOrderness: '3s', idleTimeout: '10s' } })
    const sink = collectingSink<{ key: string; n: number; start: number }>('counts')
    app
      .source(topic('clicks', { value: json(Event), timestamp: (e) => e.timestamp }))
      .keyBy((e) => e.item)
      .window(tumbling('10s'))
      .count()
      .map((r) => ({ key: r.key, n: r.value, start: r.window.start }))
      .to(sink)
    return { topology: app.build(), sink }
  }

  it("a partition that never sends holds the watermark until idleTimeout of the driver's clock has passed", async () => {
    const { topology, sink } = clicksApp()
    const d = new TestDriver(topology, { startTime: T0, partitions: { clicks: 2 } })
    await d.pipe('clicks', [ev('a', T0 + 1000)], { partition: 0 })
    await d.advanceWallClock('5s')
    await d.pipe('clicks', [ev('a', T0 + 6000)], { partition: 0 })
    await d.advanceWallClock('4s')
    expect(d.status().watermark).toBeNull() // partition 1, assigned at T0, is not idle yet
    await d.advanceWallClock('2s')
    expect(d.status().partitions.find((p) => p.partition === 1)?.idle).toBe(true)
    expect(d.status().watermark).toBe(T0 + 6000 - 3001) // partition 0 alone
    await d.pipe('clicks', [ev('a', T0 + 15_000)], { partition: 0 })
    expect(sink.records).toEqual([{ key: 'a', n: 2, start: T0 }])
  })

  it('commits with a checkpoint every checkpointInterval; a crash restores the open window from it', async () => {
    const { topology, sink } = clicksApp()
    const d = new TestDriver(topology, { startTime: T0, checkpointInterval: '1s' })
    await d.pipe('clicks', [ev('a', T0 + 1000), ev('a', T0 + 2000)])
    await d.advanceWallClock('1s') // a commit: the window [T0, T0+10s) with 2 clicks is checkpointed
    await d.pipe('clicks', [ev('a', T0 + 3000)]) // after the checkpoint: read again after the crash
    await d.crashAndReplay()
    await d.pipe('clicks', [ev('a', T0 + 20_000)])
    // 3, not 2 (the record after the checkpoint is read again) and not 5 (the checkpointed ones are not)
    expect(sink.records).toEqual([{ key: 'a', n: 3, start: T0 }])
    expect(d.lateEvents()).toEqual([])
  })

  it('without a commit before the crash, everything is read again from the start', async () => {
    const { topology, sink } = clicksApp()
    const d = new TestDriver(topology, { startTime: T0, checkpointInterval: '1m' })
    await d.pipe('clicks', [ev('a', T0 + 1000), ev('a', T0 + 2000)])
    await d.crashAndReplay()
    await d.pipe('clicks', [ev('a', T0 + 20_000)])
    expect(sink.records).toEqual([{ key: 'a', n: 2, start: T0 }])
  })

  it('an outage holds the watermark however long it lasts; on recovery the held records count', async () => {
    const { topology, sink } = clicksApp()
    const d = new TestDriver(topology, { startTime: T0, partitions: { clicks: 2 } })
    await d.pipe('clicks', [ev('a', T0 + 1000)], { partition: 0 })
    await d.pipe('clicks', [ev('a', T0 + 1000)], { partition: 1 })
    d.outage([{ topic: 'clicks', partition: 1 }])
    await d.pipe('clicks', [ev('a', T0 + 2000)], { partition: 1 }) // waits behind the outage
    await d.pipe('clicks', [ev('a', T0 + 30_000)], { partition: 0 })
    await d.advanceWallClock('1m')
    expect(sink.records).toEqual([]) // partition 1 is cut off, never idle: W stays at its last event
    await d.recover()
    await d.pipe('clicks', [ev('a', T0 + 30_000)], { partition: 1 })
    expect(sink.records).toEqual([{ key: 'a', n: 3, start: T0 }])
    expect(d.lateEvents()).toEqual([])
  })

  it('refuses a topic the topology does not read, with a clear message', async () => {
    const d = new TestDriver(clicksApp().topology, { startTime: T0 })
    await expect(d.pipe('views', [ev('a', T0)])).rejects.toThrow(
      'TestDriver: "views" is not a source topic of "clicks" (clicks)',
    )
  })
})

describe('the test driver when the runner stops', () => {
  it("a sink that throws stops the runner: the driver's call rejects with the runner's error", async () => {
    const app = topology('failing', { watermarks: { maxOutOfOrderness: 0 } })
    app
      .source(topic('in', { value: json(Event), timestamp: (e) => e.timestamp }))
      .keyBy((e) => e.item)
      .window(tumbling('10s'))
      .count()
      .to({
        name: 'broken',
        write: async () => {
          throw new Error('disk full')
        },
      })
    const d = new TestDriver(app.build(), { startTime: T0, sinks: 'forward' })
    await d.pipe('in', [ev('a', T0 + 1000)])
    await expect(d.pipe('in', [ev('a', T0 + 11_000)])).rejects.toThrow('TestDriver: the runner stopped: disk full')
    await expect(d.advanceWallClock('1s')).rejects.toThrow('TestDriver: the runner stopped: disk full')
  })

  it('close() stops the runner cleanly; later calls say so', async () => {
    const app = topology('closing', { watermarks: { maxOutOfOrderness: 0 } })
    const sink = collectingSink<unknown>('out')
    app.source(topic('in', { value: json(Event), timestamp: (e) => e.timestamp })).to(sink)
    const d = new TestDriver(app.build(), { startTime: T0 })
    await d.pipe('in', [ev('a', T0)])
    await d.close()
    expect(sink.records).toHaveLength(1)
    await expect(d.pipe('in', [ev('a', T0)])).rejects.toThrow('TestDriver: the runner stopped (stopped)')
  })
})
