import { describe, expect, it } from 'vitest'
import { z } from 'zod'
import type { DeadLetter } from '../connectors/types.js'
import { json, topic, topology, tumbling } from '../index.js'
import type { StateBackend } from '../state/state-backend.js'
import { memoryStateBackend } from '../state/state-backend.js'
import type { WindowStore } from '../state/window-store.js'
import { collectingSink } from '../testing/collecting-sink.js'
import { EngineHarness } from '../testing/engine-harness.js'
import { createEngine } from './engine.js'

const T0 = Date.parse('2025-01-01T12:00:00Z')
const Ev = z.object({ k: z.string(), ts: z.union([z.number(), z.string()]).optional() })
const ev = (k: string, dt: number) => ({ k, ts: T0 + dt })

/** One source, count per key in 10 s tumbling windows; B = 3 s, L = 5 s, idle after 10 s. */
function app(options: { emit?: 'onClose' | 'onUpdate'; routeLate?: boolean; routeDead?: boolean } = {}) {
  const a = topology('t', { watermarks: { maxOutOfOrderness: '3s', idleTimeout: '10s', maxFutureSkew: '5m' } })
  const out = collectingSink<{ k: string; start: number; n: number; late: boolean }>('out')
  a.source(topic('in', { value: json(Ev), timestamp: (e) => e.ts }))
    .keyBy((e) => e.k)
    .window(tumbling('10s'), { allowedLateness: '5s', emit: options.emit ?? 'onClose' })
    .count()
    .map((r) => ({ k: r.key, start: r.window.start - T0, n: r.value, late: r.lateFiring }))
    .to(out)
  const late = collectingSink<DeadLetter>('late')
  const dead = collectingSink<DeadLetter>('dead')
  if (options.routeLate) a.lateEvents().to(late)
  if (options.routeDead) a.deadLetters().to(dead)
  return { topology: a.build(), out, late, dead }
}

