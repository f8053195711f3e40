import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { z } from 'zod'
import type { DeadLetter } from '../../connectors/types.js'
import { GraphBuilder } from '../../graph/graph-builder.js'
import { compileTopology, TopologyError } from '../../graph/topology.js'
import { count, type Duration, json, topic, topology, tumbling } from '../../index.js'
import { collectingSink } from '../../testing/collecting-sink.js'
import { EngineHarness } from '../../testing/engine-harness.js'
import type { TaskGrouping } from '../types.js'

const T0 = Date.parse('2025-01-01T12:00:00Z')
const Ev = z.object({ id: z.string(), ts: z.number(), seq: z.number().optional(), k: z.string().optional() })
type Ev = z.infer<typeof Ev>
const ev = (id: string, dt: number, seq?: number, k?: string): Ev => ({ id, ts: T0 + dt, seq, k })

/** source -> deduplicate(within 10 s) -> sink; B = 3 s, so W = max ts - 3 001. */
function app(within: Duration = '10s', allowedLateness: Duration = 0) {
  const a = topology('t', { watermarks: { maxOutOfOrderness: '3s', idleTimeout: '10s', maxFutureSkew: '5m' } })
  const out = collectingSink<Ev>('out')
  a.source(topic('in', { value: json(Ev), timestamp: (e) => e.ts }))
    .deduplicate({ by: (e) => e.id, within, allowedLateness, name: 'dedupe' })
    .to(out)
  const late = collectingSink<DeadLetter>('late')
  a.lateEvents().to(late)
  return { topology: a.build(), out, late }
}
const seen = (out: { records: Ev[] }) => out.records.map((e) => `${e.id}@${e.ts - T0}`)

