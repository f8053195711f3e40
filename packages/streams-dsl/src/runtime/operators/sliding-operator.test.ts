import { describe, expect, it } from 'vitest'
import { z } from 'zod'
import { type Aggregation, json, sliding, TopologyError, topic, topology } from '../../index.js'
import { collectingSink } from '../../testing/collecting-sink.js'
import { EngineHarness } from '../../testing/engine-harness.js'

const Ev = z.object({ k: z.string(), ts: z.number() })

function app() {
  const a = topology('sl', { watermarks: { maxOutOfOrderness: 0 } })
  const out = collectingSink<string>('out')
  a.source(topic('in', { value: json(Ev), timestamp: (e) => e.ts }))
    .keyBy((e) => e.k)
    .window(sliding(1000), { allowedLateness: 500 })
    .count()
    .map((r) => `${r.key} [${r.window.start},${r.window.end}) ${r.value}${r.lateFiring ? ' late' : ''}`)
    .to(out)
  return { topology: a.build(), out }
}

const ev = (k: string, ts: number) => ({ k, ts })

describe('sliding windows', () => {
  it('one window [t - D, t] per record time of a key, fired at t, updated by later records, purged at t + L', async () => {
    const { topology: t, out } = app()
    const d = new EngineHarness(t, { startTime: 0 })
    // W = ts - 1 after each: a@100's window fires when a@600 moves W to 599, a@600's when a@1100 moves it to 1099
    await d.pipe('in', [ev('a', 100), ev('a', 600), ev('a', 1100)])
    expect(out.records).toEqual(['a [-900,101) 1', 'a [-400,601) 2'])
    // W = 1099: a@700 opens [-300, 700] (its end passed: a late firing, of the 3 records in it) and adds itself to
    // the open window ending at 1100 (now 4, not fired yet)
    await d.pipe('in', [ev('a', 700)])
    expect(out.records.slice(2)).toEqual(['a [-300,701) 3 late'])
    await d.pipe('in', [ev('b', 2000)]) // W = 1999: a's window ending at 1100 fires with a@700 in it
    expect(out.records.slice(3)).toEqual(['a [100,1101) 4'])
    // a@1650: its window [650, 1650] opens at once (W >= 1650) from the records stored in it: 700, 1100, 1650
    await d.pipe('in', [ev('a', 1650)])
    expect(out.records.slice(4)).toEqual(['a [650,1651) 3 late'])
    // a@200: W = 1999 >= 200 + D + L, every window it could be in is gone: late
    await d.pipe('in', [ev('a', 200)])
    expect(d.lateEvents()).toHaveLength(1)
    expect(d.deadLetters()[0]?.message).toBe(
      'late event: every sliding window that can hold 200 was purged at watermark 1700',
    )
    expect(d.status().windows.open).toBe(2) // a@1650 and b@2000 (the stored records are not windows)
  })

  it("a record whose own window has closed still counts in its key's later windows", async () => {
    const { topology: t, out } = app()
    const d = new EngineHarness(t, { startTime: 0 })
    await d.pipe('in', [ev('x', 2000)]) // W = 1999
    await d.pipe('in', [ev('c', 1000)]) // [0, 1000] was purged at W 1500, but a window ending by 2000 may still come
    expect(out.records).toEqual([])
    expect(d.lateEvents()).toHaveLength(0)
    await d.pipe('in', [ev('c', 1800)]) // [800, 1800] opens with c@1000 and c@1800 in it
    expect(out.records).toEqual(['c [800,1801) 2 late'])
  })

  it('keeps its state across a snapshot and restore', async () => {
    const { topology: t, out } = app()
    const d = new EngineHarness(t, { startTime: 0 })
    await d.pipe('in', [ev('a', 100), ev('a', 600)])
    d.restore(d.snapshot())
    await d.pipe('in', [ev('a', 1000), ev('x', 5000)])
    expect(out.records).toEqual(['a [-900,101) 1', 'a [-400,601) 2', 'a [0,1001) 3'])
  })

  it('a window never shares an accumulator with the stored records (a mutating add, a merge returning an input)', async () => {
    // collects the timestamps of a window's records; add mutates, merge hands back b when a is empty
    const collect: Aggregation<{ ts: number }, number[], string> = {
      name: 'collect',
      init: () => [],
      add: (a, v) => {
        a.push(v.ts)
        return a
      },
      merge: (a, b) => (a.length === 0 ? b : [...a, ...b]),
      result: (a) => a.join(','),
    }
    const a = topology('sl', { watermarks: { maxOutOfOrderness: 0 } })
    const out = collectingSink<string>('out')
    a.source(topic('in', { value: json(Ev), timestamp: (e) => e.ts }))
      .keyBy((e) => e.k)
      .window(sliding(1000))
      .aggregate(collect)
      .map((r) => `${r.key}@${r.window.end - 1}: ${r.value}`)
      .to(out)
    const d = new EngineHarness(a.build(), { startTime: 0 })
    // the first a@100 opens [-900, 100] from the accumulator stored for 100; the second is added to both: had the
    // window shared that accumulator, it would hold the second record twice
    await d.pipe('in', [ev('a', 100), ev('a', 100), ev('a', 600), ev('x', 5000)])
    expect(out.records).toEqual(['a@100: 100,100', 'a@600: 100,100,600'])
  })

  it('needs an aggregation with merge, and a positive time difference', () => {
    const a = topology('sl')
    const noMerge: Aggregation<unknown, number, number> = {
      name: 'last',
      init: () => 0,
      add: (x) => x,
      result: (x) => x,
    }
    a.source(topic('in', { value: json(Ev) }))
      .keyBy((e) => e.k)
      .window(sliding('1s'))
      .aggregate(noMerge)
      .to(collectingSink('out'))
    expect(() => a.build()).toThrow(TopologyError)
    expect(() => a.build()).toThrow('window-3: sliding windows merge accumulators: last has no merge(a, b)')
    expect(() => sliding(0)).toThrow("sliding window time difference must be positive, got 0ms: e.g. sliding('1m')")
    expect(sliding('1m')).toEqual({ kind: 'sliding', size: 60_000, advance: 1, name: 'sliding-1m' })
  })
})

