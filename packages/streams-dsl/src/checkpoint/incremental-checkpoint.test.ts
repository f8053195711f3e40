import fc from 'fast-check'
import { afterAll, describe, expect, it } from 'vitest'
import { z } from 'zod'
import type { InputBatch, TopicPartition } from '../connectors/types.js'
import { json, sumOf, topic, topology } from '../index.js'
import { createEngine } from '../runtime/engine.js'
import type { Engine, EngineSnapshot } from '../runtime/types.js'
import { sqliteStateBackend } from '../state/persistent/sqlite-state-backend.js'
import type { StateBackend } from '../state/state-backend.js'
import type { TaskCheckpoint } from './checkpoint.js'
import { Checkpointer } from './checkpointer.js'
import { MemoryCheckpointStore } from './memory-checkpoint-store.js'

const T0 = Date.parse('2025-01-01T12:00:00Z')
const Order = z.object({ customer: z.string(), cents: z.number(), ts: z.number() })
const PARTS: TopicPartition[] = [{ topic: 'orders', partition: 0 }]

/** Running totals per customer over all time, and a count per customer. */
function app() {
  const t = topology('totals', { watermarks: { maxOutOfOrderness: '1s', maxFutureSkew: '1h' } })
  const orders = t.source(topic('orders', { value: json(Order), timestamp: (o) => o.ts }))
  orders
    .keyBy((o) => o.customer)
    .aggregate(sumOf('cents'))
    .to({ name: 'totals', write: async () => {} })
  orders
    .keyBy((o) => o.customer, { name: 'by-customer' })
    .count()
    .toStream()
    .to({ name: 'counts', write: async () => {} })
  return t.build()
}

const backends: ReturnType<typeof sqliteStateBackend>[] = []
afterAll(() => {
  for (const b of backends) b.close()
})
const disk = (cacheEntries = 64) => {
  const b = sqliteStateBackend({ cacheEntries })
  backends.push(b)
  return b
}

async function engineOn(state: StateBackend): Promise<Engine> {
  const e = createEngine(app(), { state, clock: { now: () => T0 } })
  await e.assign(PARTS)
  return e
}

/** A store that keeps what each write was handed. */
class RecordingStore extends MemoryCheckpointStore {
  readonly written: TaskCheckpoint[] = []
  override async write(checkpoints: readonly TaskCheckpoint[]): Promise<void> {
    await super.write(checkpoints)
    this.written.push(...(JSON.parse(JSON.stringify(checkpoints)) as TaskCheckpoint[]))
  }
}

let offset = 0
const batch = (customers: readonly number[]): InputBatch => ({
  topic: 'orders',
  partition: 0,
  records: customers.map((c, i) => ({
    topic: 'orders',
    partition: 0,
    offset: offset++,
    key: null,
    value: Buffer.from(JSON.stringify({ customer: `c${c}`, cents: (c % 7) + i, ts: T0 + 1000 })),
    timestamp: T0,
  })),
})

/** The state of an engine, windows by operator, entries by key: comparable across backends. */
const stateOf = (s: EngineSnapshot) =>
  s.tasks.map((t) => ({
    id: t.id,
    partitions: t.partitions,
    windows: [...t.windows]
      .sort((a, b) => a.operator.localeCompare(b.operator))
      .map((w) => ({ ...w, entries: [...w.entries].sort((x, y) => String(x[0]).localeCompare(String(y[0]))) })),
  }))

/** Restores a new engine (in memory) from the store, as a restart would. */
async function restored(store: MemoryCheckpointStore): Promise<EngineSnapshot> {
  const e = createEngine(app(), { clock: { now: () => T0 } })
  await new Checkpointer(e, store).restore(PARTS)
  await e.assign(PARTS)
  return e.snapshot()
}

const range = (from: number, to: number) => Array.from({ length: to - from }, (_, i) => from + i)