describe('deduplicate', () => {
  it('drops a duplicate within `within`, keeps one exactly `within` later (|ts - tsFirst| < within)', async () => {
    const { topology, out } = app()
    const d = new EngineHarness(topology, { startTime: T0 })
    await d.pipe('in', [ev('a', 1000), ev('a', 5000), ev('b', 2000), ev('a', 10_999), ev('a', 11_000)])
    expect(seen(out)).toEqual(['a@1000', 'b@2000', 'a@11000'])
    expect(d.status().counters.duplicatesDropped).toBe(2)
    // an earlier record of a kept id is judged the same way (|ts - tsFirst|): 11 000 - 3 000 = 8 000 < 10 000
    await d.pipe('in', [ev('a', 12_500), ev('b', 12_000)])
    expect(seen(out)).toEqual(['a@1000', 'b@2000', 'a@11000', 'b@12000'])
    expect(d.status().counters).toMatchObject({ duplicatesDropped: 3, late: 0, deadLetters: 0 })
  })

  it('purges an id once W >= tsFirst + within - 1; a record behind W that may match purged state is late', async () => {
    const { topology, out, late } = app()
    const d = new EngineHarness(topology, { startTime: T0 })
    await d.pipe('in', [ev('a', 1000), ev('b', 2000)])
    expect(d.status().windows.open).toBe(2)
    await d.pipe('in', [ev('x', 13_999)]) // W = 10 998: a (purged at 10 999) is still held
    expect(d.status().windows.open).toBe(3)
    await d.pipe('in', [ev('x', 14_000)]) // W = 10 999: a purged; x@14 000 is a duplicate of x@13 999
    expect(d.status().windows.open).toBe(2)
    // b@2000 is held until W >= 11 999: a duplicate behind the watermark is still found and dropped
    await d.pipe('in', [ev('b', 11_999)])
    // a@10 999 is behind W = 10 999 and could duplicate a purged id: late, not passed on
    await d.pipe('in', [ev('a', 10_999)])
    expect(seen(out)).toEqual(['a@1000', 'b@2000', 'x@13999'])
    expect(late.records.map((l) => [l.reason, l.record.offset])).toEqual([['late_event', 5]])
    expect(d.status().counters).toMatchObject({ duplicatesDropped: 2, late: 1 })
    await d.pipe('in', [ev('z', 30_000)]) // W = 26 999: everything before is purged
    expect(d.status().windows.open).toBe(1)
  })

  it('allowedLateness holds the ids longer and judges records that far behind W', async () => {
    const { topology, out, late } = app('10s', '5s')
    const d = new EngineHarness(topology, { startTime: T0 })
    await d.pipe('in', [ev('a', 1000), ev('x', 14_000), ev('a', 10_000), ev('c', 9000)]) // W = 10 999
    expect(seen(out)).toEqual(['a@1000', 'x@14000', 'c@9000'])
    await d.pipe('in', [ev('x', 19_000), ev('a', 10_500)]) // W = 15 999 >= 1000 + 9 999 + 5000: a purged
    expect(seen(out)).toEqual(['a@1000', 'x@14000', 'c@9000'])
    expect(late.records).toHaveLength(1)
    expect(d.status().counters).toMatchObject({ duplicatesDropped: 2, late: 1 })
  })

  it('snapshot and restore keep the ids: a duplicate after a restore is still dropped', async () => {
    const { topology, out } = app()
    const d = new EngineHarness(topology, { startTime: T0 })
    await d.pipe('in', [ev('a', 1000), ev('b', 1500)])
    const snap = d.snapshot()
    expect(snap.tasks[0]?.windows.map((w) => [w.operator, w.start - T0, w.entries])).toEqual([
      ['dedupe', 1000, [['a', 1]]],
      ['dedupe', 1500, [['b', 1]]],
    ])
    d.restore(snap)
    expect(d.status().windows.open).toBe(2)
    await d.pipe('in', [ev('a', 2000), ev('c', 2500), ev('b', 9000)])
    expect(seen(out)).toEqual(['a@1000', 'b@1500', 'c@2500'])
    expect(d.status().counters.duplicatesDropped).toBe(2)
  })

  it('commits only past records whose ids are purged', async () => {
    const { topology } = app()
    const d = new EngineHarness(topology, { startTime: T0 })
    await d.pipe('in', [ev('a', 1000), ev('a', 2000), ev('b', 5000)])
    expect(d.engine.committable()).toEqual([{ topic: 'in', partition: 0, offset: 0 }])
    await d.pipe('in', [ev('x', 14_000)]) // W = 10 999: a (offset 0) purged, b (offset 2) held
    expect(d.engine.committable()).toEqual([{ topic: 'in', partition: 0, offset: 2 }])
  })

  it('finds duplicates per task: one partition each with tasks "partition", across partitions with one task', async () => {
    const run = async (tasks: TaskGrouping) => {
      const { topology, out } = app()
      const d = new EngineHarness(topology, { startTime: T0, partitions: { in: 2 }, tasks })
      await d.pipe('in', [ev('a', 1000)], { partition: 0 })
      await d.pipe('in', [ev('a', 2000)], { partition: 1 })
      await d.pipe('in', [ev('a', 3000)], { partition: 0 })
      await d.pipe('in', [ev('a', 4000)], { partition: 1 })
      return { seen: seen(out), dropped: d.status().counters.duplicatesDropped }
    }
    expect(await run('partition')).toEqual({ seen: ['a@1000', 'a@2000'], dropped: 2 })
    expect(await run('single')).toEqual({ seen: ['a@1000'], dropped: 3 })
  })

  it('keyBy().window().aggregate(count()) downstream counts each event once', async () => {
    const a = topology('t', { watermarks: { maxOutOfOrderness: '3s', idleTimeout: '10s', maxFutureSkew: '5m' } })
    const out = collectingSink<{ k: string; start: number; n: number }>('counts')
    a.source(topic('in', { value: json(Ev), timestamp: (e) => e.ts }))
      .deduplicate({ by: (e) => e.id, within: '1m' })
      .keyBy((e) => e.k ?? '')
      .window(tumbling('10s'))
      .aggregate(count())
      .map((r) => ({ k: r.key, start: r.window.start - T0, n: r.value }))
      .to(out)
    const d = new EngineHarness(a.build(), { startTime: T0 })
    const input = [
      ev('e1', 1000, 0, 'p'),
      ev('e2', 2000, 0, 'p'),
      ev('e1', 1000, 0, 'p'), // redelivered
      ev('e3', 3000, 0, 'q'),
      ev('e2', 2000, 0, 'p'), // redelivered
      ev('e4', 12_000, 0, 'p'),
      ev('e3', 3000, 0, 'q'), // redelivered
      ev('e1', 1000, 0, 'p'), // redelivered again
      ev('e5', 30_000, 0, 'q'), // W = 26 999: [0,10) and [10,20) fire
    ]
    await d.pipe('in', input)
    expect(out.records).toEqual([
      { k: 'p', start: 0, n: 2 },
      { k: 'q', start: 0, n: 1 },
      { k: 'p', start: 10_000, n: 1 },
    ])
    expect(d.status().counters.duplicatesDropped).toBe(4)
  })

  it('build errors: after keyBy (below the typed DSL), bad within, no function', () => {
    const g = new GraphBuilder()
    const src = g.add({ kind: 'source', topic: 'in', serde: json(Ev), timestamp: undefined, inputs: [] })
    const k = g.add({ kind: 'keyBy', fn: (e: Ev) => e.id, inputs: [src], name: 'by-id' })
    const dd = g.add({ kind: 'deduplicate', by: (e: Ev) => e.id, within: 1000, allowedLateness: 0, inputs: [k] })
    g.add({ kind: 'sink', sink: { name: 's', write: async () => {} }, inputs: [dd] })
    const watermarks = { maxOutOfOrderness: 0, idleTimeout: 10_000, maxFutureSkew: 300_000 }
    expect(() => compileTopology('t', watermarks, g.seal())).toThrow(TopologyError)
    expect(() => compileTopology('t', watermarks, g.seal())).toThrow(
      'by-id: deduplicate after keyBy is not supported: call .deduplicate({ by, within }) before .keyBy()',
    )
    const w = topology('t')
    w.source(topic('in', { value: json(Ev) }))
      .keyBy((e) => e.id)
      .window(tumbling('1s'))
      .count({ name: 'counts' })
      .deduplicate({ by: (r) => r.key, within: '1m', name: 'dd' })
      .to({ name: 's', write: async () => {} })
    expect(() => w.build()).toThrow(
      'dd: deduplicate after a window aggregate is not supported: window results are already one per key and window; deduplicate the input before .keyBy()',
    )
    const s = () => topology('t').source(topic('in', { value: json(Ev) }))
    expect(() => s().deduplicate({ by: (e) => e.id, within: 0 })).toThrow(
      "deduplicate: within must be at least 1 ms, e.g. '10m'; got 0",
    )
    expect(() => s().deduplicate({ by: undefined as never, within: '1m' })).toThrow(
      "deduplicate: pass a function of the value, e.g. .deduplicate({ by: (v) => v.event_id, within: '10m' }); got undefined",
    )
  })

  it('describe() shows the operator', () => {
    const { topology } = app('10m')
    expect(topology.describe()).toContain('deduplicate dedupe [within 10m, allowed lateness 0ms, per task]')
  })
})

