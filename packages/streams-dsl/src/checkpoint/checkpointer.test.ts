import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { z } from 'zod'
import type { InputBatch, RawRecord, TopicPartition } from '../connectors/types.js'
import { json, topic, topology, tumbling } from '../index.js'
import { createEngine } from '../runtime/engine.js'
import type { Engine } from '../runtime/types.js'
import { collectingSink } from '../testing/collecting-sink.js'
import type { InvalidCheckpoint, TaskCheckpoint } from './checkpoint.js'
import { encodeCheckpoint } from './checkpoint-codec.js'
import { Checkpointer, CheckpointSkipped } from './checkpointer.js'
import { MemoryCheckpointStore } from './memory-checkpoint-store.js'

const T0 = Date.parse('2025-01-01T12:00:00Z')
const Ev = z.object({ k: z.string(), ts: z.number() })
type Out = { k: string; start: number; n: number }
const PARTS: TopicPartition[] = [0, 1].flatMap((partition) => ['a', 'b'].map((t) => ({ topic: t, partition })))

/** Two co-partitioned sources, count per key in 10 s windows (B = 3 s, L = 5 s); Redis-like upsert view. */
function app() {
  const t = topology('cp', { watermarks: { maxOutOfOrderness: '3s', idleTimeout: '1h', maxFutureSkew: '5m' } })
  const out = collectingSink<Out>('out')
  const a = t.source(topic('a', { value: json(Ev), timestamp: (e) => e.ts }))
  const b = t.source(topic('b', { value: json(Ev), timestamp: (e) => e.ts }))
  a.merge(b)
    .keyBy((e) => e.k)
    .window(tumbling('10s'), { allowedLateness: '5s' })
    .count()
    .map((r) => ({ k: r.key as string, start: r.window.start - T0, n: r.value }))
    .to(out)
  return { topology: t.build(), out }
}

/** What Redis would hold: the last result written per key and window. */
const upserts = (outs: Out[][]) => {
  const m = new Map<string, number>()
  for (const list of outs) for (const r of list) m.set(`${r.k}@${r.start}`, r.n)
  return Object.fromEntries([...m].sort())
}

type Ev = { k: string; dt: number }
const batchesOf = (steps: { tp: number; evs: Ev[] }[]): InputBatch[] => {
  const next = new Map<string, number>()
  return steps.map(({ tp, evs }) => {
    const { topic: t, partition } = PARTS[tp % PARTS.length] as TopicPartition
    const id = `${t}:${partition}`
    const records: RawRecord[] = evs.map((e) => {
      const offset = next.get(id) ?? 0
      next.set(id, offset + 1)
      // keys are co-partitioned: a key lives on one partition number in both topics
      const value = Buffer.from(JSON.stringify({ k: `${e.k}${partition}`, ts: T0 + e.dt }))
      return { topic: t, partition, offset, key: null, value, timestamp: T0 }
    })
    return { topic: t, partition, records }
  })
}

const engineOf = (topology: ReturnType<typeof app>['topology']) =>
  createEngine(topology, { tasks: 'partition', clock: { now: () => T0 } })

async function feed(engine: Engine, batches: InputBatch[]) {
  for (const b of batches) await engine.process(b)
}

const step = fc.record({
  tp: fc.nat({ max: 3 }),
  evs: fc.array(fc.record({ k: fc.constantFrom('x', 'y', 'z'), dt: fc.integer({ min: 0, max: 60_000 }) }), {
    minLength: 1,
    maxLength: 6,
  }),
})