describe('incremental checkpoints on the sqlite backend', () => {
  it('a base, then deltas holding only the keys changed; a restore gives the live state', async () => {
    const e = await engineOn(disk())
    const store = new RecordingStore()
    const cp = new Checkpointer(e, store)
    cp.incremental = true
    await e.process(batch(range(0, 1000)))
    await cp.checkpoint()
    const base = store.written.at(-1) as TaskCheckpoint
    expect(base.chain).toEqual({ base: expect.any(Number), delta: 0 })
    expect(base.task.windows.map((w) => w.entries.length)).toEqual([1000, 1000])
    const baseBytes = store.bytes

    await e.process(batch([3, 5, 5, 999]))
    await cp.checkpoint()
    const delta = store.written.at(-1) as TaskCheckpoint
    expect(delta.chain).toEqual({ base: base.chain?.base, delta: 1 })
    // both tables: the three keys changed, nothing else
    expect(delta.task.windows.map((w) => [w.partial, w.entries.map(([k]) => k).sort(), w.deleted])).toEqual([
      [true, ['c3', 'c5', 'c999'], []],
      [true, ['c3', 'c5', 'c999'], []],
    ])
    expect(store.bytes - baseBytes).toBeLessThan(baseBytes / 20)
    expect(delta.task.partitions[0]?.nextOffset).toBe(offset)

    await cp.checkpoint() // nothing changed: nothing written
    expect(store.written).toHaveLength(2)
    expect(stateOf(await restored(store))).toEqual(stateOf(e.snapshot()))
  })

  it('writes a new base once the deltas outweigh the last, deleting the chain it replaces', async () => {
    const e = await engineOn(disk())
    const store = new RecordingStore()
    const cp = new Checkpointer(e, store)
    cp.incremental = true
    await e.process(batch(range(0, 300)))
    await cp.checkpoint()
    for (let i = 0; i < 4; i++) {
      await e.process(batch(range(i * 100, i * 100 + 100)))
      await cp.checkpoint()
    }
    // 300 keys in each table; deltas of 100 changed keys each: the third would bring them over the base
    expect(store.written.map((c) => c.chain?.delta)).toEqual([0, 1, 2, 0, 1])
    expect(store.written.at(-1)?.task.windows.map((w) => w.entries.length)).toEqual([100, 100])
    const [first, , , second] = store.written
    expect(second?.chain?.supersedes).toEqual({ base: first?.chain?.base, deltas: 2 })
    expect(second?.task.windows.map((w) => [w.partial, w.entries.length])).toEqual([
      [undefined, 300],
      [undefined, 300],
    ])
    store.compact()
    expect(store.keys('0')).toEqual([`0#b${second?.chain?.base}`, `0#d${second?.chain?.base}.1`])
    expect(stateOf(await restored(store))).toEqual(stateOf(e.snapshot()))
  })

  it('after a failed write the next checkpoint is a base (the changes the failed delta held are in it)', async () => {
    const e = await engineOn(disk())
    const store = new RecordingStore()
    const cp = new Checkpointer(e, store)
    cp.incremental = true
    await e.process(batch(range(0, 200)))
    await cp.checkpoint()
    await e.process(batch([1, 2]))
    const write = store.write
    store.write = async () => {
      throw new Error('broker down')
    }
    await expect(cp.checkpoint()).rejects.toThrow('broker down')
    store.write = write
    await e.process(batch([3]))
    await cp.checkpoint()
    expect(store.written.map((c) => c.chain?.delta)).toEqual([0, 0])
    expect(stateOf(await restored(store))).toEqual(stateOf(e.snapshot()))
  })

  it('random batches, checkpoints and restarts: the restored state is always the live one', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.array(
          fc.record({
            customers: fc.array(fc.integer({ min: 0, max: 400 }), { minLength: 1, maxLength: 80 }),
            checkpoint: fc.boolean(),
            restart: fc.boolean(),
          }),
          { minLength: 1, maxLength: 25 },
        ),
        async (steps) => {
          offset = 0
          const store = new MemoryCheckpointStore()
          let e = await engineOn(disk())
          let cp = new Checkpointer(e, store)
          cp.incremental = true
          for (const s of steps) {
            await e.process(batch(s.customers))
            if (s.checkpoint || s.restart) await cp.checkpoint()
            if (s.restart) {
              // a restart on a new backend, from the chain: its state must be the engine's
              expect(stateOf(await restored(store))).toEqual(stateOf(e.snapshot()))
              e = createEngine(app(), { state: disk(), clock: { now: () => T0 } })
              cp = new Checkpointer(e, store)
              cp.incremental = true
              await cp.restore(PARTS)
              await e.assign(PARTS)
            }
          }
          await cp.checkpoint()
          expect(stateOf(await restored(store))).toEqual(stateOf(e.snapshot()))
        },
      ),
      { numRuns: 25 },
    )
  })
})
