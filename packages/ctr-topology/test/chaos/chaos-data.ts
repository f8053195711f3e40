/**
 * The chaos tests' stream and its ground truth, computed here from the records alone (no job code).
 *
 * Lateness is unambiguous: event times never decrease within a partition, so no record is ever late whatever
 * the job's interleaving, restarts or task moves (W <= W(p) < the record's time). By default records are keyed
 * by product and products are co-partitioned (the same partition of `impressions` and `clicks`); a stream can
 * instead give each topic its own partition count, and be unkeyed (key null, each record's partition drawn by
 * the seeded generator), which only a job that repartitions by product counts exactly. The stream ends with a marker on every partition far
 * enough ahead that W passes every data window on every instance, so every data window fires without relying
 * on idleness (the job runs with a one-hour idle timeout); the markers' own windows never fire.
 */

import type { CtrResult } from '../../src/contract.js'

export const WINDOW = 10_000

/** One record to produce. */
export type ChaosRecord = {
  readonly topic: 'impressions' | 'clicks'
  readonly partition: number
  readonly key: string | null
  readonly value: string
}

/** The result JSON fields of docs/contract.md §3.2 (the job's own type: a shape, not its logic). */
export type Result = CtrResult

export type Truth = { latest: Record<string, Result>; previous: Record<string, Result> }

export type ChaosStream = { records: ChaosRecord[]; markers: ChaosRecord[]; truth: Truth; start: number }

/** Partition counts: one for both topics, or one per topic. */
export type Partitions = number | { readonly impressions: number; readonly clicks: number }

/** The partition count of `topic`. */
export const partitionCount = (p: Partitions, topic: ChaosRecord['topic']): number =>
  typeof p === 'number' ? p : p[topic]

/** Stable partition of a product (FNV-1a), the same for both topics. */
export function partitionOf(key: string, partitions: number): number {
  let h = 0x811c9dc5
  for (let i = 0; i < key.length; i++) h = Math.imul(h ^ key.charCodeAt(i), 0x01000193)
  return (h >>> 0) % partitions
}

/** A small deterministic PRNG (mulberry32), so a failing seed can be replayed. */
export function random(seed: number): () => number {
  let a = seed >>> 0
  return () => {
    a = (a + 0x6d2b79f5) >>> 0
    let t = a
    t = Math.imul(t ^ (t >>> 15), t | 1)
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61)
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296
  }
}

/**
 * `events` impressions and clicks (1 in 8 a click) of `products` products over `spanMs` of event time ending
 * about 30 s before `now`, in non-decreasing event time, then one marker per partition of each topic 60 s after
 * the last event. `keyed: false`: key null and a random partition for every record (markers too).
 */
export function chaosStream(o: {
  events: number
  products: number
  partitions: Partitions
  spanMs: number
  now: number
  seed: number
  keyed?: boolean
}): ChaosStream {
  const keyed = o.keyed ?? true
  const rnd = random(o.seed)
  const start = Math.floor((o.now - o.spanMs - 30_000) / WINDOW) * WINDOW
  const records: ChaosRecord[] = new Array(o.events)
  const counts = new Map<string, Map<number, { impressions: number; clicks: number }>>()
  for (let i = 0; i < o.events; i++) {
    const product = `p-${Math.floor(rnd() * o.products)}`
    const ts = start + Math.floor((i * o.spanMs) / o.events)
    const topic = rnd() < 0.125 ? 'clicks' : 'impressions'
    const value = JSON.stringify({ event_id: `e-${i}`, product_id: product, user_id: `u-${i % 97}`, timestamp: ts })
    const n = partitionCount(o.partitions, topic)
    records[i] = keyed
      ? { topic, partition: partitionOf(product, n), key: product, value }
      : { topic, partition: Math.floor(rnd() * n), key: null, value }
    const byWindow = counts.get(product) ?? new Map()
    counts.set(product, byWindow)
    const w = Math.floor(ts / WINDOW) * WINDOW
    const c = byWindow.get(w) ?? { impressions: 0, clicks: 0 }
    c[topic]++
    byWindow.set(w, c)
  }
  const markerTs = start + o.spanMs + 60_000
  const markers: ChaosRecord[] = (['impressions', 'clicks'] as const).flatMap((topic) =>
    Array.from({ length: partitionCount(o.partitions, topic) }, (_, partition) => {
      const product = `~end-${topic}-${partition}`
      const value = JSON.stringify({ event_id: `end-${topic}-${partition}`, product_id: product, timestamp: markerTs })
      return { topic, partition, key: keyed ? product : null, value }
    }),
  )
  const truth: Truth = { latest: {}, previous: {} }
  for (const [product, byWindow] of counts) {
    const [latest, previous] = [...byWindow.keys()].sort((a, b) => b - a)
    const result = (w: number): Result => {
      const c = byWindow.get(w) as { impressions: number; clicks: number }
      const ctr = c.impressions === 0 ? null : c.clicks / c.impressions
      return { product_id: product, ...c, ctr, window_start: w, window_end: w + WINDOW }
    }
    if (latest !== undefined) truth.latest[product] = result(latest)
    if (previous !== undefined) truth.previous[product] = result(previous)
  }
  return { records, markers, truth, start }
}