/** The reference: per task, every kept (id, t) is held while W < t + within - 1 + L. */
function reference(
  records: readonly { id: string; ts: number; p: number }[],
  within: number,
  L: number,
  B: number,
  partitions: number,
) {
  const maxTs: number[] = Array(partitions).fill(Number.NEGATIVE_INFINITY)
  let W = Number.NEGATIVE_INFINITY
  const kept = new Map<string, number[]>() // `${task}:${id}` -> times
  const out: number[] = []
  let dropped = 0
  let late = 0
  records.forEach((r, i) => {
    const held = (kept.get(`${r.p}:${r.id}`) ?? []).filter((t) => W < t + within - 1 + L)
    if (held.some((t) => Math.abs(r.ts - t) < within)) dropped++
    else if (W >= r.ts + L) late++
    else {
      out.push(i)
      kept.set(`${r.p}:${r.id}`, [...held, r.ts])
    }
    maxTs[r.p] = Math.max(maxTs[r.p] as number, r.ts)
    W = Math.max(W, Math.min(...maxTs) - B - 1)
  })
  return { out, dropped, late }
}

describe('deduplicate against a reference model', () => {
  it('drops, passes and reports late exactly as the model, per partition task', async () => {
    const record = fc.record({
      id: fc.constantFrom('a', 'b', 'c'),
      ts: fc.oneof(
        fc.integer({ min: 0, max: 20_000 }),
        fc.integer({ min: 0, max: 20 }).map((k) => k * 1000),
        fc.integer({ min: 1, max: 20 }).map((k) => k * 1000 - 1),
      ),
      p: fc.integer({ min: 0, max: 1 }),
    })
    await fc.assert(
      fc.asyncProperty(
        fc.array(record, { maxLength: 40 }),
        fc.constantFrom(1, 1000, 5000),
        fc.constantFrom(0, 2000),
        async (records, within, L) => {
          const a = topology('t', { watermarks: { maxOutOfOrderness: 1000, idleTimeout: '10s', maxFutureSkew: '5m' } })
          const out = collectingSink<Ev>('out')
          a.source(topic('in', { value: json(Ev), timestamp: (e) => e.ts }))
            .deduplicate({ by: (e) => e.id, within, allowedLateness: L })
            .to(out)
          a.lateEvents().to(collectingSink('late'))
          const d = new EngineHarness(a.build(), { startTime: T0, partitions: { in: 2 }, tasks: 'partition' })
          for (const [i, r] of records.entries()) await d.pipe('in', [ev(r.id, r.ts, i)], { partition: r.p })
          const want = reference(records, within, L, 1000, 2)
          expect(out.records.map((e) => e.seq)).toEqual(want.out)
          expect(d.status().counters).toMatchObject({ duplicatesDropped: want.dropped, late: want.late })
        },
      ),
      { numRuns: 300 },
    )
  })
})

