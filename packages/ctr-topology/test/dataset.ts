/**
 * The end-to-end dataset: five phases over windows w0..w3 of 10 s from `T` (an aligned time in the
 * past), on impressions with 6 partitions and clicks with 3. Records go to explicit partitions, so each
 * partition's watermark, and the job's, are known after each phase. See the phase comments for what each
 * one exercises; `expectedOutcome` (oracle.ts) checks that no judgement depends on processing order.
 */
import type { ProducedRecord } from './oracle.js'

export const IMPRESSION_PARTITIONS = 6
export const CLICK_PARTITIONS = 3

type Topic = ProducedRecord['topic']

/** Builds the phases; `wallClock` is about when they are produced (future-stamped events are relative to it). */
export function buildPhases(T: number, wallClock: number): ProducedRecord[][] {
  const counters = { impressions: 0, clicks: 0 }
  const rr = (topic: Topic) => counters[topic]++ % (topic === 'impressions' ? IMPRESSION_PARTITIONS : CLICK_PARTITIONS)
  const ev = (product: string, ts: number | string, extra: object = {}) =>
    JSON.stringify({ event_id: `e-${product}-${ts}`, product_id: product, user_id: 'u-1', timestamp: ts, ...extra })
  /** A valid event, keyed by product, to the next partition round-robin. */
  const rec = (topic: Topic, product: string, ts: number | string, key: string | null = product): ProducedRecord => ({
    topic,
    partition: rr(topic),
    key,
    value: ev(product, ts, topic === 'clicks' ? { impression_id: `i-${product}` } : {}),
    recordTimestamp: wallClock,
  })
  const raw = (
    topic: Topic,
    partition: number,
    key: string | null,
    value: string | Buffer,
    recordTimestamp = wallClock,
  ) => ({
    topic,
    partition,
    key,
    value,
    recordTimestamp,
  })
  /** One valid event of product p-7 on every partition of both topics: sets every partition's watermark. */
  const drivers = (ts: number): ProducedRecord[] => [
    ...Array.from({ length: IMPRESSION_PARTITIONS }, (_, p) => raw('impressions', p, 'p-7', ev('p-7', ts))),
    ...Array.from({ length: CLICK_PARTITIONS }, (_, p) => raw('clicks', p, 'p-7', ev('p-7', ts))),
  ]

  // Phase 1, in order and out of order within 3 s, windows w0 and w1. Ends with W = T+17000-3001 = T+13999:
  // w0 has fired, w1 is open.
  const phase1: ProducedRecord[] = []
  for (let i = 1; i <= 6; i++) {
    const p = `p-${i}`
    for (let j = 0; j < 3 + i; j++) phase1.push(rec('impressions', p, T + 300 + 700 * j))
    for (let j = 0; j < i % 4; j++) phase1.push(rec('clicks', p, T + 1_000 + 900 * j))
    for (let j = 0; j < i; j++) phase1.push(rec('impressions', p, T + 10_500 + 600 * j))
    if (i % 2 === 0) phase1.push(rec('clicks', p, T + 12_000))
  }
  phase1.push(
    raw('impressions', 0, 'p-1', ev('p-1', T + 16_000)),
    raw('impressions', 0, 'p-1', ev('p-1', T + 13_500)), // 2.5 s out of order in its partition
    rec('impressions', 'p-2', new Date(T + 4_000).toISOString()), // ISO-8601 event time
    rec('clicks', 'p-2', new Date(T + 5_000).toISOString().replace('Z', '+00:00')),
    raw('impressions', 3, 'p-6', JSON.stringify({ product_id: 'p-6', user_id: 'u' }), T + 12_000), // record time
    ...drivers(T + 17_000),
  )

  // Phase 2, W stays T+13999 (nothing later than T+17000): late events for w0 within allowed lateness (late
  // firings), unkeyed and oddly keyed events, malformed and future-stamped records.
  const phase2: ProducedRecord[] = [
    rec('impressions', 'p-1', T + 9_000),
    rec('clicks', 'p-3', T + 8_000),
    rec('clicks', 'p-5', T + 1_000),
    rec('impressions', 'p-2', T + 15_000, null),
    rec('clicks', 'p-4', T + 16_500, null),
    rec('impressions', 'p-6', T + 14_000, 'p-1'),
    raw('impressions', 1, 'p-1', '{"event_id": "x", "product_id": "p-1", "timest'),
    raw('impressions', 2, null, '[1, 2, 3]'),
    raw('clicks', 0, null, ev('', T + 1_000)),
    raw('clicks', 1, 'p', ev('p'.repeat(129), T + 1_000)),
    raw('impressions', 4, 'p-3', ev('p-3', 'yesterday')),
    raw('impressions', 5, 'p-3', JSON.stringify({ product_id: 'p-3', timestamp: true })),
    raw('impressions', 0, 'p-1', ev('p-1', wallClock + 3_600_000)),
    raw('clicks', 2, 'p-1', ev('p-1', wallClock + 3_600_000)),
    // The product id rule (contract.ts): code points, no control characters, no lone surrogates, UTF-8 only.
    raw('clicks', 0, null, ev('a\u0001b', T + 1_000)),
    raw('impressions', 1, null, ev('\ud800', T + 1_000)), // JSON.stringify writes the escape "\ud800"
    raw('impressions', 2, null, Buffer.from(`{"product_id":"p\u00ff","timestamp":${T + 1_000}}`, 'latin1')), // 0xFF
    rec('impressions', '😀'.repeat(128), T + 15_000), // 128 characters in 256 UTF-16 units: counted
    rec('impressions', '__proto__', T + 15_000),
    rec('clicks', '__proto__', T + 15_500),
    rec('impressions', 'constructor', T + 15_000),
  ]

  // Phase 3, W moves to T+25000-3001 = T+21999: w0 is purged, w1 fires. Only events no watermark in
  // [T+13999, T+21999] could reject: w1 stragglers and w2.
  const phase3: ProducedRecord[] = [
    ...drivers(T + 25_000),
    rec('clicks', 'p-5', T + 18_000),
    ...[1, 2, 3, 4].flatMap((i) => [
      rec('impressions', `p-${i}`, T + 20_000 + 1_000 * i),
      rec('impressions', `p-${i}`, T + 20_500 + 1_000 * i),
      rec('clicks', `p-${i}`, T + 21_000 + 900 * i),
    ]),
  ]

  // Phase 4, W stays T+21999: too late for w0 (DLQ late_event), late but allowed for w1 (late firings).
  const phase4: ProducedRecord[] = [
    rec('impressions', 'p-1', T + 5_000),
    rec('clicks', 'p-2', T + 9_999),
    rec('impressions', 'p-3', T + 19_000),
    rec('clicks', 'p-6', T + 11_000),
    rec('impressions', 'p-5', T + 23_000),
  ]

  // Phase 5, W moves to T+39000-3001 = T+35999: w1 and w2 are purged; w3 events for some products.
  // After it traffic stops, all partitions go idle and the wall-clock advance closes w3.
  const phase5: ProducedRecord[] = [
    ...drivers(T + 39_000),
    ...['p-1', 'p-2', 'p-5'].flatMap((p, i) => [
      rec('impressions', p, T + 38_000 + 300 * i),
      rec('impressions', p, T + 38_100 + 300 * i),
      rec('clicks', p, T + 38_200 + 300 * i),
    ]),
  ]
  return [phase1, phase2, phase3, phase4, phase5]
}
