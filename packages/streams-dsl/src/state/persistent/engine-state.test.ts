import { afterAll, describe, expect, it } from 'vitest'
import { z } from 'zod'
import { avg, json, session, sumOf, type TopologyBuilder, topic, topology } from '../../index.js'
import { type CollectingSink, collectingSink } from '../../testing/collecting-sink.js'
import { TestDriver } from '../../testing/test-driver.js'
import type { StateBackend } from '../state-backend.js'
import { sqliteStateBackend } from './sqlite-state-backend.js'

const Order = z.object({ customer: z.string(), cents: z.number(), ts: z.number() })

type Order = z.infer<typeof Order>

/**
 * Runs topology `t` on `state` (memory when undefined) over `records` in slices of `slice`, a checkpoint after each
 * slice but the last (incremental: a base, then deltas, a new base when they outweigh it); then a crash (the next
 * runner restores the last checkpoint into new stores and reads the last slice again) and the record `last`. Each
 * sink's records before the crash, with the snapshot, and after it.
 */
async function runWithCrash<K extends string>(
  t: TopologyBuilder,
  sinks: Record<K, CollectingSink<unknown>>,
  records: readonly Order[],
  slice: number,
  last: Order,
  state: StateBackend | undefined,
  incrementalCheckpoints: boolean,
) {
  const d = new TestDriver(t.build(), {
    startTime: 0,
    partitions: { orders: 1 },
    incrementalCheckpoints,
    ...(state && { state }),
  })
  for (let i = 0; i < records.length; i += slice) {
    await d.pipe('orders', records.slice(i, i + slice))
    if (i + slice < records.length) await d.advanceWallClock(5_000)
  }
  const names = Object.keys(sinks) as K[]
  const from = new Map(names.map((k) => [k, sinks[k].records.length]))
  const before = {
    ...(Object.fromEntries(names.map((k) => [k, [...sinks[k].records]])) as Record<K, unknown[]>),
    snapshot: d.snapshot(),
  }
  await d.crashAndReplay()
  await d.pipe('orders', [last])
  const after = Object.fromEntries(names.map((k) => [k, sinks[k].records.slice(from.get(k))])) as Record<K, unknown[]>
  await d.close()
  return { before, after, late: d.lateEvents().length, deadLetters: d.status().counters.deadLetters }
}

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
  // every key several times, in a scrambled order, so most reads miss a cache of CACHE entries
  const records = Array.from({ length: 3 * KEYS }, (_, i) => ({
    customer: `c${(i * 7919) % KEYS}`,
    cents: (i % 13) + 1,
    ts: 1_000 + i,
  }))
  const last = { customer: 'c1', cents: 1000, ts: 7_500 }
  return runWithCrash(t, { totals, counts }, records, 500, last, state, incrementalCheckpoints)
}

/**
 * Sessions of KEYS keys (gap 100 ms, lateness 5 s: about 1 700 keys hold one at a time, far more than CACHE): each
 * visit of a key is three events that open two sessions and then merge them, some visits also send an event that
 * is late or that fires again a session fired earlier. An average (an accumulator mutated in place) on close, and a
 * count on every update; the results, in order, and the state a checkpoint holds.
 */
async function runSessions(state: StateBackend | undefined, incrementalCheckpoints = false) {
  const t = topology('sessions', { watermarks: { maxOutOfOrderness: 300 } })
  const averages = collectingSink<unknown>('averages')
  const counts = collectingSink<unknown>('counts')
  const orders = t.source(topic('orders', { value: json(Order), timestamp: (o) => o.ts }))
  orders
    .keyBy((o) => o.customer)
    .window(session(100), { allowedLateness: 5_000 })
    .aggregate(avg((o) => o.cents))
    .to(averages)
  orders
    .keyBy((o) => o.customer, { name: 'by-customer' })
    .window(session(100), { allowedLateness: 5_000, emit: 'onUpdate' })
    .count()
    .to(counts)
  const customer = (visit: number) => `c${(visit * 7919) % KEYS}`
  const records: Order[] = []
  for (let v = 0; v < 2 * KEYS; v++) {
    const ts = 1_000 + 3 * v
    const c = customer(v)
    // [ts, ts+100) and [ts+200, ts+300), then [ts+100, ts+200) touches both: one session [ts, ts+300)
    records.push({ customer: c, cents: v % 13, ts }, { customer: c, cents: 1, ts: ts + 200 })
    if (v % 5 !== 0) records.push({ customer: c, cents: 2, ts: ts + 100 })
    if (v % 97 === 50) records.push({ customer: c, cents: 3, ts: ts - 8_000 }) // late: closed long ago
    if (v % 13 === 0 && v >= 300) records.push({ customer: customer(v - 300), cents: 4, ts: ts - 900 + 150 }) // fired, not purged
  }
  // slices of 3000 (the idle partition's watermark follows the wall clock between them); the last record fires and
  // purges every session
  const last = { customer: 'c1', cents: 1000, ts: 1_000 + 6 * KEYS + 10_000 }
  return runWithCrash(t, { averages, counts }, records, 3_000, last, state, incrementalCheckpoints)
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

  it(`gives the memory backend's session windows with ${KEYS} keys and a cache of ${CACHE}, across a crash, with whole and incremental checkpoints`, {
    timeout: 60_000,
  }, async () => {
    const memory = await runSessions(undefined)
    const disk = await runSessions(backend)
    expect(disk.before).toEqual(memory.before)
    expect(disk.after).toEqual(memory.after)
    expect([disk.late, disk.deadLetters]).toEqual([memory.late, memory.deadLetters])
    const incremental = await runSessions(backend, true)
    expect(incremental.before).toEqual(memory.before)
    expect(incremental.after).toEqual(memory.after)
    // what the run is meant to hold: merged sessions, late events, late firings, many sessions in a checkpoint
    const secondVisit = { key: 'c1919', window: { start: 1_003, end: 1_303 }, value: 4 / 3, lateFiring: false }
    expect(memory.before.averages).toContainEqual(secondVisit)
    expect(memory.late).toBeGreaterThan(0)
    expect(memory.before.averages.some((r) => (r as { lateFiring: boolean }).lateFiring)).toBe(true)
    const held = memory.before.snapshot.tasks.flatMap((t) => t.windows)
    expect(held.length).toBeGreaterThan(10 * CACHE)
    expect(memory.after.averages.length).toBeGreaterThan(10 * CACHE)
    expect(backend.cachedEntries()).toBeLessThanOrEqual(CACHE)
  })
})
