import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { z } from 'zod'
import { json, topic, topology } from '../../index.js'
import { Click, SILENCE, type Summary, silence } from '../../runner/fixtures/silence-processor.js'
import { collectingSink } from '../../testing/collecting-sink.js'
import { EngineHarness } from '../../testing/engine-harness.js'

const GAP = SILENCE

function app(options: { partitions?: number; repartition?: number } = {}) {
  const a = topology('silence', { watermarks: { maxOutOfOrderness: 0 } })
  const out = collectingSink<Summary>('out')
  a.source(topic('clicks', { value: json(Click), timestamp: (c) => c.ts }))
    .keyBy((c) => c.user)
    .process(silence)
    .to(out)
  // the wall clock far ahead of the events: none is too far in the future (maxFutureSkew)
  const d = new EngineHarness(a.build(), {
    startTime: 10_000_000,
    ...(options.partitions && { partitions: { clicks: options.partitions } }),
    ...(options.repartition && { repartition: options.repartition }),
  })
  return { d, out }
}

describe('keyBy(fn).process(processor): per-key state and event-time timers', () => {
  it('keeps state per key and fires a timer once the watermark reaches it, with its time as event time', async () => {
    const { d, out } = app()
    await d.pipe('clicks', [
      { user: 'a', ts: 1_000 },
      { user: 'b', ts: 2_000 },
      { user: 'a', ts: 10_000 },
    ])
    expect(out.records).toEqual([])
    expect(d.status().windows.open).toBe(2) // two keys hold state
    await d.pipe('clicks', [{ user: 'c', ts: 32_001 }]) // W = 32 000: b's timer (32 000) fires, a's (40 000) not
    expect(out.records).toEqual([{ user: 'b', clicks: 1, first: 2_000, last: 2_000 }])
    // the record comes first, then W moves to 99 999: a's and c's timers fire, c's session is the click
    // before the one just read
    await d.pipe('clicks', [{ user: 'c', ts: 100_000 }])
    expect(out.records.slice(1)).toEqual([
      { user: 'a', clicks: 2, first: 1_000, last: 10_000 },
      { user: 'c', clicks: 1, first: 32_001, last: 32_001 },
    ])
    expect(d.status().windows.open).toBe(1) // only c is held: its click at 100 000 and its timer
    expect(d.lateEvents()).toEqual([])
  })

  it('keeps state and timers across a snapshot and restore (a crash and restart elsewhere)', async () => {
    const { d, out } = app()
    await d.pipe('clicks', [
      { user: 'a', ts: 1_000 },
      { user: 'a', ts: 5_000 },
    ])
    d.restore(d.snapshot())
    await d.pipe('clicks', [{ user: 'z', ts: 90_000 }]) // only the restored timer can emit a's session
    expect(out.records).toEqual([{ user: 'a', clicks: 2, first: 1_000, last: 5_000 }])
  })

  it('deletes timers, sets one per time, fires a timer already behind the watermark at the next step', async () => {
    type In = { k: string; op: 'set' | 'del' | 'past'; t: number; ts: number }
    const a = topology('timers', { watermarks: { maxOutOfOrderness: 0 } })
    const out = collectingSink<string>('out')
    a.source(topic('in', { value: json(z.object({ k: z.string(), op: z.string(), t: z.number(), ts: z.number() })) }))
      .map((v) => v as In)
      .keyBy((v) => v.k)
      .process<null, string>({
        process(v, ctx) {
          if (v.op === 'del') ctx.deleteTimer(v.t)
          else ctx.setTimer(v.t)
        },
        onTimer(t, ctx) {
          ctx.emit(`${ctx.key}@${t} (W ${ctx.watermark}, pending ${ctx.timers().join(',') || '-'})`)
        },
      })
      .to(out)
    const d = new EngineHarness(a.build(), { startTime: 0 })
    await d.pipe(
      'in',
      [
        { k: 'x', op: 'set', t: 50, ts: 1 },
        { k: 'x', op: 'set', t: 50, ts: 2 }, // the same time again: one timer
        { k: 'x', op: 'set', t: 70, ts: 3 },
        { k: 'x', op: 'del', t: 70, ts: 4 },
      ],
      { timestamp: 10 },
    )
    expect(out.records).toEqual([])
    // W moves to 99 after this batch: y's timer at 5, set by it, and x's at 50 fire, in time order
    await d.pipe('in', [{ k: 'y', op: 'set', t: 5, ts: 0 }], { timestamp: 100 })
    await d.pipe('in', [{ k: 'y', op: 'set', t: 1, ts: 0 }], { timestamp: 101 }) // behind W: fires at W 100
    expect(out.records).toEqual(['y@5 (W 99, pending -)', 'x@50 (W 99, pending -)', 'y@1 (W 100, pending -)'])
  })

  it('fires wall-clock timers as the wall clock reaches them, kept across a restore', async () => {
    const a = topology('reminders', { watermarks: { maxOutOfOrderness: 0 } })
    const out = collectingSink<string>('out')
    const T0 = 1_000_000
    a.source(topic('clicks', { value: json(Click), timestamp: (c) => c.ts }))
      .keyBy((c) => c.user)
      .process<number, string>({
        process(c, ctx) {
          ctx.state = (ctx.state ?? 0) + 1
          if (ctx.state === 1) ctx.setWallClockTimer(T0 + 5_000) // 5 s of processing time after the start
          if (c.ts === 0) ctx.deleteWallClockTimer(T0 + 5_000)
        },
        onWallClockTimer(time, ctx) {
          ctx.emit(
            `${ctx.key}: ${ctx.state} by ${time} (event time ${ctx.timestamp}, pending ${ctx.wallClockTimers().length})`,
          )
        },
      })
      .to(out)
    const d = new EngineHarness(a.build(), { startTime: T0 })
    await d.pipe('clicks', [
      { user: 'a', ts: 10 },
      { user: 'a', ts: 20 },
      { user: 'b', ts: 30 },
      { user: 'c', ts: 40 },
      { user: 'c', ts: 0 }, // deletes c's
    ])
    await d.advanceWallClock('4s')
    expect(out.records).toEqual([]) // event time does not fire them: only the wall clock does
    d.restore(d.snapshot())
    await d.advanceWallClock('1s')
    expect(out.records).toEqual([
      `a: 2 by ${T0 + 5_000} (event time ${T0 + 5_000}, pending 0)`,
      `b: 1 by ${T0 + 5_000} (event time ${T0 + 5_000}, pending 0)`,
    ])
  })

  it('keeps a key that holds a wall-clock timer and no state', async () => {
    const a = topology('bare-timer', { watermarks: { maxOutOfOrderness: 0 } })
    const out = collectingSink<string>('out')
    a.source(topic('clicks', { value: json(Click), timestamp: (c) => c.ts }))
      .keyBy((c) => c.user)
      .process<null, string>({
        process(_c, ctx) {
          ctx.setWallClockTimer(2_000_000)
        },
        onWallClockTimer(time, ctx) {
          ctx.emit(`${ctx.key}@${time}`)
        },
      })
      .to(out)
    const d = new EngineHarness(a.build(), { startTime: 1_999_000 })
    await d.pipe('clicks', [{ user: 'a', ts: 10 }])
    expect(d.status().windows.open).toBe(1)
    await d.advanceWallClock('1s')
    expect(out.records).toEqual(['a@2000000'])
    expect(d.status().windows.open).toBe(0)
  })

  it("sends a throw in onTimer to the dead letters and goes on with the other keys' timers", async () => {
    const a = topology('throws', { watermarks: { maxOutOfOrderness: 0 } })
    const out = collectingSink<string>('out')
    a.source(topic('clicks', { value: json(Click), timestamp: (c) => c.ts }))
      .keyBy((c) => c.user)
      .process<null, string>({
        process(c, ctx) {
          ctx.setTimer(c.ts + 10)
        },
        onTimer(t, ctx) {
          if (ctx.key === 'bad') throw new Error('boom')
          ctx.emit(`${ctx.key}@${t}`)
        },
      })
      .to(out)
    const d = new EngineHarness(a.build(), { startTime: 0 })
    await d.pipe('clicks', [
      { user: 'bad', ts: 1 },
      { user: 'ok', ts: 2 },
      { user: 'z', ts: 1_000 },
    ])
    expect(out.records).toEqual(['ok@12'])
    expect(d.deadLetters().map((l) => [l.reason, l.message])).toEqual([
      ['processing_error', expect.stringContaining('boom')],
    ])
  })

  it('says how to call it when given no processor, and describes it in the plan', () => {
    const a = topology('bad')
    const keyed = a.source(topic('clicks', { value: json(Click) })).keyBy((c) => c.user)
    expect(() => keyed.process(undefined as never)).toThrow(/pass a processor \{ process\(value, ctx\)/)
    expect(() => keyed.process({ process: () => {}, onTimer: 3 } as never)).toThrow(/onTimer must be a function/)
    expect(() => keyed.process({ process: () => {}, onWallClockTimer: 'x' } as never)).toThrow(
      /onWallClockTimer must be a function/,
    )
    keyed.process({ name: 'pass', process: (c, ctx) => ctx.emit(c) }).to(collectingSink('out'))
    expect(a.build().describe()).toMatch(/pass.*custom processor, state per key/)
  })

  /** Reference: per user, clicks in time order split where two are GAP or more apart (all closed at the end). */
  function sessions(clicks: readonly Click[]): Summary[] {
    const byUser = new Map<string, number[]>()
    for (const c of clicks) byUser.set(c.user, [...(byUser.get(c.user) ?? []), c.ts])
    const out: Summary[] = []
    for (const [user, times] of byUser) {
      let first = times[0] as number
      let n = 0
      times.forEach((t, i) => {
        n++
        const next = times[i + 1]
        if (next === undefined || next - t >= GAP) {
          out.push({ user, clicks: n, first, last: t })
          first = next ?? 0
          n = 0
        }
      })
    }
    return out.sort((x, y) => x.last - y.last || (x.user < y.user ? -1 : 1))
  }

  it('emits the sessions of the reference, over partitions, repartitioned, with restores (property)', async () => {
    // any gaps, the edge (exactly GAP) included: the processor is exact however far W lags
    const gaps = fc.array(fc.oneof(fc.integer({ min: 0, max: 3 * GAP }), fc.constantFrom(GAP - 1, GAP, GAP + 1)), {
      minLength: 1,
      maxLength: 25,
    })
    await fc.assert(
      fc.asyncProperty(
        fc.array(fc.tuple(fc.constantFrom('u1', 'u2', 'u3'), gaps), { minLength: 1, maxLength: 3 }),
        fc.constantFrom(1, 3),
        fc.boolean(),
        fc.integer({ min: 0, max: 5 }),
        async (users, partitions, repartition, restoreEvery) => {
          const clicks: Click[] = []
          const seen = new Set<string>()
          for (const [user, gs] of users) {
            if (seen.has(user)) continue
            seen.add(user)
            let t = 1_000
            for (const g of gs) {
              t += g
              clicks.push({ user, ts: t })
            }
          }
          clicks.sort((x, y) => x.ts - y.ts)
          const { d, out } = app({ partitions, ...(repartition && { repartition: 2 }) })
          // a user's clicks in one partition (as a Kafka key would), in time order; W moves as every partition does
          const part = (u: string) => Number(u.slice(1)) % partitions
          for (let i = 0; i < clicks.length; i++) {
            const c = clicks[i] as Click
            await d.pipe('clicks', [c], { partition: part(c.user) })
            if (restoreEvery > 0 && i % restoreEvery === 0) d.restore(d.snapshot())
          }
          const end = (clicks.at(-1)?.ts ?? 0) + 10 * GAP
          for (let p = 0; p < partitions; p++) await d.pipe('clicks', [{ user: 'end', ts: end }], { partition: p })
          const got = out.records
            .filter((r) => r.user !== 'end')
            .sort((x, y) => x.last - y.last || (x.user < y.user ? -1 : 1))
          expect(got).toEqual(sessions(clicks))
        },
      ),
      { numRuns: 60 },
    )
  })
})