describe('Checkpointer', () => {
  it('a crash and restore from the last checkpoint gives what an uninterrupted run gives (late data included)', async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(step, { minLength: 2, maxLength: 40 }), fc.nat(), fc.nat(), async (steps, c, k) => {
        const batches = batchesOf(steps)
        const reference = app()
        const ref = engineOf(reference.topology)
        await ref.assign(PARTS)
        await feed(ref, batches)

        const cut = c % (batches.length + 1) // checkpoint after `cut` batches
        const crash = cut + (k % (batches.length - cut + 1)) // crash after `crash` batches
        const store = new MemoryCheckpointStore()
        const first = app()
        const e1 = engineOf(first.topology)
        await e1.assign(PARTS)
        await feed(e1, batches.slice(0, cut))
        await new Checkpointer(e1, store).checkpoint()
        await feed(e1, batches.slice(cut, crash)) // lost: not checkpointed

        const second = app()
        const e2 = engineOf(second.topology)
        await new Checkpointer(e2, store).restore(PARTS)
        await e2.assign(PARTS)
        // the consumer restarts from the committed offsets (= the checkpoint's), or from earlier ones after a
        // crash between checkpoint and commit: the engine skips what the checkpoint holds
        await feed(e2, k % 2 === 0 ? batches.slice(cut) : batches)
        expect(upserts([first.out.records, second.out.records])).toEqual(upserts([reference.out.records]))
      }),
      { numRuns: 200 },
    )
  })

  it('moves a task to another instance with its state (per-partition ordered data)', async () => {
    const ordered = fc.array(step, { minLength: 2, maxLength: 40 }).map((steps) => {
      const t = [0, 0, 0, 0]
      const data = steps.map((s) => ({
        tp: s.tp,
        evs: s.evs.map((e) => {
          t[s.tp] = (t[s.tp] as number) + (e.dt % 4000)
          return { k: e.k, dt: t[s.tp] as number }
        }),
      }))
      // end markers on every partition: W passes every window of the data on every instance
      return [...data, ...[0, 1, 2, 3].map((tp) => ({ tp, evs: [{ k: 'end', dt: 200_000 }] }))]
    })
    await fc.assert(
      fc.asyncProperty(ordered, fc.nat(), async (steps, c) => {
        const batches = batchesOf(steps)
        const reference = app()
        const ref = engineOf(reference.topology)
        await ref.assign(PARTS)
        await feed(ref, batches)

        const store = new MemoryCheckpointStore()
        const one = app()
        const two = app()
        const e1 = engineOf(one.topology)
        const e2 = engineOf(two.topology)
        const cp1 = new Checkpointer(e1, store)
        const cp2 = new Checkpointer(e2, store)
        await e1.assign(PARTS)
        const cut = c % (batches.length + 1)
        await feed(e1, batches.slice(0, cut))
        // rebalance: task 1 (partitions a-1, b-1) moves to instance two; checkpoint on revoke, restore on assign
        const moved = PARTS.filter((tp) => tp.partition === 1)
        await cp1.checkpoint()
        await e1.revoke(moved)
        await cp2.restore(moved)
        await e2.assign(moved)
        for (const b of batches.slice(cut)) await (b.partition === 1 ? e2 : e1).process(b)
        expect(upserts([one.out.records, two.out.records])).toEqual(upserts([reference.out.records]))
      }),
      { numRuns: 200 },
    )
  })

  it('keeps a record that was too late before the crash too late after it (no partial window after restore)', async () => {
    const { topology, out } = app()
    const e1 = engineOf(topology)
    const store = new MemoryCheckpointStore()
    await e1.assign([{ topic: 'a', partition: 0 }])
    const [b] = batchesOf([
      {
        tp: 0,
        evs: [
          { k: 'x', dt: 1_000 },
          { k: 'x', dt: 2_000 },
          { k: 'x', dt: 30_000 }, // W = 26 999: [0, 10 s) fired and purged
          { k: 'x', dt: 3_000 }, // too late
          { k: 'x', dt: 31_000 },
        ],
      },
    ]) as [InputBatch]
    await e1.process({ ...b, records: b.records.slice(0, 3) })
    const { offsets } = await new Checkpointer(e1, store).checkpoint()
    expect(offsets).toEqual([{ topic: 'a', partition: 0, offset: 3 }])
    expect(out.records).toEqual([{ k: 'x0', start: 0, n: 2 }])

    const again = app()
    const e2 = engineOf(again.topology)
    const restored = await new Checkpointer(e2, store).restore([{ topic: 'a', partition: 0 }])
    expect(restored.restored).toEqual(['0'])
    await e2.process(b) // replays from offset 0: 0-2 are skipped, 3 is judged against the restored W
    expect(e2.status().counters.late).toBe(1)
    expect(again.out.records).toEqual([])
    expect(e2.status().watermark).toBe(T0 + 31_000 - 3_001)
  })

  it('writes only tasks that changed and returns only their covered offsets', async () => {
    const { topology } = app()
    const e = engineOf(topology)
    const store = new MemoryCheckpointStore()
    const cp = new Checkpointer(e, store)
    await e.assign(PARTS)
    const batches = batchesOf([
      { tp: 0, evs: [{ k: 'x', dt: 1 }] },
      { tp: 2, evs: [{ k: 'y', dt: 2 }] },
    ])
    await feed(e, batches)
    expect((await cp.checkpoint()).written).toBe(2)
    expect((await cp.checkpoint()).written).toBe(0)
    await e.process(
      batchesOf([
        {
          tp: 0,
          evs: [
            { k: 'x', dt: 1 },
            { k: 'x', dt: 5 },
          ],
        },
      ])[0] as InputBatch,
    )
    const r = await cp.checkpoint()
    expect(r.written).toBe(1)
    expect(r.offsets).toContainEqual({ topic: 'a', partition: 0, offset: 2 })
    expect(store.writes).toBe(3)
  })

  it('leaves a task it still runs alone when one more of its partitions is assigned', async () => {
    const { topology, out } = app()
    const e = engineOf(topology)
    const store = new MemoryCheckpointStore()
    const cp = new Checkpointer(e, store)
    await e.assign([{ topic: 'a', partition: 0 }])
    const [b1, b2, b3, b4] = batchesOf([
      { tp: 0, evs: [{ k: 'x', dt: 1 }] },
      {
        tp: 0,
        evs: [
          { k: 'x', dt: 2 },
          { k: 'x', dt: 20_000 },
        ],
      },
      { tp: 1, evs: [{ k: 'x', dt: 30_000 }] },
      { tp: 0, evs: [{ k: 'x', dt: 30_000 }] },
    ]) as [InputBatch, InputBatch, InputBatch, InputBatch]
    await e.process(b1)
    await cp.checkpoint()
    await e.process(b2) // newer than the checkpoint
    expect((await cp.restore([{ topic: 'b', partition: 0 }])).restored).toEqual([])
    await e.assign([{ topic: 'b', partition: 0 }])
    await e.process(b3)
    await e.process(b4)
    expect(out.records).toEqual([{ k: 'x0', start: 0, n: 2 }])
  })

  it('retries a failing checkpoint read, then gives up with the store error', async () => {
    const { topology } = app()
    const memory = new MemoryCheckpointStore()
    let failures = 1
    const flaky = {
      write: (cps: Parameters<MemoryCheckpointStore['write']>[0]) => memory.write(cps),
      read: async (ids: readonly string[]) => {
        if (failures-- > 0) throw new Error('broker transport failure')
        return memory.read(ids)
      },
    }
    const e1 = engineOf(topology)
    await e1.assign(PARTS)
    await feed(e1, batchesOf([{ tp: 0, evs: [{ k: 'x', dt: 1 }] }]))
    await new Checkpointer(e1, memory).checkpoint()
    expect((await new Checkpointer(engineOf(app().topology), flaky).restore(PARTS)).restored).toEqual(['0', '1'])
    failures = 5
    await expect(new Checkpointer(engineOf(app().topology), flaky).restore(PARTS)).rejects.toThrow(
      'broker transport failure',
    )
  }, 20_000)

  it('skips a checkpoint of another topology and reports it; the task starts fresh', async () => {
    const store = new MemoryCheckpointStore()
    const { topology } = app()
    const e = engineOf(topology)
    await e.assign(PARTS)
    await feed(e, batchesOf([{ tp: 0, evs: [{ k: 'x', dt: 1 }] }]))
    await new Checkpointer(e, store).checkpoint()
    const invalid: InvalidCheckpoint[] = []
    const other = new Checkpointer(createEngine(topology2(), { tasks: 'partition' }), store, undefined, (list) => {
      invalid.push(...list)
    })
    const result = await other.restore(PARTS)
    expect(result).toMatchObject({ restored: [], fresh: ['0', '1'], seek: [] })
    expect(invalid.map((i) => [i.taskId, i.reason])).toEqual([
      ['0', 'changelog record memory-changelog-0@0 (task 0) skipped: it belongs to topology "cp", not "other"'],
      ['1', 'changelog record memory-changelog-0@1 (task 1) skipped: it belongs to topology "cp", not "other"'],
    ])
  })

  it('a corrupt committed checkpoint and a foreign record after it: restores the checkpoint before, reads again from its offsets, ends as an uninterrupted run', async () => {
    // task 0: a-0 and b-0
    const steps = [
      { tp: 0, evs: [{ k: 'x', dt: 1000 }] },
      { tp: 1, evs: [{ k: 'x', dt: 2000 }] },
      { tp: 0, evs: [{ k: 'y', dt: 4000 }] },
      { tp: 1, evs: [{ k: 'x', dt: 8000 }] },
      { tp: 0, evs: [{ k: 'x', dt: 25_000 }] },
      { tp: 1, evs: [{ k: 'x', dt: 26_000 }] },
    ]
    const batches = batchesOf(steps)
    const reference = app()
    const ref = engineOf(reference.topology)
    await ref.assign(PARTS)
    await feed(ref, batches)
    await ref.flush()

    const store = new MemoryCheckpointStore()
    const first = app()
    const e1 = engineOf(first.topology)
    await e1.assign(PARTS)
    await feed(e1, batches.slice(0, 2))
    await new Checkpointer(e1, store).checkpoint() // task 0 at a-0@1, b-0@1
    await feed(e1, batches.slice(2, 4))
    // the next checkpoint (task 0 at a-0@2, b-0@2), whose offsets were committed, reaches the changelog corrupt
    const scratch = new MemoryCheckpointStore()
    await new Checkpointer(e1, scratch).checkpoint()
    await e1.flush()
    const committed = encodeCheckpoint((await scratch.read(['0'])).get('0') as TaskCheckpoint)
    store.append('0', committed.subarray(0, committed.length - 8))
    // and a newer record of task 0 is another topology's checkpoint
    const otherStore = new MemoryCheckpointStore()
    const o = createEngine(topology2(), { tasks: 'partition' })
    await o.assign([{ topic: 'a', partition: 0 }])
    await new Checkpointer(o, otherStore).checkpoint()
    await store.write([...(await otherStore.read(['0'])).values()])

    const second = app()
    const e2 = engineOf(second.topology)
    const invalid: InvalidCheckpoint[] = []
    const result = await new Checkpointer(e2, store, undefined, (list) => {
      invalid.push(...list)
    }).restore(PARTS)
    expect(result.restored.sort()).toEqual(['0', '1'])
    expect(invalid.map((i) => i.reason)).toEqual([
      expect.stringMatching(
        /^changelog record memory-changelog-0@\d+ \(task 0\) skipped: it belongs to topology "other"/,
      ),
      expect.stringMatching(
        /^changelog record memory-changelog-0@\d+ \(task 0\) skipped: checkpoint record is not a gzipped JSON checkpoint/,
      ),
    ])
    // task 0 fell back to the first checkpoint: its partitions are read again from there, below the commit
    expect(result.seek.sort((x, y) => x.topic.localeCompare(y.topic))).toEqual([
      { topic: 'a', partition: 0, offset: 1 },
      { topic: 'b', partition: 0, offset: 1 },
    ])
    await e2.assign(PARTS)
    // what the source reads from the seek offsets: everything after the first checkpoint
    await feed(e2, batches.slice(2))
    await e2.flush()
    expect(upserts([first.out.records, second.out.records])).toEqual(upserts([reference.out.records]))
  })
})

