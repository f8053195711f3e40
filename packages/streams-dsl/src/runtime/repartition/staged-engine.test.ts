import { describe, expect, it } from 'vitest'
import { z } from 'zod'
import type { DeadLetter, RawRecord, Sink, TopicPartition } from '../../connectors/types.js'
import { json, topic, topology, tumbling } from '../../index.js'
import { collectingSink } from '../../testing/collecting-sink.js'
import { ManualClock } from '../../testing/manual-clock.js'
import { MemoryRepartitionTopic } from '../../testing/memory-repartition-topic.js'
import { partitionForKey, readBundle, repartitionTopic } from './codec.js'
import { StagedEngine } from './staged-engine.js'

// Scenarios of the staged engine the property test (engine.property.test.ts) does not reach: duplicates sent by a
// second upstream, dead letters of repartitioned records, flatMap before keyBy, status, markers from another
// instance, and per-task snapshots. The repartition topic is an in-memory log fed back by hand.

const T0 = Date.parse('2025-01-01T12:00:00Z')
const N = 2
const Ev = z.object({ k: z.string(), ts: z.number() })
const Multi = z.object({ ks: z.array(z.string()), ts: z.number() })
type Row = { k: string; start: number; n: number }

// x and x2 share a repartition partition, y is in the other one
const KEYS = Array.from({ length: 20 }, (_, i) => `k${i}`)
const x = KEYS[0] as string
const px = partitionForKey(x, N)
const x2 = KEYS.find((k) => k !== x && partitionForKey(k, N) === px) as string
const y = KEYS.find((k) => partitionForKey(k, N) !== px) as string
const py = partitionForKey(y, N)

/** Source `a`, count per key in 10 s tumbling windows; B = 0, L = 0, idle after 10 s. */
function app(multi = false) {
  const a = topology('staged', { watermarks: { maxOutOfOrderness: 0, idleTimeout: '10s', maxFutureSkew: '5m' } })
  const out = collectingSink<Row>('out')
  const events = multi
    ? a.source(topic('a', { value: json(Multi), timestamp: (e) => e.ts })).flatMap((e) => e.ks.map((k) => ({ k })))
    : a.source(topic('a', { value: json(Ev), timestamp: (e) => e.ts }))
  events
    .keyBy((e) => e.k)
    .window(tumbling('10s'))
    .count()
    .map((r) => ({ k: r.key, start: r.window.start - T0, n: r.value }))
    .to(out)
  const t = a.build()
  const keyBy = t.nodes.find((n) => n.kind === 'keyBy')?.name as string
  return { topology: t, out, internal: repartitionTopic(t.name, keyBy), keyBy }
}

/** The in-memory repartition topic of the test's one keyBy: bundles per partition, as Kafka would hold them. */
function repartitionLog(internal: string) {
  const topic = new MemoryRepartitionTopic()
  /** A partition's bundles (its Kafka records). */
  const of = (p: number): RawRecord[] => topic.log(internal, p)
  /** The original records routed to a partition (no markers). */
  const data = (p: number) => topic.records(internal, p)
  /** Index of the first bundle of a partition that holds routed records. */
  const firstData = (p: number) => of(p).findIndex((b) => readBundle(b).some((e) => 'record' in e))
  return { sink: topic, of, data, firstData }
}
type Log = ReturnType<typeof repartitionLog>

/** A consumer of the repartition topic: hands `engine` each partition's records it has not handed it yet. */
function reader(engine: StagedEngine, log: Log, internal: string) {
  const at = new Map<number, number>()
  return {
    at,
    async deliver(partition?: number, upTo?: number): Promise<void> {
      for (const p of partition === undefined ? [0, 1] : [partition]) {
        const from = at.get(p) ?? 0
        const records = log.of(p).slice(from, upTo)
        at.set(p, from + records.length)
        if (records.length > 0) await engine.process({ topic: internal, partition: p, records })
      }
    },
  }
}

function staged(
  topology: ReturnType<typeof app>['topology'],
  keyBy: string,
  internal: string,
  log: Log,
  extra: { clock?: ManualClock; origins?: TopicPartition[]; deadLetters?: Sink<DeadLetter> } = {},
) {
  return new StagedEngine(topology, {
    clock: extra.clock ?? new ManualClock(T0),
    topics: [{ keyBy, topic: internal, partitions: N }],
    sink: log.sink,
    origins: extra.origins ?? [{ topic: 'a', partition: 0 }],
    ...(extra.deadLetters && { deadLetters: extra.deadLetters }),
  })
}

