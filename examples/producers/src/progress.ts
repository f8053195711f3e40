import type { EventKind, OutRecord } from './generator.js'

/** Running totals of a producer run. */
export type Stats = {
  sent: number
  impressions: number
  clicks: number
  errors: number
  byKind: Record<EventKind, number>
}

/** Fresh, all-zero stats. */
export function emptyStats(): Stats {
  return {
    sent: 0,
    impressions: 0,
    clicks: 0,
    errors: 0,
    byKind: { in_order: 0, out_of_order: 0, late: 0, too_late: 0, malformed: 0 },
  }
}

/** Adds records that were acknowledged by Kafka to the stats. */
export function countSent(stats: Stats, records: readonly OutRecord[]): void {
  for (const r of records) {
    stats.sent++
    stats[r.stream]++
    stats.byKind[r.kind]++
  }
}

const fmt = (n: number) => Math.round(n).toLocaleString('en-US')

/**
 * One progress line: totals, the rate since the previous line, errors and the special records.
 *
 * @example
 * formatProgress(stats, 1200, 5000) // 'sent 12,345 (impressions 11,000, clicks 1,345) | 240 ev/s | errors 0 | ...'
 */
export function formatProgress(stats: Stats, sentBefore: number, elapsedMs: number): string {
  const rate = elapsedMs > 0 ? ((stats.sent - sentBefore) * 1000) / elapsedMs : 0
  const k = stats.byKind
  return (
    `sent ${fmt(stats.sent)} (impressions ${fmt(stats.impressions)}, clicks ${fmt(stats.clicks)}) | ` +
    `${fmt(rate)} ev/s | errors ${fmt(stats.errors)} | out-of-order ${fmt(k.out_of_order)}, late ${fmt(k.late)}, ` +
    `too late ${fmt(k.too_late)}, malformed ${fmt(k.malformed)}`
  )
}