describe('Checkpointer: fencing and where a restore reads from', () => {
  it("restore returns the checkpoint's own next offsets, to seek to (not the committed ones)", async () => {
    const { topology } = app()
    const store = new MemoryCheckpointStore()
    const e = engineOf(topology)
    await e.assign(PARTS)
    await feed(
      e,
      batchesOf([
        {
          tp: 0,
          evs: [
            { k: 'x', dt: 1 },
            { k: 'x', dt: 2 },
          ],
        },
        { tp: 1, evs: [{ k: 'y', dt: 3 }] },
      ]),
    )
    await new Checkpointer(e, store).checkpoint()
    const restored = await new Checkpointer(engineOf(topology), store).restore(PARTS)
    expect(restored.seek.sort((x, y) => x.topic.localeCompare(y.topic) || x.partition - y.partition)).toEqual([
      { topic: 'a', partition: 0, offset: 2 },
      { topic: 'b', partition: 0, offset: 1 },
    ])
  })

  it('writes nothing when its guard says no (an instance that may have lost its tasks), and writes once it says yes', async () => {
    const { topology } = app()
    const store = new MemoryCheckpointStore()
    const e = engineOf(topology)
    await e.assign(PARTS)
    await feed(e, batchesOf([{ tp: 0, evs: [{ k: 'x', dt: 1 }] }]))
    const cp = new Checkpointer(e, store)
    let allowed = false
    cp.guard = async () => allowed
    await expect(cp.checkpoint()).rejects.toBeInstanceOf(CheckpointSkipped)
    expect((await store.read(['0'])).size).toBe(0)
    allowed = true
    expect((await cp.checkpoint()).written).toBe(2) // tasks 0 and 1
    expect((await store.read(['0'])).get('0')?.task.partitions.find((p) => p.topic === 'a')?.nextOffset).toBe(1)
  })
})

function topology2() {
  const t = topology('other', { watermarks: { maxOutOfOrderness: '3s', idleTimeout: '1h' } })
  t.source(topic('a', { value: json(Ev), timestamp: (e) => e.ts }))
    .keyBy((e) => e.k)
    .window(tumbling('10s'))
    .count()
    .to(collectingSink('o'))
  return t.build()
}
