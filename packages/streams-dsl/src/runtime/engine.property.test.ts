import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { z } from 'zod'
import { count, hopping, json, session, sliding, topic, topology, tumbling } from '../index.js'
import { EngineHarness } from '../testing/engine-harness.js'
import { type ModelParams, type ModelRecord, type ModelResult, ReferenceModel } from './engine.reference.js'

// Property tests: the engine (through the test driver) against the reference model of docs/contract.md §2,
// over random multi-partition streams with out-of-order, late, too-late, equal-timestamp, future and bad
// records, idle gaps and wall-clock advances.

const T0 = 1_700_000_000_000
const TOPICS = { a: 3, b: 2 } as const
type Topic = keyof typeof TOPICS

type Step =
  | { kind: 'batch'; topic: Topic; partition: number; records: ModelRecord[] }
  | { kind: 'advance'; ms: number }
  | { kind: 'checkpoint' }
  // a partition the job cannot read: the broker unreachable, its fetches failing, or paused by backpressure
  | { kind: 'outage'; topic: Topic; partition: number; cause: 'unreachable' | 'fetch-failing' | 'paused' }
  | { kind: 'recover'; topic: Topic; partition: number }

const eventTime = fc.oneof(
  fc.integer({ min: 0, max: 40_000 }),
  fc.integer({ min: 0, max: 40 }).map((k) => k * 1000 - 1), // window ends - 1
  fc.integer({ min: 0, max: 40 }).map((k) => k * 1000),
  fc.constantFrom(5000, 5000, 12_345), // equal timestamps
)
const record: fc.Arbitrary<ModelRecord> = fc.oneof(
  {
    weight: 12,
    arbitrary: fc.record({
      kind: fc.constant('event' as const),
      key: fc.constantFrom('k0', 'k1', 'k2'),
      ts: eventTime.map((x) => T0 + x),
    }),
  },
  {
    weight: 1,
    arbitrary: fc.record({
      kind: fc.constant('event' as const),
      key: fc.constantFrom('k0', 'k1'),
      ts: fc.constant(null),
    }),
  },
  {
    weight: 1,
    arbitrary: fc.record({ kind: fc.constant('tombstone' as const), key: fc.constantFrom('k0', 'k1', 'k2') }),
  },
  { weight: 1, arbitrary: fc.constant({ kind: 'bad_json' as const }) },
  { weight: 1, arbitrary: fc.constant({ kind: 'bad_event' as const }) },
)
const step: fc.Arbitrary<Step> = fc.oneof(
  {
    weight: 6,
    arbitrary: fc
      .record({
        topic: fc.constantFrom<Topic>('a', 'b'),
        partition: fc.nat({ max: 2 }),
        records: fc.array(record, { maxLength: 8 }),
      })
      .map((b) => ({ kind: 'batch' as const, ...b, partition: b.partition % TOPICS[b.topic] })),
  },
  { weight: 2, arbitrary: fc.integer({ min: 1, max: 4000 }).map((ms) => ({ kind: 'advance' as const, ms })) },
  // exactly an idle timeout, or half of it: partitions go idle on the boundary
  { weight: 1, arbitrary: fc.constantFrom(500, 1000, 1250, 2500).map((ms) => ({ kind: 'advance' as const, ms })) },
  { weight: 1, arbitrary: fc.constant({ kind: 'checkpoint' as const }) },
  {
    weight: 1,
    arbitrary: fc
      .record({
        topic: fc.constantFrom<Topic>('a', 'b'),
        partition: fc.nat({ max: 2 }),
        cause: fc.constantFrom('unreachable' as const, 'fetch-failing' as const, 'paused' as const),
      })
      .map((o) => ({ kind: 'outage' as const, ...o, partition: o.partition % TOPICS[o.topic] })),
  },
  {
    weight: 1,
    arbitrary: fc
      .record({ topic: fc.constantFrom<Topic>('a', 'b'), partition: fc.nat({ max: 2 }) })
      .map((o) => ({ kind: 'recover' as const, ...o, partition: o.partition % TOPICS[o.topic] })),
  },
)
const params = (tumblingOnly: boolean): fc.Arbitrary<ModelParams> =>
  fc
    .record({
      size: fc.constantFrom(1000, 2000, 5000),
      hops: tumblingOnly ? fc.constant(1) : fc.constantFrom(1, 2, 4),
      B: fc.constantFrom(0, 1, 500, 1500),
      L: fc.constantFrom(0, 1, 1000, 3000),
      idleTimeout: fc.constantFrom(1000, 2500),
      futureSkew: fc.constantFrom(2000, 10_000),
      emit: tumblingOnly ? fc.constant('onClose' as const) : fc.constantFrom('onClose' as const, 'onUpdate' as const),
    })
    .map(({ hops, ...p }) => ({ ...p, advance: p.size / hops }))