const rec = (
  partition: number,
  offset: number,
  value: unknown,
  more: { key?: string; headers?: Record<string, string> } = {},
): RawRecord => ({
  topic: 'a',
  partition,
  offset,
  key: more.key === undefined ? null : Buffer.from(more.key),
  value: Buffer.from(JSON.stringify(value)),
  timestamp: T0,
  ...(more.headers && { headers: more.headers }),
})
const ev = (k: string, dt: number) => ({ k, ts: T0 + dt })
const sorted = (rows: Row[]) => [...rows].sort((a, b) => a.k.localeCompare(b.k) || a.start - b.start)

describe('staged engine', () => {
  it('counts each event once when a restarted upstream sends the same origin offsets again', async () => {
    const { topology, out, internal, keyBy } = app()
    const log = repartitionLog(internal)
    const up1 = staged(topology, keyBy, internal, log)
    // the downstream tasks run on another instance, which does not crash
    const down = staged(topology, keyBy, internal, log)
    const consumer = reader(down, log, internal)

    await up1.process({ topic: 'a', partition: 0, records: [rec(0, 0, ev(x, 1000))] })
    const committed = JSON.parse(JSON.stringify(up1.snapshot()))
    await up1.process({ topic: 'a', partition: 0, records: [rec(0, 1, ev(y, 2000)), rec(0, 2, ev(x, 3000))] })
    await up1.sendMarkers('always')
    await consumer.deliver()

    // crash after sending offsets 1-2, before committing them: the restarted upstream reads from offset 1 again
    const up2 = staged(topology, keyBy, internal, log)
    up2.restore(committed)
    await up2.process({
      topic: 'a',
      partition: 0,
      records: [rec(0, 1, ev(y, 2000)), rec(0, 2, ev(x, 3000)), rec(0, 3, ev(x, 4000))],
    })
    await up2.process({ topic: 'a', partition: 0, records: [rec(0, 4, ev(x2, 25_000))] })
    await up2.sendMarkers('always')
    await consumer.deliver()

    // the log really holds offsets 1 and 2 twice
    const sent = [...log.data(0), ...log.data(1)].map((r) => r.offset).sort()
    expect(sent).toEqual([0, 1, 1, 2, 2, 3, 4])
    expect(sorted(out.records)).toEqual([
      { k: x, start: 0, n: 3 },
      { k: y, start: 0, n: 1 },
    ])
    const tasks = [...down.downstream.values()]
    expect(tasks.reduce((n, t) => n + t.counters.eventsIn, 0)).toBe(5)
    expect(down.status().counters.late).toBe(0)
  })

  it("a late event's dead letter is the original record: topic, partition, offset, key, value and headers", async () => {
    const { topology, internal, keyBy } = app()
    const log = repartitionLog(internal)
    const dead = collectingSink<DeadLetter>('dead')
    const e = staged(topology, keyBy, internal, log, { origins: [{ topic: 'a', partition: 1 }], deadLetters: dead })
    const consumer = reader(e, log, internal)
    const late = rec(1, 101, ev(x, 1000), { key: 'kafka-key', headers: { trace: 't-1' } })
    await e.process({ topic: 'a', partition: 1, records: [rec(1, 100, ev(x, 20_000)), late] })
    await e.sendMarkers()
    await consumer.deliver()

    expect(dead.records.map((d) => d.reason)).toEqual(['late_event'])
    expect(dead.records[0]?.record).toEqual({
      topic: 'a',
      partition: 1,
      offset: 101,
      key: Buffer.from('kafka-key'),
      value: late.value,
      timestamp: T0,
      headers: { trace: 't-1' },
    })
  })

  it('flatMap before keyBy: each task counts only its keys; two keys of one partition are routed once', async () => {
    const { topology, out, internal, keyBy } = app(true)
    const log = repartitionLog(internal)
    const e = staged(topology, keyBy, internal, log)
    const consumer = reader(e, log, internal)
    await e.process({
      topic: 'a',
      partition: 0,
      records: [rec(0, 0, { ks: [x, y], ts: T0 + 1000 }), rec(0, 1, { ks: [x, x2], ts: T0 + 2000 })],
    })
    await consumer.deliver()
    // each key's open window lives in the task of its partition only
    const keysOf = (p: number) =>
      e
        .downstreamOf({ topic: internal, partition: p })
        .snapshot()
        .tasks.flatMap((t) => t.windows.flatMap((w) => w.entries.map(([k]) => k)))
    expect(keysOf(px).sort()).toEqual([x, x2].sort())
    expect(keysOf(py)).toEqual([y])

    await e.process({ topic: 'a', partition: 0, records: [rec(0, 2, { ks: [y], ts: T0 + 20_000 })] })
    await e.sendMarkers('always')
    await consumer.deliver()
    const offsets = (p: number) => log.data(p).map((r) => r.offset)
    expect(offsets(px)).toEqual([0, 1]) // offset 1 (x and x2) once
    expect(offsets(py)).toEqual([0, 2])
    expect(sorted(out.records)).toEqual(
      sorted([
        { k: x, start: 0, n: 2 },
        { k: x2, start: 0, n: 1 },
        { k: y, start: 0, n: 1 },
      ]),
    )
  })

  it('status names the source partition that holds the oldest window, and lists source partitions', async () => {
    const { topology, internal, keyBy } = app()
    const log = repartitionLog(internal)
    const origins = [
      { topic: 'a', partition: 0 },
      { topic: 'a', partition: 1 },
    ]
    const e = staged(topology, keyBy, internal, log, { origins })
    const consumer = reader(e, log, internal)
    await e.assign(origins)
    await e.process({ topic: 'a', partition: 1, records: [rec(1, 0, ev(x, 1000))] })
    await e.process({ topic: 'a', partition: 0, records: [rec(0, 0, ev(y, 30_000))] })
    await e.sendMarkers()
    await consumer.deliver()
    await e.tick()

    const s = e.status()
    expect(s.watermark).toBe(T0 + 999)
    expect(s.partitions.map((p) => `${p.topic}-${p.partition}`).sort()).toEqual(['a-0', 'a-1'])
    expect(s.windows.oldest?.waitingFor).toEqual([{ topic: 'a', partition: 1, watermark: T0 + 999 }])
    expect(s.windows.oldest?.reason).toContain('partition a-1 holds it')
    expect(s.windows.oldest?.reason).not.toContain(internal)
  })

  it('status watermark is null while any task is at -infinity, whatever the order of the tasks', async () => {
    const { topology, internal, keyBy } = app()
    const log = repartitionLog(internal)
    const e = staged(topology, keyBy, internal, log)
    await e.assign([
      { topic: internal, partition: py },
      { topic: internal, partition: px },
    ])
    await e.process({ topic: 'a', partition: 0, records: [rec(0, 0, ev(x, 15_000))] })
    await reader(e, log, internal).deliver(px)
    expect(e.status().watermark).toBeNull()
  })

  it('a marker of a partition gone idle on another instance fires the window; no marker, no firing', async () => {
    const { topology, out, internal, keyBy } = app()
    const log = repartitionLog(internal)
    const clock = new ManualClock(T0)
    const origins = [
      { topic: 'a', partition: 0 },
      { topic: 'a', partition: 1 },
    ]
    // instance 1 reads a-0 and runs the tasks; instance 2 owns a-1, which never delivers a record
    const one = staged(topology, keyBy, internal, log, { clock, origins })
    const two = staged(topology, keyBy, internal, log, { clock, origins })
    const consumer = reader(one, log, internal)
    await one.assign([origins[0] as TopicPartition])
    await one.process({ topic: 'a', partition: 0, records: [rec(0, 0, ev(x, 1000)), rec(0, 1, ev(y, 30_000))] })
    await one.sendMarkers('always')
    await consumer.deliver()
    // a-1 holds every task at -infinity, however long the tasks wait: idleness is decided upstream
    clock.advance(60_000)
    await one.process({ topic: 'a', partition: 0, records: [rec(0, 2, ev(y, 31_000))] })
    await one.sendMarkers()
    await consumer.deliver()
    await one.tick()
    expect(out.records).toEqual([])
    expect(one.status().watermark).toBeNull()

    await two.assign([origins[1] as TopicPartition])
    await two.sendMarkers('always')
    await consumer.deliver()
    expect(out.records).toEqual([])
    clock.advance(10_000)
    await two.tick() // a-1 idle now: the marker says so
    await consumer.deliver()
    expect(out.records).toEqual([{ k: x, start: 0, n: 1 }])
    expect(one.status().watermark).toBe(T0 + 30_999)
  })

  it("a task's all-idle advance runs on the markers' clock: it stops when the upstream's markers stop", async () => {
    const { topology, out, internal, keyBy } = app()
    const log = repartitionLog(internal)
    const clock = new ManualClock(T0)
    const engine = staged(topology, keyBy, internal, log, { clock })
    const consumer = reader(engine, log, internal)
    const tasks = async () => {
      for (const t of engine.downstream.values()) await t.tick()
    }
    await engine.assign([{ topic: 'a', partition: 0 }])
    await engine.process({ topic: 'a', partition: 0, records: [rec(0, 0, ev(x, 1000))] })
    await engine.sendMarkers('always')
    await consumer.deliver()
    // traffic stops: a-0 goes idle upstream, the heartbeat markers carry the upstream's clock
    clock.advance(11_000)
    await engine.tick()
    await consumer.deliver()
    await tasks()
    expect(sorted(out.records)).toEqual([{ k: x, start: 0, n: 1 }])
    const W = engine.status().watermark
    expect(W).toBe(T0 + 1000 + 11_000 - 1)
    // the upstream side is cut off (frozen, or its partitions unreadable): no markers for 30 s; the tasks' own
    // clocks move, their watermark does not
    clock.advance(30_000)
    await tasks()
    expect(engine.status().watermark).toBe(W)
    // what was produced meanwhile arrives afterwards: not late (W did not run past it)
    await engine.process({ topic: 'a', partition: 0, records: [rec(0, 1, ev(x2, 15_000))] })
    await engine.sendMarkers()
    await consumer.deliver()
    expect(engine.status().counters.late).toBe(0)
    clock.advance(11_000)
    await engine.tick()
    await consumer.deliver()
    await tasks()
    expect(sorted(out.records)).toEqual([
      { k: x, start: 0, n: 1 },
      { k: x2, start: 10_000, n: 1 },
    ])
  })

  it("snapshot -> restore keeps each task's own watermark and its dedup positions", async () => {
    const { topology, out, internal, keyBy } = app()
    const log = repartitionLog(internal)
    const dead = collectingSink<DeadLetter>('dead')
    const e = staged(topology, keyBy, internal, log, { deadLetters: dead })
    const consumer = reader(e, log, internal)
    const batch = [rec(0, 0, ev(x, 1000)), rec(0, 1, ev(y, 2000)), rec(0, 2, ev(x, 15_000))]
    await e.process({ topic: 'a', partition: 0, records: batch })
    await e.sendMarkers('always')
    // x's task reads everything; y's task stops after y's record, before the markers
    await consumer.deliver(px)
    const yAt = log.firstData(py) + 1
    await consumer.deliver(py, yAt)
    expect(out.records).toEqual([{ k: x, start: 0, n: 1 }])

    const snap = JSON.parse(JSON.stringify(e.snapshot()))
    const task = (p: number) => snap.tasks.find((t: { id: string }) => t.id === `${internal}-${p}`)
    expect(task(px).clock.watermark).toBe(T0 + 14_999)
    expect(task(py).clock.watermark).toBe(T0 + 1999)

    const r = staged(topology, keyBy, internal, log, { deadLetters: dead })
    r.restore(snap)
    const restored = (p: number) => r.downstreamOf({ topic: internal, partition: p })
    expect(restored(px).status().watermark).toBe(T0 + 14_999)
    expect(restored(py).status().watermark).toBe(T0 + 1999)
    expect(r.status().watermark).toBe(T0 + 1999)

    // an upstream that lost its position sends offsets 0-2 again, then offset 3
    const again = staged(topology, keyBy, internal, log)
    await again.process({ topic: 'a', partition: 0, records: [...batch, rec(0, 3, ev(y, 25_000))] })
    await again.sendMarkers('always')
    const next = reader(r, log, internal)
    for (const p of [px, py]) next.at.set(p, restored(p).inputs[0]?.nextOffset ?? 0)
    await next.deliver()

    // x at 1 000 again would be a late event in x's task, y at 2 000 a second count in y's task
    expect(dead.records).toEqual([])
    expect(sorted(out.records)).toEqual([
      { k: x, start: 0, n: 1 },
      { k: x, start: 10_000, n: 1 },
      { k: y, start: 0, n: 1 },
    ])
  })

  it("a source record with its own header named 'marker' is data, not a marker", async () => {
    const { topology, out, internal, keyBy } = app()
    const log = repartitionLog(internal)
    const e = staged(topology, keyBy, internal, log)
    const consumer = reader(e, log, internal)
    const tagged = rec(0, 0, ev(x, 1000), { headers: { marker: 'blue' } })
    await e.process({ topic: 'a', partition: 0, records: [tagged, rec(0, 1, ev(y, 20_000))] })
    await e.sendMarkers('always')
    await consumer.deliver()
    expect(out.records).toEqual([{ k: x, start: 0, n: 1 }])
  })
})
