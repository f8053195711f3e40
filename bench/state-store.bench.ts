// The persistent state store and incremental checkpoints (issue 16, item 5).
// `pnpm bench state-store` (no Kafka: checkpoints in memory, encoded as the changelog holds them):
//   A running total per key over all time (keyBy().aggregate(sumOf), no window) of KEYS distinct keys (default
//   1M) in one task, on the memory backend and on sqliteStateBackend (CACHE entries in the heap, default 100k):
//   load time, heap after load, a whole checkpoint (ms, gzipped bytes) and a restore from it into a new engine on
//   the same backend (read + decode + load, ms). Then CHANGED keys (default 1 % of KEYS) change: a whole
//   checkpoint of the task against an incremental one (a delta on the base: ms and bytes), and the restore from
//   base + delta. One run of each (the machine is shared; the figures are single runs, not medians).
import { loadavg } from 'node:os'
import { type InputBatch, json, type RawRecord, sumOf, topic, topology } from '@ctr/streams-dsl'
// the engine, checkpointer and checkpoint store are what this bench measures: not public API
import { Checkpointer, createEngine, type Engine, MemoryCheckpointStore } from '@ctr/streams-dsl/internal'
import { memoryStateBackend, type StateBackend, sqliteStateBackend } from '@ctr/streams-dsl/state'
import { z } from 'zod'
import { writeResult } from './lib/report.js'

const KEYS = Number(process.env.KEYS ?? 1_000_000)
const CACHE = Number(process.env.CACHE ?? 100_000)
const CHANGED = Number(process.env.CHANGED ?? Math.round(KEYS / 100))
const BATCH = 1000
const T0 = Date.parse('2025-01-01T12:00:00Z')
const PARTS = [{ topic: 'orders', partition: 0 }]

const Order = z.object({ id: z.string(), cents: z.number(), ts: z.number() })

function app() {
  const t = topology('state-bench', { watermarks: { maxOutOfOrderness: '1s', maxFutureSkew: '1h' } })
  t.source(topic('orders', { value: json(Order), timestamp: (o) => o.ts }))
    .keyBy((o) => o.id)
    .aggregate(sumOf('cents'))
    .to({ name: 'totals', write: async () => {} })
  return t.build()
}

let offset = 0
/** Batches of one order per key in `keys` (one partition, offsets going on). */
function* batches(keys: Iterable<number>): Generator<InputBatch> {
  let records: RawRecord[] = []
  for (const k of keys) {
    const value = Buffer.from(`{"id":"p-${k}","cents":${(k % 97) + 1},"ts":${T0 + 1000}}`)
    records.push({ topic: 'orders', partition: 0, offset: offset++, key: null, value, timestamp: T0 })
    if (records.length === BATCH) {
      yield { topic: 'orders', partition: 0, records }
      records = []
    }
  }
  if (records.length) yield { topic: 'orders', partition: 0, records }
}

function* range(n: number, step = 1): Generator<number> {
  for (let i = 0; i < n; i += step) yield i
}

const ms = (t: number) => Math.round((performance.now() - t) * 10) / 10
const heapMiB = () => {
  globalThis.gc?.()
  return Math.round(process.memoryUsage().heapUsed / 2 ** 20)
}

async function engineOn(state: StateBackend): Promise<Engine> {
  const e = createEngine(app(), { state, clock: { now: () => T0 } })
  await e.assign(PARTS)
  return e
}

/** Restores a new engine on `state` from `store`: ms, and the keys it holds. */
async function restoreInto(state: StateBackend, store: MemoryCheckpointStore) {
  const e = createEngine(app(), { state, clock: { now: () => T0 } })
  const t = performance.now()
  await new Checkpointer(e, store).restore(PARTS)
  const restoreMs = ms(t)
  await e.assign(PARTS)
  const keys = e.status().windows.open
  return { restoreMs, keys }
}

async function run(name: string, backend: () => StateBackend & { close?(): void }) {
  offset = 0
  const state = backend()
  const e = await engineOn(state)
  let t = performance.now()
  for (const b of batches(range(KEYS))) await e.process(b)
  const loadMs = ms(t)
  const heapAfterLoadMiB = heapMiB()

  // a whole checkpoint, and a restore from it
  const whole = new MemoryCheckpointStore()
  const wholeCp = new Checkpointer(e, whole)
  t = performance.now()
  await wholeCp.checkpoint()
  const checkpointMs = ms(t)
  const checkpointBytes = whole.bytes
  const restoreState = backend()
  const restore = await restoreInto(restoreState, whole)
  restoreState.close?.()

  // incremental: a base, then CHANGED keys change; the delta against a whole checkpoint of the same change
  const incr = new MemoryCheckpointStore()
  const incrCp = new Checkpointer(e, incr)
  incrCp.incremental = true
  t = performance.now()
  await incrCp.checkpoint()
  const baseMs = ms(t)
  const baseBytes = incr.bytes
  for (const b of batches(range(KEYS, Math.floor(KEYS / CHANGED)))) await e.process(b)
  t = performance.now()
  await incrCp.checkpoint()
  const deltaMs = ms(t)
  const deltaBytes = incr.bytes - baseBytes
  const before = whole.bytes
  t = performance.now()
  await wholeCp.checkpoint()
  const wholeAfterChangeMs = ms(t)
  const wholeAfterChangeBytes = whole.bytes - before
  const incrState = backend()
  const incrRestore = await restoreInto(incrState, incr)
  incrState.close?.()
  state.close?.()
  const result = {
    loadMs,
    heapAfterLoadMiB,
    whole: { checkpointMs, checkpointBytes, restoreMs: restore.restoreMs, restoredKeys: restore.keys },
    incremental: {
      baseMs,
      baseBytes,
      changedKeys: CHANGED,
      deltaMs,
      deltaBytes,
      wholeAfterChangeMs,
      wholeAfterChangeBytes,
      restoreBasePlusDeltaMs: incrRestore.restoreMs,
      restoredKeys: incrRestore.keys,
    },
  }
  console.log(`[bench] ${name}: ${JSON.stringify(result)}`)
  return result
}

const memory = await run('memory', () => memoryStateBackend)
const sqlite = await run('sqlite', () => sqliteStateBackend({ cacheEntries: CACHE }))
writeResult(
  'state-store',
  {
    keys: KEYS,
    cacheEntries: CACHE,
    changedKeys: CHANGED,
    batch: BATCH,
    loadavg: loadavg().map((x) => Math.round(x * 100) / 100),
  },
  { memory, sqlite },
)