const sessionParams = params(false).map((p) => ({ ...p, size: p.size / 2, advance: p.size / 2, session: true }))
const slidingParams = params(false).map((p) => ({ ...p, advance: 1, sliding: true }))
// session firings that share an end come out in no particular order: compare them as multisets
const canonical = (rs: ModelResult[]) => rs.map((r) => JSON.stringify(r)).sort()

const Event = z.object({ k: z.string(), ts: z.number().optional(), id: z.string() })
const tableJoinParams = params(false).chain((p) =>
  fc.record({ left: fc.boolean() }).map((tableJoin) => ({ ...p, tableJoin })),
)
// interval joins of a (left) with b (right): the bounds on the boundaries of the generated times and beside them
const joinParams = params(false).chain((p) =>
  fc
    .record({
      before: fc.constantFrom(0, 1, 999, 1000, 2500),
      after: fc.constantFrom(0, 1, 1000, 2500),
      left: fc.boolean(),
    })
    .map((join) => ({ ...p, join })),
)

function build(p: ModelParams) {
  const app = topology('prop', {
    watermarks: { maxOutOfOrderness: p.B, idleTimeout: p.idleTimeout, maxFutureSkew: p.futureSkew },
  })
  const a = app.source(topic('a', { value: json(Event), timestamp: (e) => e.ts }))
  if (p.tableJoin) {
    // topic b as a table: its records keyed by k, a tombstone deleting the row
    const table = app.table(topic('b', { value: json(Event), timestamp: (e) => e.ts }))
    const keyed = a.keyBy((e) => e.k)
    const joiner = (v: { k: string; id: string }, row: { id: string } | undefined) => `${v.k}|${v.id}|${row?.id ?? '-'}`
    const options = { allowedLateness: p.L }
    ;(p.tableJoin.left ? keyed.leftJoin(table, joiner, options) : keyed.join(table, joiner, options)).to({
      name: 'out',
      write: async () => {},
    })
    return app.build()
  }
  const b = app.source(topic('b', { value: json(Event), timestamp: (e) => e.ts }))
  if (p.running) {
    a.merge(b)
      .keyBy((e) => e.k)
      .count()
      .toStream()
      .map((c) => `${c.key}:${c.value}`)
      .to({ name: 'out', write: async () => {} })
    return app.build()
  }
  const spec = p.session
    ? session(p.size)
    : p.sliding
      ? sliding(p.size)
      : p.advance === p.size
        ? tumbling(p.size)
        : hopping({ size: p.size, advance: p.advance })
  const sink = { name: 'out', write: async () => {} }
  if (p.join) {
    const { before, after, left } = p.join
    const joiner = (l: { k: string; id: string }, r: { id: string } | undefined) => `${l.k}|${l.id}|${r?.id ?? '-'}`
    const ka = a.keyBy((e) => e.k)
    const kb = b.keyBy((e) => e.k)
    const options = { within: { before, after }, allowedLateness: p.L }
    ;(left ? ka.leftJoin(kb, joiner, options) : ka.join(kb, joiner, options)).to(sink)
    return app.build()
  }
  a.merge(b)
    .keyBy((e) => e.k)
    .window(spec, { allowedLateness: p.L, emit: p.emit })
    .aggregate(count())
    .map(
      (r): ModelResult => ({
        key: r.key,
        start: r.window.start,
        end: r.window.end,
        count: r.value,
        lateFiring: r.lateFiring,
      }),
    )
    .to(sink)
  return app.build()
}

/** A record as produced; `id` is where it lands (`topic:partition:offset`), which the join results name. */
const encode = (r: ModelRecord, id: string): unknown =>
  r.kind === 'tombstone'
    ? null
    : r.kind === 'bad_json'
      ? '{"k":'
      : r.kind === 'bad_event'
        ? { k: 7 }
        : r.ts === null
          ? { k: r.key, id }
          : { k: r.key, ts: r.ts, id }

type Recovery = 'none' | 'snapshot' | 'replay'

