import { describe, expect, it } from 'vitest'
import { z } from 'zod'
import { json, topic, topology, tumbling } from '../../index.js'
import { collectingSink } from '../../testing/collecting-sink.js'
import { EngineHarness } from '../../testing/engine-harness.js'

const Click = z.object({ imp: z.string(), ts: z.number(), c: z.string() })
const Imp = z.object({ imp: z.string(), ts: z.number(), product: z.string() })

function app(type: 'join' | 'leftJoin', options: { lateness?: number } = {}) {
  const a = topology('attr', { watermarks: { maxOutOfOrderness: 0 } })
  const out = collectingSink<string>('out')
  const clicks = a.source(topic('clicks', { value: json(Click), timestamp: (e) => e.ts }))
  const imps = a.source(topic('impressions', { value: json(Imp), timestamp: (e) => e.ts }))
  const keyed = clicks.keyBy((c) => c.imp)
  const other = imps.keyBy((i) => i.imp)
  const within = { within: { before: 1000, after: 0 }, allowedLateness: options.lateness ?? 0 }
  const joined =
    type === 'join'
      ? keyed.join(other, (c, i, key) => `${key}: ${c.c}@${c.ts} x ${i.product}@${i.ts}`, within)
      : keyed.leftJoin(other, (c, i, key) => `${key}: ${c.c}@${c.ts} x ${i ? `${i.product}@${i.ts}` : '-'}`, within)
  joined.to(out)
  return { topology: a.build(), out }
}