describe('deduplicate with a repartitioned keyBy downstream', () => {
  it('runs once, upstream per source partition; the repartition tasks count each event once', async () => {
    const a = topology('t', { watermarks: { maxOutOfOrderness: '3s', idleTimeout: '10s', maxFutureSkew: '5m' } })
    const out = collectingSink<{ k: string; start: number; n: number }>('counts')
    a.source(topic('in', { value: json(Ev), timestamp: (e) => e.ts }))
      .deduplicate({ by: (e) => e.id, within: '1m', name: 'dedupe' })
      .keyBy((e) => e.k ?? '')
      .window(tumbling('10s'))
      .count()
      .map((r) => ({ k: r.key, start: r.window.start - T0, n: r.value }))
      .to(out)
    const d = new EngineHarness(a.build(), { startTime: T0, partitions: { in: 1 }, repartition: 2 })
    await d.pipe('in', [
      ev('e1', 1000, 0, 'p'),
      ev('e2', 2000, 0, 'q'),
      ev('e1', 1000, 0, 'p'),
      ev('e2', 2000, 0, 'q'),
      ev('e3', 3000, 0, 'p'),
      ev('e4', 30_000, 0, 'p'),
    ])
    expect([...out.records].sort((x, y) => x.k.localeCompare(y.k))).toEqual([
      { k: 'p', start: 0, n: 2 },
      { k: 'q', start: 0, n: 1 },
    ])
    expect(d.status().counters.duplicatesDropped).toBe(2)
    // the ids are held once, by the upstream task, not again by the repartition tasks
    expect(d.snapshot().tasks.flatMap((t) => t.windows.filter((w) => w.operator === 'dedupe'))).toHaveLength(4)
  })
})