async function runBoth(p: ModelParams, steps: Step[], preassign: boolean, recovery: Recovery, repartition?: number) {
  const driver = new EngineHarness(build(p), {
    startTime: T0,
    sinks: 'capture',
    ...(preassign ? { partitions: TOPICS } : {}),
    ...(repartition !== undefined && { repartition }),
  })
  const model = new ReferenceModel(p, T0)
  if (preassign) for (const [t, n] of Object.entries(TOPICS)) for (let i = 0; i < n; i++) model.assign(t, i)
  const produced = new Map<string, number>()
  for (const s of steps) {
    if (s.kind === 'batch') {
      model.batch(s.topic, s.partition, s.records, driver.now())
      const tp = `${s.topic}:${s.partition}`
      const first = produced.get(tp) ?? 0
      produced.set(tp, first + s.records.length)
      await driver.pipe(
        s.topic,
        s.records.map((r, i) => encode(r, `${tp}:${first + i}`)),
        // each record keyed by its key (a table's row key; the streams ignore it)
        {
          partition: s.partition,
          key: (_, i) => ('key' in (s.records[i] as ModelRecord) ? (s.records[i] as { key: string }).key : 'k0'),
        },
      )
    } else if (s.kind === 'advance') {
      model.advanceWallClock(s.ms)
      await driver.advanceWallClock(s.ms)
    } else if (s.kind === 'outage') {
      model.outage(s.topic, s.partition)
      driver.outage([{ topic: s.topic, partition: s.partition }])
    } else if (s.kind === 'recover') {
      model.recover(s.topic, s.partition)
      await driver.recover([{ topic: s.topic, partition: s.partition }])
    } else if (recovery === 'snapshot') {
      driver.restore(driver.snapshot())
      model.restart()
    } else if (recovery === 'replay') {
      await driver.crashAndReplay()
      model.restart()
    }
    // a replay re-delivers records, so the wall time of the last event (t) moves: W is compared in the end only
    if (recovery !== 'replay') expect(driver.status().watermark ?? Number.NEGATIVE_INFINITY).toBe(model.W)
    if (recovery === 'none' && repartition === undefined) {
      const committable = new Map(driver.engine.committable().map((c) => [`${c.topic}:${c.partition}`, c.offset]))
      if (!p.tableJoin) expect(committable).toEqual(model.committable())
      else {
        // the table's versions are kept in buckets by time, whose lowest offsets stay put while any key's version
        // at that time is kept: the engine may hold an offset back longer than the model, never commit past it
        const expected = model.committable()
        expect([...committable.keys()].sort()).toEqual([...expected.keys()].sort())
        for (const [tp, offset] of committable) expect(offset).toBeLessThanOrEqual(expected.get(tp) as number)
      }
    }
  }
  return { driver, model }
}

const lastWrite = (rs: ModelResult[]) => {
  const m = new Map<string, number>()
  for (const r of rs) m.set(`${r.key}@${r.start}`, r.count)
  return m
}

