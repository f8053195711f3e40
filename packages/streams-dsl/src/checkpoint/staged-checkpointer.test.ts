import { describe, expect, it } from 'vitest'
import { z } from 'zod'
import type { RawRecord, RepartitionRecord, Sink } from '../connectors/types.js'
import { count, json, topic, topology, tumbling } from '../index.js'
import { repartitionTopic } from '../runtime/repartition/codec.js'
import { StagedEngine } from '../runtime/repartition/staged-engine.js'
import { ManualClock } from '../testing/manual-clock.js'
import { MemoryCheckpointStore } from './memory-checkpoint-store.js'
import { StagedCheckpointer } from './staged-checkpointer.js'

const T0 = Date.parse('2025-01-01T12:00:00Z')
const Ev = z.object({ k: z.string(), ts: z.number() })

function app() {
  const a = topology('cp', { watermarks: { maxOutOfOrderness: 0, idleTimeout: '10s', maxFutureSkew: '5m' } })
  a.source(topic('a', { value: json(Ev), timestamp: (e) => e.ts }))
    .keyBy((e) => e.k, { name: 'by-k' })
    .window(tumbling('10s'))
    .aggregate(count())
    .to({ name: 'out', write: async () => {} })
  return a.build()
}

const rec = (offset: number, k: string, dt: number): RawRecord => ({
  topic: 'a',
  partition: 0,
  offset,
  key: null,
  value: Buffer.from(JSON.stringify({ k, ts: T0 + dt })),
  timestamp: T0,
})

describe('staged checkpointer', () => {
  it('commits no source offset before what those records routed is acknowledged', async () => {
    const t = app()
    const internal = repartitionTopic(t.name, 'by-k')
    // a sink whose writes resolve once acknowledged, like the Kafka one: the engine does not wait for them
    let acknowledge!: () => void
    const acked = new Promise<void>((r) => {
      acknowledge = r
    })
    const written: RepartitionRecord[] = []
    const sink: Sink<RepartitionRecord> = {
      name: 'repartition',
      write: async (rs) => {
        written.push(...rs)
        await acked
      },
    }
    const engine = new StagedEngine(t, {
      clock: new ManualClock(T0),
      topics: [{ keyBy: 'by-k', topic: internal, partitions: 2 }],
      sink,
      origins: [{ topic: 'a', partition: 0 }],
    })
    const store = new MemoryCheckpointStore()
    const cp = new StagedCheckpointer(engine, store)
    await cp.restore([{ topic: 'a', partition: 0 }])
    await engine.assign([{ topic: 'a', partition: 0 }])
    await engine.process({ topic: 'a', partition: 0, records: [rec(0, 'x', 1000), rec(1, 'y', 2000)] })

    let offsets: unknown
    const checkpointing = cp.checkpoint().then((r) => {
      offsets = r.offsets
    })
    await new Promise((r) => setTimeout(r, 20))
    expect(offsets).toBeUndefined()
    expect((await store.read(['a-0'])).size).toBe(0)
    acknowledge()
    await checkpointing
    expect(written.filter((r) => 'record' in r)).toHaveLength(2)
    expect(offsets).toEqual([{ topic: 'a', partition: 0, offset: 2 }])
    expect((await store.read(['a-0'])).get('a-0')?.task.partitions[0]).toMatchObject({
      nextOffset: 2,
      maxEventTime: T0 + 2000,
    })
  })
})
