import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { z } from 'zod'
import { type Aggregation, json, session, TopologyError, topic, topology } from '../../index.js'
import { collectingSink } from '../../testing/collecting-sink.js'
import { EngineHarness } from '../../testing/engine-harness.js'

const Ev = z.object({ k: z.string(), ts: z.number() })

function app() {
  const a = topology('s', { watermarks: { maxOutOfOrderness: 0 } })
  const out = collectingSink<string>('out')
  a.source(topic('in', { value: json(Ev), timestamp: (e) => e.ts }))
    .keyBy((e) => e.k)
    .window(session(1000), { allowedLateness: 500 })
    .count()
    .map((r) => `${r.key} [${r.window.start},${r.window.end}) ${r.value}${r.lateFiring ? ' late' : ''}`)
    .to(out)
  return { topology: a.build(), out }
}

describe('session windows', () => {
  it('merge events closer than the gap (touching included), fire at end - 1, fire again when extended late', async () => {
    const { topology: t, out } = app()
    const d = new EngineHarness(t, { startTime: 0 })
    const ev = (k: string, ts: number) => ({ k, ts })
    // b: [50, 1050) fires when a's 1600 moves W to 1599; a: [100, 2600) (1600 touches 600 + gap)
    await d.pipe('in', [ev('b', 50), ev('a', 100), ev('a', 600), ev('a', 1600)])
    expect(out.records).toEqual(['b [50,1050) 1'])
    await d.pipe('in', [ev('x', 3000)]) // W = 2999: a fires
    expect(out.records).toEqual(['b [50,1050) 1', 'a [100,2600) 3'])
    await d.pipe('in', [ev('a', 2400)]) // W = 2999 < 2599 + 500: extends a to [100, 3400), not fired yet
    expect(out.records).toHaveLength(2)
    await d.pipe('in', [ev('a', 50)]) // [50, 1050) overlaps a's open session: merges -> [50, 3400)
    await d.pipe('in', [ev('x', 3400)]) // W = 3399 -> fires [50,3400)
    expect(out.records.at(-1)).toBe('a [50,3400) 5')
    await d.pipe('in', [ev('b', 100)]) // [100, 1100) closed long ago (W >= 1099 + 500): late
    expect(d.lateEvents()).toHaveLength(1)
  })

  it('needs an aggregation with merge', () => {
    const a = topology('s')
    const noMerge: Aggregation<unknown, number, number> = {
      name: 'last',
      init: () => 0,
      add: (x) => x,
      result: (x) => x,
    }
    a.source(topic('in', { value: json(Ev) }))
      .keyBy((e) => e.k)
      .window(session('1s'))
      .aggregate(noMerge)
      .to(collectingSink('out'))
    expect(() => a.build()).toThrow(TopologyError)
    expect(() => a.build()).toThrow(
      'window-3: session windows merge accumulators: last has no merge(a, b); add one, or use a built-in (count, sum, sumOf, avg, min, max)',
    )
  })
})

describe('session windows: status', () => {
  // The status is counted and read from the fire timers, not from every session: after every step it must say
  // what a scan of the snapshot says (open sessions; the earliest end of one not fired).
  it('counts the open sessions and finds the oldest not fired as a scan of every session does', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.array(fc.array(fc.record({ k: fc.constantFrom('a', 'b', 'c'), ts: fc.nat(8000) }), { maxLength: 4 }), {
          maxLength: 25,
        }),
        async (steps) => {
          const { topology: t } = app()
          const d = new EngineHarness(t, { startTime: 0 })
          for (const step of steps) {
            await d.pipe('in', step)
            const sessions = d.snapshot().tasks.flatMap((task) => task.windows)
            const open = sessions.filter((w) => !w.fired)
            const status = d.status().windows
            expect(status.open).toBe(sessions.length)
            if (open.length === 0) expect(status.oldest).toBeNull()
            else {
              const end = Math.min(...open.map((w) => w.end))
              expect(status.oldest?.end).toBe(end)
              expect(open.some((w) => w.end === end && w.start === status.oldest?.start)).toBe(true)
            }
          }
        },
      ),
      { numRuns: 300 },
    )
  })
})