describe('sliding windows of a hot key (the cached chunk merges)', () => {
  it('every window holds exactly the records in its span, with records out of order within the lateness', async () => {
    // one key, 600 records 5 ms apart over 3 s, each batch of 20 shuffled; D = 1000 ms: ~200 records a window,
    // so a new window merges whole chunks (D / 32 = 31 ms each) and the records of the two it cuts
    const a = topology('hot', { watermarks: { maxOutOfOrderness: 100 } })
    const out = collectingSink<{ start: number; end: number; n: number }>('out')
    a.source(topic('in', { value: json(Ev), timestamp: (e) => e.ts }))
      .keyBy((e) => e.k)
      .window(sliding(1000), { allowedLateness: 200 })
      .count()
      .map((r) => ({ start: r.window.start, end: r.window.end, n: r.value }))
      .to(out)
    const d = new EngineHarness(a.build(), { startTime: 0 })
    const times = Array.from({ length: 600 }, (_, i) => 1000 + i * 5)
    let seed = 7
    const rand = () => {
      seed = (seed * 1103515245 + 12345) % 2 ** 31
      return seed / 2 ** 31
    }
    for (let i = 0; i < times.length; i += 20) {
      const batch = times.slice(i, i + 20).sort(() => rand() - 0.5)
      await d.pipe(
        'in',
        batch.map((ts) => ev('hot', ts)),
      )
    }
    await d.pipe('in', [ev('hot', 10_000)]) // moves W past every window's end and lateness
    expect(d.lateEvents()).toEqual([])
    // the last result of each window is the number of records in [start, end)
    const last = new Map<number, number>()
    for (const r of out.records) if (r.end <= 5000) last.set(r.start, r.n)
    expect(last.size).toBe(600)
    for (const [start, n] of last)
      expect([start, n]).toEqual([start, times.filter((t) => t >= start && t < start + 1001).length])
  })
})