describe('engine', () => {
  it('judges each record against W as it stands after the records before it, inside one batch', async () => {
    const { topology, out } = app()
    const d = new EngineHarness(topology, { startTime: T0 })
    // 16 000: W = 12 999 -> [0,10) fires (W >= 9 999); 4 000: W < 14 999, added -> late firing
    // 30 000: W = 26 999 -> [0,10) purged, [10,20) fires; 5 000: W >= 14 999 -> late event, dropped
    await d.pipe('in', [ev('a', 1000), ev('a', 16_000), ev('a', 4000), ev('a', 30_000), ev('a', 5000)])
    expect(out.records).toEqual([
      { k: 'a', start: 0, n: 1, late: false },
      { k: 'a', start: 0, n: 2, late: true },
      { k: 'a', start: 10_000, n: 1, late: false },
    ])
    expect(d.lateEvents().map((x) => x.record.offset)).toEqual([4])
    expect(d.status().counters).toMatchObject({
      eventsIn: 5,
      late: 1,
      lateFirings: 1,
      deadLetters: 1,
      windowsEmitted: 3,
    })
  })

  it('fires at W = end - 1 exactly, purges at W = end - 1 + L exactly', async () => {
    const { topology, out } = app()
    const d = new EngineHarness(topology, { startTime: T0 })
    await d.pipe('in', [ev('a', 0), ev('a', 12_999)]) // W = 9 998
    expect(out.records).toEqual([])
    await d.pipe('in', [ev('a', 13_000)]) // W = 9 999 = end - 1
    expect(out.records).toEqual([{ k: 'a', start: 0, n: 1, late: false }])
    await d.pipe('in', [ev('a', 17_999), ev('a', 9_000)]) // W = 14 998: still within lateness
    expect(out.records.at(-1)).toEqual({ k: 'a', start: 0, n: 2, late: true })
    await d.pipe('in', [ev('a', 18_000), ev('a', 9_000)]) // W = 14 999 = end - 1 + L: purged, late
    expect(d.lateEvents()).toHaveLength(1)
    expect(d.status().windows.open).toBe(1) // only [10 s, 20 s) for a
  })

  it('a future timestamp goes to the dead letters and does not move any watermark', async () => {
    const { topology } = app()
    const d = new EngineHarness(topology, { startTime: T0 })
    await d.pipe('in', [ev('a', 10_000), ev('a', 300_001 + 10_000), ev('a', 300_000)])
    expect(d.deadLetters().map((x) => x.reason)).toEqual(['future_timestamp'])
    expect(d.status().partitions[0]?.maxEventTime).toBe(T0 + 300_000)
    expect(d.status().watermark).toBe(T0 + 300_000 - 3001)
  })

  it('emits on every update with emit: onUpdate', async () => {
    const { topology, out } = app({ emit: 'onUpdate' })
    const d = new EngineHarness(topology, { startTime: T0 })
    await d.pipe('in', [ev('a', 1), ev('a', 2), ev('b', 3)])
    expect(out.records.map((r) => [r.k, r.n])).toEqual([
      ['a', 1],
      ['a', 2],
      ['b', 1],
    ])
  })

  it('routes late events and dead letters to the topology side outputs when used', async () => {
    const { topology, late, dead } = app({ routeLate: true, routeDead: true })
    const d = new EngineHarness(topology, { startTime: T0 })
    await d.pipe('in', [ev('a', 30_000), ev('a', 0), 'not json'])
    expect(late.records.map((x) => x.reason)).toEqual(['late_event'])
    expect(dead.records.map((x) => x.reason)).toEqual(['invalid_json'])
    expect(d.deadLetters()).toEqual([])
  })

  it('turns an exception in user code into a processing_error dead letter and goes on', async () => {
    const a = topology('t')
    const out = collectingSink<number>('out')
    a.source(topic('in', { value: json(z.object({ n: z.number() })) }))
      .map((e) => {
        if (e.n === 0) throw new Error('division by zero')
        return 1 / e.n
      })
      .to(out)
    const d = new EngineHarness(a.build())
    await d.pipe('in', [{ n: 2 }, { n: 0 }, { n: 4 }])
    expect(out.records).toEqual([0.5, 0.25])
    expect(d.deadLetters()).toMatchObject([{ reason: 'processing_error', message: 't: division by zero' }])
  })

  it('a throw in user code on a window result is a processing_error dead letter; the other results go out', async () => {
    const a = topology('t')
    const out = collectingSink<string>('out')
    a.source(topic('in', { value: json(Ev), timestamp: (e) => e.ts }))
      .keyBy((e) => e.k)
      .window(tumbling('10s'))
      .count()
      .map((r) => {
        if (r.key === 'bad') throw new Error('cannot format')
        return r.key
      })
      .to(out)
    const d = new EngineHarness(a.build(), { startTime: T0 })
    await d.pipe('in', [ev('bad', 1), ev('good', 2), ev('x', 20_000)])
    expect(out.records).toEqual(['good'])
    expect(d.deadLetters()).toMatchObject([
      { reason: 'processing_error', message: 'window-3: cannot format', record: { topic: 'window-3', offset: -1 } },
    ])
  })

  it('commits only past state that is purged; skips records it already processed', async () => {
    const { topology } = app()
    const d = new EngineHarness(topology, { startTime: T0 })
    await d.pipe('in', [ev('a', 1000), ev('a', 11_000), ev('b', 12_000)])
    expect(d.engine.committable()).toEqual([{ topic: 'in', partition: 0, offset: 0 }])
    await d.pipe('in', [ev('a', 25_000)]) // W = 21 999: [0,10) purged, [10,20) fired, not purged
    expect(d.engine.committable()).toEqual([{ topic: 'in', partition: 0, offset: 1 }])
    await d.engine.process({ topic: 'in', partition: 0, records: [] })
    const before = d.status().counters.eventsIn
    await d.engine.process({
      topic: 'in',
      partition: 0,
      records: [{ topic: 'in', partition: 0, offset: 2, key: null, value: Buffer.from('{}'), timestamp: T0 }],
    })
    expect(d.status().counters.eventsIn).toBe(before)
  })

  it('status says which partition holds the oldest window and why', async () => {
    const { topology } = app()
    const d = new EngineHarness(topology, { startTime: T0, partitions: { in: 4 } })
    await d.pipe('in', [ev('a', 20_000)], { partition: 0 })
    await d.pipe('in', [ev('b', 8_000)], { partition: 3 })
    await d.advanceWallClock('9s')
    expect(d.status().windows.oldest?.waitingFor.map((w) => w.partition)).toEqual([1, 2, 3])
    expect(d.status().windows.oldest?.reason).toContain('partition in-1 has delivered no event yet (assigned 9 s ago')
    const s = d.status()
    expect(JSON.parse(JSON.stringify(s))).toEqual(s)
    expect(s.watermark).toBeNull() // partitions 1 and 2 have delivered nothing and are not idle yet
    expect(s.windows.oldest).toMatchObject({ key: 'b', start: T0, end: T0 + 10_000, firesAtWatermark: T0 + 9_999 })
    expect(s.windows.oldest?.reason).toBe(
      'window [12:00:00.000,12:00:10.000) fires when the watermark reaches 12:00:09.999; ' +
        'partition in-1 has delivered no event yet (assigned 9 s ago; idle after 10 s if a broker answer shows nothing unread); ' +
        'partition in-2 has delivered no event yet (assigned 9 s ago; idle after 10 s if a broker answer shows nothing unread); ' +
        'partition in-3 holds it at 12:00:04.999 (last event 9 s ago; idle after 10 s if a broker answer shows nothing unread)',
    )
    await d.advanceWallClock('2s') // everything idle: W = M + (now - t) - B - 1
    const idle = d.status()
    expect(idle.allIdle).toBe(true)
    expect(idle.watermark).toBe(T0 + 20_000 + 11_000 - 3001)
    expect(idle.windows.oldest).toMatchObject({ key: 'a', start: T0 + 20_000, waitingFor: [] })
    expect(idle.windows.oldest?.reason).toContain('all partitions are idle')
  })

  it('snapshot and restore carry window state, watermarks and positions', async () => {
    const { topology, out } = app()
    const d = new EngineHarness(topology, { startTime: T0 })
    await d.pipe('in', [ev('a', 1000), ev('a', 2000)])
    const snap = d.snapshot()
    expect(snap.tasks[0]?.windows[0]?.entries).toEqual([['a', 2]])
    d.restore(snap)
    await d.pipe('in', [ev('a', 3000), ev('a', 20_000)])
    expect(out.records).toEqual([{ k: 'a', start: 0, n: 3, late: false }])
  })

  it('close() flushes sinks and never fires a window early', async () => {
    const { topology, out } = app()
    let flushed = 0
    const engine = createEngine(topology, {
      clock: { now: () => T0 },
      wrapSink: (s) => ({ ...s, write: (r) => s.write(r), flush: async () => void flushed++ }),
    })
    const rec = {
      topic: 'in',
      partition: 0,
      offset: 0,
      key: null,
      value: Buffer.from(JSON.stringify(ev('a', 1))),
      timestamp: T0,
    }
    await engine.process({ topic: 'in', partition: 0, records: [rec] })
    await engine.close()
    expect(out.records).toEqual([])
    expect(flushed).toBe(1)
    expect(engine.status().windows.open).toBe(1)
  })

  it('refuses a batch of a topic that is not a source, with a one-line message', async () => {
    const engine = createEngine(app().topology)
    await expect(engine.process({ topic: 'nope', partition: 0, records: [] })).rejects.toThrow(
      'topic "nope" is not a source of topology "t"',
    )
  })

  it('a failed sink write fails the batch and stops the engine, never skipping output', async () => {
    const a = topology('t')
    a.source(topic('in', { value: json(z.object({ n: z.number() })) })).to({
      name: 'broken',
      write: async () => {
        throw new Error('redis down')
      },
    })
    const engine = createEngine(a.build())
    const rec = { topic: 'in', partition: 0, offset: 0, key: null, value: Buffer.from('{"n":1}'), timestamp: 0 }
    // the batch is processed and its output handed to the sink's writer; the failed write shows at the flush
    await engine.process({ topic: 'in', partition: 0, records: [rec] })
    await expect(engine.flush()).rejects.toThrow('redis down')
    await expect(engine.tick()).rejects.toThrow('redis down')
    await expect(engine.process({ topic: 'in', partition: 0, records: [{ ...rec, offset: 1 }] })).rejects.toThrow(
      'redis down',
    )
    expect(engine.committable()).toEqual([])
  })
})

