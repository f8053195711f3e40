import { afterAll, describe, expect, it } from 'vitest'
import { z } from 'zod'
import { json, sumOf, topic, topology } from '../../index.js'
import { collectingSink } from '../../testing/collecting-sink.js'
import { TestDriver } from '../../testing/test-driver.js'
import type { StateBackend } from '../state-backend.js'
import { sqliteStateBackend } from './sqlite-state-backend.js'

const Order = z.object({ customer: z.string(), cents: z.number(), ts: z.number() })
const KEYS = 2_000
const CACHE = 64

/** Running totals and counts per customer over all time; the results, in order, and the state a checkpoint holds. */
async function run(state: StateBackend | undefined, incrementalCheckpoints = false) {
  const t = topology('totals', { watermarks: { maxOutOfOrderness: 0 } })
  const totals = collectingSink<unknown>('totals')
  const counts = collectingSink<unknown>('counts')
  const orders = t.source(topic('orders', { value: json(Order), timestamp: (o) => o.ts }))
  orders
    .keyBy((o) => o.customer)
    .aggregate(sumOf('cents'))
    .to(totals)
  orders
    .keyBy((o) => o.customer, { name: 'by-customer' })
    .count()
    .toStream()
    .to(counts)
  const d = new TestDriver(t.build(), {
    startTime: 0,
    partitions: { orders: 1 },
    incrementalCheckpoints,
    ...(state && { state }),
  })
  // every key several times, in a scrambled order, so most reads miss a cache of CACHE entries
  const records = Array.from({ length: 3 * KEYS }, (_, i) => ({
    customer: `c${(i * 7919) % KEYS}`,
    cents: (i % 13) + 1,
    ts: 1_000 + i,
  }))
  // a checkpoint after each slice but the last (incremental: a base, then deltas, a new base when they outweigh it)
  for (let i = 0; i < records.length; i += 500) {
    await d.pipe('orders', records.slice(i, i + 500))
    if (i + 500 < records.length) await d.advanceWallClock(5_000)
  }
  const before = { totals: [...totals.records], counts: [...counts.records], snapshot: d.snapshot() }
  // a crash: the next runner restores the last checkpoint (into new stores) and reads the last slice again
  await d.crashAndReplay()
  await d.pipe('orders', [{ customer: 'c1', cents: 1000, ts: 7_500 }])
  const after = {
    totals: totals.records.slice(before.totals.length),
    counts: counts.records.slice(before.counts.length),
  }
  await d.close()
  return { before, after, deadLetters: d.status().counters.deadLetters }
}

describe('an engine on the sqlite backend', () => {
  const backend = sqliteStateBackend({ cacheEntries: CACHE })
  afterAll(() => backend.close())

  it(`gives the memory backend's results with ${KEYS} keys and a cache of ${CACHE}, across a crash, with whole and incremental checkpoints`, {
    timeout: 60_000,
  }, async () => {
    const memory = await run(undefined)
    const disk = await run(backend)
    expect(memory.before.totals).toHaveLength(3 * KEYS)
    expect(disk.before).toEqual(memory.before)
    expect(disk.after).toEqual(memory.after)
    const incremental = await run(backend, true)
    expect(incremental.before).toEqual(memory.before)
    expect(incremental.after).toEqual(memory.after)
    expect(memory.after.totals).toHaveLength(501) // the last slice again, and the new record
    expect(memory.deadLetters).toBe(0)
    expect(memory.after.counts.at(-1)).toEqual({ key: 'c1', value: 4 })
    expect(backend.cachedEntries()).toBeLessThanOrEqual(CACHE)
  })
})