describe('interval join', () => {
  it('pairs records of one key within the interval, whichever side arrives first', async () => {
    const { topology: t, out } = app('join')
    const d = new EngineHarness(t, { startTime: 0 })
    await d.pipe('impressions', [{ imp: 'i1', ts: 1000, product: 'p1' }])
    await d.pipe('clicks', [{ imp: 'i1', ts: 1500, c: 'c1' }]) // the impression 500 ms before: a pair
    await d.pipe('clicks', [{ imp: 'i1', ts: 2000, c: 'c2' }]) // 1000 ms before: the bound, a pair
    await d.pipe('clicks', [{ imp: 'i1', ts: 2001, c: 'c3' }]) // 1001 ms: none
    await d.pipe('clicks', [{ imp: 'i2', ts: 2100, c: 'c4' }]) // held: its impression comes next
    await d.pipe('impressions', [{ imp: 'i2', ts: 2100, product: 'p2' }]) // same time: after 0 allows it
    expect(out.records).toEqual(['i1: c1@1500 x p1@1000', 'i1: c2@2000 x p1@1000', 'i2: c4@2100 x p2@2100'])
    expect(d.lateEvents()).toEqual([])
  })

  it('an impression after its click does not pair (after: 0), and records behind the watermark are late', async () => {
    const { topology: t, out } = app('join')
    const d = new EngineHarness(t, { startTime: 0 })
    await d.pipe('clicks', [{ imp: 'i1', ts: 1000, c: 'c1' }])
    await d.pipe('impressions', [{ imp: 'i1', ts: 1001, product: 'p1' }])
    expect(out.records).toEqual([])
    // W = min(1000 - 1, 1001 - 1) = 999 (B = 0): a record at 999 or before is late, on either side
    await d.pipe('impressions', [{ imp: 'i1', ts: 999, product: 'p1' }])
    await d.pipe('clicks', [{ imp: 'i1', ts: 999, c: 'c0' }])
    expect(out.records).toEqual([])
    expect(d.lateEvents().map((l) => l.record.topic)).toEqual(['impressions', 'clicks'])
    expect(d.status().counters.late).toBe(2)
    await d.pipe('impressions', [{ imp: 'i1', ts: 1000, product: 'p0' }]) // not late, and at the click's time
    expect(out.records).toEqual(['i1: c1@1000 x p0@1000'])
  })

  it('holds a record until no pair can arrive, then purges it (committable offsets move past it)', async () => {
    const { topology: t } = app('join')
    const d = new EngineHarness(t, { startTime: 0, partitions: { clicks: 1, impressions: 1 } })
    await d.pipe('impressions', [{ imp: 'i1', ts: 1000, product: 'p1' }])
    await d.pipe('clicks', [{ imp: 'x', ts: 1500, c: 'c1' }])
    const offset = (tp: string) => d.engine.committable().find((c) => c.topic === tp)?.offset
    expect(offset('impressions')).toBe(0) // the impression can still pair with a click up to 2000
    expect(offset('clicks')).toBe(0)
    expect(d.status().windows.open).toBe(2)
    await d.pipe('impressions', [{ imp: 'y', ts: 2500, product: 'p2' }])
    await d.pipe('clicks', [{ imp: 'x', ts: 2001, c: 'c2' }]) // W = 2000 >= 1000 + before, and >= 1500 + after
    expect(offset('impressions')).toBe(1)
    expect(offset('clicks')).toBe(1)
    expect(d.status().windows.open).toBe(2)
  })

  it('a left join emits a record that found no pair once its interval has passed', async () => {
    const { topology: t, out } = app('leftJoin', { lateness: 100 })
    const d = new EngineHarness(t, { startTime: 0 })
    await d.pipe('impressions', [{ imp: 'i1', ts: 1000, product: 'p1' }])
    await d.pipe('clicks', [
      { imp: 'i1', ts: 1200, c: 'c1' },
      { imp: 'i9', ts: 1300, c: 'c9' },
    ])
    expect(out.records).toEqual(['i1: c1@1200 x p1@1000'])
    await d.pipe('impressions', [{ imp: 'q1', ts: 1399, product: 'p' }])
    await d.pipe('clicks', [{ imp: 'q2', ts: 1399, c: 'q' }]) // W = 1398 < 1300 + 0 + 100
    expect(out.records).toHaveLength(1)
    await d.pipe('impressions', [{ imp: 'q1', ts: 1401, product: 'p' }])
    await d.pipe('clicks', [{ imp: 'q2', ts: 1401, c: 'q' }]) // W = 1400: c9 is due, unmatched (c1 had a pair)
    expect(out.records).toEqual(['i1: c1@1200 x p1@1000', 'i9: c9@1300 x -'])
  })

  it('keeps its held records across a snapshot and restore', async () => {
    const { topology: t, out } = app('leftJoin')
    const d = new EngineHarness(t, { startTime: 0 })
    await d.pipe('impressions', [{ imp: 'i1', ts: 1000, product: 'p1' }])
    await d.pipe('clicks', [{ imp: 'i1', ts: 1100, c: 'c1' }])
    d.restore(d.snapshot()) // a new engine with the snapshot's state: the held records and their matched flags
    await d.pipe('clicks', [{ imp: 'i1', ts: 1900, c: 'c2' }]) // pairs with the restored impression
    await d.pipe('impressions', [{ imp: 'z', ts: 5000, product: 'p' }])
    await d.pipe('clicks', [{ imp: 'y', ts: 5000, c: 'c3' }]) // W = 4999: c1 (matched before the snapshot) and c2 purged
    expect(out.records).toEqual(['i1: c1@1100 x p1@1000', 'i1: c2@1900 x p1@1000'])
    expect(d.status().windows.open).toBe(2)
  })

  it('a joiner that throws costs that result only, as a processing_error dead letter', async () => {
    const a = topology('bad', { watermarks: { maxOutOfOrderness: 0 } })
    const out = collectingSink<string>('out')
    const l = a.source(topic('clicks', { value: json(Click), timestamp: (e) => e.ts }))
    const r = a.source(topic('impressions', { value: json(Imp), timestamp: (e) => e.ts }))
    l.keyBy((c) => c.imp)
      .join(
        r.keyBy((i) => i.imp),
        (c, i) => {
          if (i.product === 'boom') throw new Error('no product')
          return `${c.c} ${i.product}`
        },
        { within: 1000 },
      )
      .to(out)
    const d = new EngineHarness(a.build(), { startTime: 0 })
    await d.pipe('impressions', [
      { imp: 'i', ts: 1000, product: 'boom' },
      { imp: 'i', ts: 1001, product: 'ok' },
    ])
    await d.pipe('clicks', [{ imp: 'i', ts: 1500, c: 'c' }])
    expect(out.records).toEqual(['c ok'])
    expect(d.deadLetters().map((x) => [x.reason, x.message])).toEqual([
      ['processing_error', 'join-keyBy-3-keyBy-4: no product'],
    ])
  })

  it('the build refuses what it cannot run, saying how to fix it', () => {
    const b = topology('no-within')
    const k = b.source(topic('clicks', { value: json(Click) })).keyBy((c) => c.imp)
    const m = b.source(topic('impressions', { value: json(Imp) })).keyBy((i) => i.imp)
    // @ts-expect-error within is required
    expect(() => k.join(m, (x) => x, {})).toThrow(/say how far apart in event time a pair may be/)
    expect(() => k.join(k, (x) => x, { within: 1 })).toThrow(/not one with itself/)
  })

  it('its results keyed again and windowed: one task holds every partition, an engine of several refuses it', async () => {
    const a = topology('attributed-per-product', { watermarks: { maxOutOfOrderness: 0 } })
    const out = collectingSink<string>('per-product')
    const l = a.source(topic('clicks', { value: json(Click), timestamp: (e) => e.ts }))
    const r = a.source(topic('impressions', { value: json(Imp), timestamp: (e) => e.ts }))
    l.keyBy((c) => c.imp)
      .join(
        r.keyBy((i) => i.imp),
        (c, i) => ({ product: i.product, ts: c.ts }),
        { within: { before: 1000, after: 0 } },
      )
      .keyBy((x) => x.product, { name: 'by-product' })
      .window(tumbling(1000))
      .count()
      .map((w) => `${w.key} [${w.window.start},${w.window.end}) ${w.value}`)
      .to(out)
    const t = a.build()
    const d = new EngineHarness(t, { startTime: 0, partitions: { clicks: 2, impressions: 2 } })
    await d.pipe('impressions', [{ imp: 'i1', ts: 100, product: 'p1' }], { partition: 0 })
    await d.pipe('impressions', [{ imp: 'i2', ts: 200, product: 'p1' }], { partition: 1 })
    await d.pipe('clicks', [{ imp: 'i1', ts: 300, c: 'a' }], { partition: 1 })
    await d.pipe('clicks', [{ imp: 'i2', ts: 400, c: 'b' }], { partition: 0 })
    await d.advanceWallClock('20s') // every partition idle: W runs on with the clock
    await d.pipe('clicks', [{ imp: 'x', ts: 21_000, c: 'x' }], { partition: 0 })
    expect(out.records).toEqual(['p1 [0,1000) 2']) // both attributed clicks of p1, from two partitions each
    expect(() => new EngineHarness(t, { startTime: 0, tasks: 'partition' })).toThrow(
      /by-product: keys again the results of a join or a window/,
    )
    const staged = { startTime: 0, repartition: 2, partitions: { clicks: 2, impressions: 2 } }
    expect(() => new EngineHarness(t, staged)).toThrow(/TASKS=single/)
  })

  it('describes itself: both sides through one keyBy, repartitioned unless both declare copartitioned', () => {
    const a = topology('described')
    const l = a.source(topic('clicks', { value: json(Click) })).keyBy((c) => c.imp, { copartitioned: true })
    const r = a.source(topic('impressions', { value: json(Imp) })).keyBy((i) => i.imp, { copartitioned: true })
    l.join(r, (c) => c, { within: { before: '30m', after: 0 }, name: 'attribute' }).to(collectingSink('o'))
    const text = a.build().describe()
    expect(text).toContain('co-partitioned')
    expect(text).toMatch(/join\s+attribute \[inner, other side from 30m before to 0ms after/)
  })
})