describe('engine vs reference model (docs/contract.md §2)', () => {
  it('tumbling, emit on close: same results, late firings, dead letters, watermarks and committable offsets', async () => {
    await fc.assert(
      fc.asyncProperty(params(true), fc.array(step, { maxLength: 40 }), fc.boolean(), async (p, steps, pre) => {
        const { driver, model } = await runBoth(p, steps, pre, 'none')
        expect(driver.output<ModelResult>('out')).toEqual(model.results)
        const dlq = driver.deadLetters().map((d) => ({
          reason: d.reason,
          topic: d.record.topic,
          partition: d.record.partition,
          offset: d.record.offset,
        }))
        expect(dlq).toEqual(model.deadLetters)
      }),
      { numRuns: 1000 },
    )
  }, 60_000)

  it('hopping windows and emit on update', async () => {
    await fc.assert(
      fc.asyncProperty(params(false), fc.array(step, { maxLength: 40 }), fc.boolean(), async (p, steps, pre) => {
        const { driver, model } = await runBoth(p, steps, pre, 'none')
        expect(driver.output<ModelResult>('out')).toEqual(model.results)
        expect(driver.deadLetters().map((d) => d.reason)).toEqual(model.deadLetters.map((d) => d.reason))
      }),
      { numRuns: 1000 },
    )
  }, 60_000)

  it('a crash restored from a snapshot changes nothing (all window kinds)', async () => {
    const anyWindows = fc.oneof(params(false), sessionParams, slidingParams)
    await fc.assert(
      fc.asyncProperty(anyWindows, fc.array(step, { maxLength: 40 }), fc.boolean(), async (p, steps, pre) => {
        const { driver, model } = await runBoth(p, steps, pre, 'snapshot')
        expect(canonical(driver.output<ModelResult>('out'))).toEqual(canonical(model.results))
        expect(driver.deadLetters().map((d) => d.reason)).toEqual(model.deadLetters.map((d) => d.reason))
      }),
      { numRuns: 1000 },
    )
  }, 60_000)

  it('session windows: merging, late firings, dead letters and committable offsets', async () => {
    await fc.assert(
      fc.asyncProperty(sessionParams, fc.array(step, { maxLength: 40 }), fc.boolean(), async (p, steps, pre) => {
        const { driver, model } = await runBoth(p, steps, pre, 'none')
        expect(canonical(driver.output<ModelResult>('out'))).toEqual(canonical(model.results))
        expect(driver.deadLetters().map((d) => d.reason)).toEqual(model.deadLetters.map((d) => d.reason))
      }),
      { numRuns: 1000 },
    )
  }, 60_000)

  // Sliding windows fire in the same order as the model (by end, then by key as the windows were created), so the
  // results are compared in order; the committable offsets (checked after every step) include stored records.
  it('sliding windows: one window per record time, late firings, dead letters and committable offsets', async () => {
    await fc.assert(
      fc.asyncProperty(slidingParams, fc.array(step, { maxLength: 40 }), fc.boolean(), async (p, steps, pre) => {
        const { driver, model } = await runBoth(p, steps, pre, 'none')
        expect(driver.output<ModelResult>('out')).toEqual(model.results)
        const dlq = driver.deadLetters().map((d) => ({
          reason: d.reason,
          topic: d.record.topic,
          partition: d.record.partition,
          offset: d.record.offset,
        }))
        expect(dlq).toEqual(model.deadLetters)
      }),
      { numRuns: 1000 },
    )
  }, 60_000)

  // Interval joins (inner and left, any bounds): the pairs and unmatched left records are compared as multisets
  // (a pair comes out when its second record arrives, whichever side that is); watermarks and the committable
  // offsets, which include the held records, after every step.
  it('interval joins: pairs, unmatched left records, late records, dead letters and committable offsets', async () => {
    await fc.assert(
      fc.asyncProperty(joinParams, fc.array(step, { maxLength: 40 }), fc.boolean(), async (p, steps, pre) => {
        const { driver, model } = await runBoth(p, steps, pre, 'none')
        expect(driver.output<string>('out').sort()).toEqual([...model.joined].sort())
        const dlq = driver.deadLetters().map((d) => ({
          reason: d.reason,
          topic: d.record.topic,
          partition: d.record.partition,
          offset: d.record.offset,
        }))
        expect(dlq).toEqual(model.deadLetters)
      }),
      { numRuns: 1000 },
    )
  }, 60_000)

  it('interval joins across snapshots and through a repartition topic of 1-4 partitions', async () => {
    await fc.assert(
      fc.asyncProperty(
        joinParams,
        fc.array(step, { maxLength: 40 }),
        fc.option(fc.integer({ min: 1, max: 4 })),
        async (p, steps, n) => {
          const { driver, model } = await runBoth(p, steps, true, 'snapshot', n ?? undefined)
          expect(driver.output<string>('out').sort()).toEqual([...model.joined].sort())
          expect(
            driver
              .deadLetters()
              .map((d) => d.reason)
              .sort(),
          ).toEqual(model.deadLetters.map((d) => d.reason).sort())
        },
      ),
      { numRuns: 1000 },
    )
  }, 120_000)

  // Running counts (no window): a result per event, in the model's order; per key in that order through a
  // repartition topic; the same after a snapshot
  it('running counts over all time: a result per event, dead letters, committable offsets; repartitioned and restored', async () => {
    const runningParams = params(false).map((p) => ({ ...p, running: true }))
    const byKey = (rs: string[]) => {
      const m = new Map<string, string[]>()
      for (const r of rs) {
        const k = r.split(':')[0] as string
        m.set(k, [...(m.get(k) ?? []), r])
      }
      return m
    }
    await fc.assert(
      fc.asyncProperty(
        runningParams,
        fc.array(step, { maxLength: 40 }),
        fc.option(fc.integer({ min: 1, max: 4 })),
        fc.constantFrom<Recovery>('none', 'snapshot'),
        async (p, steps, n, recovery) => {
          const { driver, model } = await runBoth(p, steps, n !== null || recovery !== 'none', recovery, n ?? undefined)
          const out = driver.output<string>('out')
          if (n === null) expect(out).toEqual(model.joined)
          else expect(byKey(out)).toEqual(byKey(model.joined))
          expect(
            driver
              .deadLetters()
              .map((d) => d.reason)
              .sort(),
          ).toEqual(model.deadLetters.map((d) => d.reason).sort())
        },
      ),
      { numRuns: 1000 },
    )
  }, 120_000)

  // Stream-table joins (inner and left; tombstones delete rows): each record with its row as of its time
  it('stream-table joins: each record with its row as of its event time, late records and changes, dead letters', async () => {
    await fc.assert(
      fc.asyncProperty(tableJoinParams, fc.array(step, { maxLength: 40 }), fc.boolean(), async (p, steps, pre) => {
        const { driver, model } = await runBoth(p, steps, pre, 'none')
        expect(driver.output<string>('out').sort()).toEqual([...model.joined].sort())
        const dlq = driver.deadLetters().map((d) => ({
          reason: d.reason,
          topic: d.record.topic,
          partition: d.record.partition,
          offset: d.record.offset,
        }))
        expect(dlq).toEqual(model.deadLetters)
      }),
      { numRuns: 1000 },
    )
  }, 60_000)

  it('stream-table joins across snapshots and through a repartition topic of 1-4 partitions', async () => {
    await fc.assert(
      fc.asyncProperty(
        tableJoinParams,
        fc.array(step, { maxLength: 40 }),
        fc.option(fc.integer({ min: 1, max: 4 })),
        async (p, steps, n) => {
          const { driver, model } = await runBoth(p, steps, true, 'snapshot', n ?? undefined)
          expect(driver.output<string>('out').sort()).toEqual([...model.joined].sort())
          expect(
            driver
              .deadLetters()
              .map((d) => d.reason)
              .sort(),
          ).toEqual(model.deadLetters.map((d) => d.reason).sort())
        },
      ),
      { numRuns: 1000 },
    )
  }, 120_000)

  // The staged engine (input not partitioned by the key): records go through an in-memory repartition topic of
  // 1-4 partitions with watermark markers, one task per partition. Fed in lockstep (markers after every batch),
  // each task must see exactly what a single engine sees: same results per key and window, same dead letters
  // with their original topic/partition/offset, same watermark after every step (the least over the tasks).
  it('repartitioned through an internal topic: same results, dead letters and watermarks (all window kinds)', async () => {
    const anyWindows = fc.oneof(params(true), params(false), sessionParams, slidingParams)
    const recoveries = fc.constantFrom<Recovery>('none', 'snapshot')
    await fc.assert(
      fc.asyncProperty(
        anyWindows,
        fc.array(step, { maxLength: 40 }),
        fc.integer({ min: 1, max: 4 }),
        recoveries,
        async (p, steps, n, recovery) => {
          const { driver, model } = await runBoth(p, steps, true, recovery, n)
          const out = driver.output<ModelResult>('out')
          expect(canonical(out)).toEqual(canonical(model.results))
          expect(lastWrite(out)).toEqual(lastWrite(model.results))
          const dlq = (ds: { reason: string; topic: string; partition: number; offset: number }[]) =>
            ds.map((d) => `${d.reason}@${d.topic}-${d.partition}:${d.offset}`).sort()
          expect(dlq(driver.deadLetters().map((d) => ({ reason: d.reason, ...d.record })))).toEqual(
            dlq(model.deadLetters),
          )
        },
      ),
      {
        numRuns: 1000,
        examples: [
          // found by CI: after a restore, an origin partition's markers reported no wall time of its last event,
          // so the all-idle advance ran from an older one and judged a timely event late
          [
            { size: 1000, B: 0, L: 0, idleTimeout: 1000, futureSkew: 10000, emit: 'onClose', advance: 1000 },
            [
              { kind: 'batch', topic: 'b', partition: 0, records: [{ kind: 'event', key: 'k0', ts: T0 + 7999 }] },
              { kind: 'advance', ms: 526 },
              { kind: 'batch', topic: 'b', partition: 0, records: [{ kind: 'event', key: 'k1', ts: T0 + 5000 }] },
              { kind: 'checkpoint' },
              { kind: 'advance', ms: 1475 },
              { kind: 'batch', topic: 'a', partition: 0, records: [{ kind: 'event', key: 'k0', ts: T0 + 9000 }] },
            ],
            2,
            'snapshot',
          ],
        ],
      },
    )
  }, 120_000)

  // The future-timestamp guard depends on the wall clock of delivery, so a replayed record may pass it the second
  // time: this property keeps every event within the skew.
  it('a crash replayed from the committable offsets ends with the same result per key and window', async () => {
    const noFuture = fc.oneof(params(false), slidingParams).map((p) => ({ ...p, futureSkew: 1e9 }))
    await fc.assert(
      fc.asyncProperty(noFuture, fc.array(step, { maxLength: 40 }), fc.boolean(), async (p, steps, pre) => {
        const { driver, model } = await runBoth(p, [...steps, { kind: 'advance', ms: 60_000 }], pre, 'replay')
        expect(lastWrite(driver.output<ModelResult>('out'))).toEqual(lastWrite(model.results))
      }),
      { numRuns: 1000 },
    )
  }, 60_000)
})
