import { describe, expect, it } from 'vitest'
import { z } from 'zod'
import type { RawRecord } from '../connectors/types.js'
import { json, topic, topology, tumbling } from '../index.js'
import { collectingSink } from '../testing/collecting-sink.js'
import { MemorySource } from '../testing/memory-source.js'
import { createEngine, EngineCore } from './engine.js'

const Ev = z.object({ k: z.string(), ts: z.union([z.number(), z.string()]) })
const rec = (partition: number, offset: number, k: string, ts: number | string): RawRecord => ({
  topic: 'in',
  partition,
  offset,
  key: null,
  value: Buffer.from(JSON.stringify({ k, ts })),
  timestamp: 0,
})

function app() {
  const a = topology('t', { watermarks: { maxOutOfOrderness: 0, idleTimeout: '10s' } })
  const out = collectingSink<string>('out')
  a.source(topic('in', { value: json(Ev), timestamp: (e) => e.ts }))
    .filter((e) => e.k !== 'skip')
    .flatMap((e) => [e, { ...e, k: `${e.k}-copy` }])
    .keyBy((e) => e.k)
    .window(tumbling(10))
    .count()
    .map((r) => `${r.key}@${r.window.start}=${r.value}`)
    .to(out)
  return { topology: a.build(), out }
}

describe('engine: tasks, assignment, operators', () => {
  it('filter, flatMap and ISO-8601 event times flow through the engine', async () => {
    const { topology: t, out } = app()
    const engine = createEngine(t, { clock: { now: () => 1_000_000 } })
    await engine.process({
      topic: 'in',
      partition: 0,
      records: [rec(0, 0, 'a', '1970-01-01T00:00:00.001Z'), rec(0, 1, 'skip', 2), rec(0, 2, 'a', 30)],
    })
    expect(out.records).toEqual(['a@0=1', 'a-copy@0=1'])
  })

  it("tasks: 'partition' keeps state per partition number and snapshots it per task; revoke drops a task", async () => {
    const { topology: t } = app()
    const engine = new EngineCore(t, { tasks: 'partition', clock: { now: () => 0 } })
    await engine.assign([
      { topic: 'in', partition: 0 },
      { topic: 'in', partition: 1 },
    ])
    await engine.process({ topic: 'in', partition: 0, records: [rec(0, 0, 'a', 1)] })
    await engine.process({ topic: 'in', partition: 1, records: [rec(1, 0, 'b', 2)] })
    const snap = engine.snapshot()
    expect(snap.tasks.map((x) => [x.id, x.partitions.map((p) => p.partition), x.windows[0]?.entries])).toEqual([
      [
        '0',
        [0],
        [
          ['a', 1],
          ['a-copy', 1],
        ],
      ],
      [
        '1',
        [1],
        [
          ['b', 1],
          ['b-copy', 1],
        ],
      ],
    ])
    await engine.revoke([{ topic: 'in', partition: 1 }])
    expect(engine.snapshot().tasks.map((x) => x.id)).toEqual(['0'])
    expect(engine.committable()).toEqual([{ topic: 'in', partition: 0, offset: 0 }])
    // the task comes back on another engine from its snapshot
    const other = new EngineCore(t, { tasks: 'partition', clock: { now: () => 0 } })
    other.restore({ ...snap, tasks: snap.tasks.filter((x) => x.id === '1') })
    expect(other.snapshot().tasks[0]?.windows[0]?.entries).toEqual([
      ['b', 1],
      ['b-copy', 1],
    ])
    expect(other.committable()).toEqual([{ topic: 'in', partition: 1, offset: 0 }])
  })

  it('a restore refuses a snapshot of another topology or with state of an unknown window', () => {
    const { topology: t } = app()
    const engine = new EngineCore(t, {})
    const snap = engine.snapshot()
    expect(() => engine.restore({ ...snap, topology: 'other' })).toThrow(
      'snapshot of topology "other" cannot restore "t"',
    )
    const bad = {
      ...snap,
      tasks: [
        {
          id: '0',
          partitions: [],
          windows: [{ operator: 'nope', start: 0, end: 1, fired: false, minOffsets: [], entries: [] }],
        },
      ],
    }
    expect(() => engine.restore(bad)).toThrow('snapshot holds state of window "nope" which the topology lacks')
  })
})

describe('MemorySource', () => {
  it('assigns every partition, delivers pushed records as batches in order, records commits', async () => {
    const src = new MemorySource({ in: 2 })
    const seen: string[] = []
    await src.start({
      onAssigned: async (ps) => void seen.push(`assigned ${ps.map((p) => `${p.topic}-${p.partition}`).join(',')}`),
      onRevoked: async (ps) => void seen.push(`revoked ${ps.length}`),
      onBatches: async (bs) => {
        for (const b of bs) seen.push(`${b.partition}:${b.records.map((r) => r.offset).join(',')}`)
      },
    })
    await src.push('in', 1, [{ value: Buffer.from('x') }, { value: Buffer.from('y') }])
    src.pause([{ topic: 'in', partition: 0 }])
    await src.push('in', 0, [{ value: Buffer.from('z') }])
    src.resume([{ topic: 'in', partition: 0 }])
    await src.push('in', 0, [{ value: Buffer.from('w') }])
    await src.commit([{ topic: 'in', partition: 0, offset: 2 }])
    await src.stop()
    expect(seen).toEqual(['assigned in-0,in-1', '1:0,1', '0:0', '0:1', 'revoked 2'])
    expect(src.committed.get('in:0')).toBe(2)
    expect(() => src.push('in', 5, [])).toThrow('memory source has no partition in-5')
  })
})