describe('engine state backend', () => {
  it('keeps every window in the stores of the backend it is given, one per operator and task', async () => {
    const { topology, out } = app()
    const opened: string[] = []
    const stores: WindowStore<unknown>[] = []
    const state: StateBackend = {
      name: 'recording',
      windowStore: <A>(operator: string, task: number) => {
        opened.push(`${operator}/${task}`)
        const s = memoryStateBackend.windowStore<A>(operator, task)
        stores.push(s as WindowStore<unknown>)
        return s
      },
      sessionStore: (operator, task) => memoryStateBackend.sessionStore(operator, task),
    }
    const engine = createEngine(topology, { clock: { now: () => T0 }, tasks: 'partition', state })
    const rec = (partition: number, offset: number, dt: number) => ({
      topic: 'in',
      partition,
      offset,
      key: null,
      value: Buffer.from(JSON.stringify(ev('a', dt))),
      timestamp: T0,
    })
    await engine.process({ topic: 'in', partition: 0, records: [rec(0, 0, 1000), rec(0, 1, 2000)] })
    await engine.process({ topic: 'in', partition: 1, records: [rec(1, 0, 1500)] })
    expect(opened).toEqual(['window-3/0', 'window-3/1'])
    expect(stores.map((s) => s.buckets().map((b) => [b.start - T0, [...b.entries]]))).toEqual([
      [[0, [['a', 2]]]],
      [[0, [['a', 1]]]],
    ])
    await engine.endOfInput()
    await engine.flush()
    expect(out.records).toEqual([
      { k: 'a', start: 0, n: 2, late: false },
      { k: 'a', start: 0, n: 1, late: false },
    ])
    expect(stores.map((s) => s.size)).toEqual([0, 0]) // purged from the backend's stores
  })
})
