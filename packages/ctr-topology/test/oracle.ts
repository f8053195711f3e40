/**
 * An independent model of docs/contract.md §1-§3 for the end-to-end test: it shares no code with the DSL or
 * the topology. Given records produced in phases (the test waits until the job has consumed each phase
 * before producing the next), it computes what must end up in `ctr:latest` / `ctr:previous` and in the DLQ.
 *
 * Within a phase the job may interleave partitions in any order, so an event can be judged against any
 * watermark between the one after the previous phase and the one after its own phase. The oracle
 * requires the dataset to make every judgement the same at both bounds and throws otherwise, so the
 * expected values never depend on timing. Idleness is not modelled: the test keeps phases close enough
 * together that no partition goes idle until the end, when the all-idle advance closes every window.
 */

import { isUtf8 } from 'node:buffer'
import type { CtrResult } from '../src/contract.js'

export const S = 10_000
export const B = 3_000
export const L = 5_000
export const MAX_FUTURE_SKEW = 300_000

/** One record as the test produced it. */
export type ProducedRecord = {
  readonly topic: 'impressions' | 'clicks'
  readonly partition: number
  readonly key: string | null
  /** The payload; a Buffer for bytes that are not text. */
  readonly value: string | Buffer
  /** Kafka record timestamp (epoch ms): the event time when the payload has none. */
  readonly recordTimestamp: number
}

/** The job's result shape (only the type is shared; the oracle computes the values on its own). */
export type OracleResult = CtrResult

export type Expected = {
  latest: Record<string, OracleResult>
  previous: Record<string, OracleResult>
  dlq: Record<string, number>
  /** The job watermark after each phase (min over every partition that has events; -Infinity before). */
  watermarks: number[]
}

type Decoded = { ok: true; product: string; ts: number } | { ok: false; reason: string }

const ISO = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:\d{2})$/

/** Decodes a value as docs/contract.md §1 says, or gives the DLQ reason. */
export function decode(r: ProducedRecord, wallClock: number): Decoded {
  // JSON text is UTF-8 (RFC 8259 §8.1): other bytes are not JSON.
  if (typeof r.value !== 'string' && !isUtf8(r.value)) return { ok: false, reason: 'invalid_json' }
  let v: unknown
  try {
    v = JSON.parse(r.value.toString())
  } catch {
    return { ok: false, reason: 'invalid_json' }
  }
  if (typeof v !== 'object' || v === null || Array.isArray(v)) return { ok: false, reason: 'invalid_event' }
  const o = v as Record<string, unknown>
  const p = o.product_id
  if (typeof p !== 'string' || !validProductId(p)) return { ok: false, reason: 'invalid_event' }
  let ts: number
  if (o.timestamp === undefined || o.timestamp === null) ts = r.recordTimestamp
  else if (typeof o.timestamp === 'number' && Number.isFinite(o.timestamp) && o.timestamp >= 0) ts = o.timestamp
  else if (typeof o.timestamp === 'string' && ISO.test(o.timestamp)) ts = Date.parse(o.timestamp)
  else return { ok: false, reason: 'invalid_event' }
  if (ts > wallClock + MAX_FUTURE_SKEW) return { ok: false, reason: 'future_timestamp' }
  return { ok: true, product: p, ts }
}

/** docs/contract.md §1.2 "a non-empty string, at most 128 characters": characters are code points, none a control or a lone surrogate. */
function validProductId(p: string): boolean {
  const chars = Array.from(p) // code points; an unpaired surrogate is one of its own
  return (
    chars.length >= 1 &&
    chars.length <= 128 &&
    chars.every((ch) => {
      const cp = ch.codePointAt(0) as number
      return !(cp < 0x20 || (cp >= 0x7f && cp <= 0x9f) || (cp >= 0xd800 && cp <= 0xdfff))
    })
  )
}

const windowStart = (ts: number) => Math.floor(ts / S) * S
const isLate = (ts: number, W: number) => W >= windowStart(ts) + S - 1 + L

/**
 * Computes the expected Redis hashes and DLQ counts for records produced in `phases`.
 * `wallClock` is the time the records were produced (for the future-timestamp rule).
 */
export function expectedOutcome(phases: readonly (readonly ProducedRecord[])[], wallClock: number): Expected {
  const maxByPartition = new Map<string, number>()
  const jobWatermark = () =>
    maxByPartition.size === 0
      ? Number.NEGATIVE_INFINITY
      : Math.min(...[...maxByPartition.values()].map((m) => m - B - 1))
  const counts = new Map<string, { product: string; start: number; impressions: number; clicks: number }>()
  const dlq: Record<string, number> = {}
  const watermarks: number[] = []
  phases.forEach((phase, k) => {
    const decoded = phase.map((r) => ({ r, d: decode(r, wallClock) }))
    const before = jobWatermark()
    for (const { r, d } of decoded) {
      if (!d.ok) continue
      const id = `${r.topic}-${r.partition}`
      maxByPartition.set(id, Math.max(maxByPartition.get(id) ?? Number.NEGATIVE_INFINITY, d.ts))
    }
    const after = jobWatermark()
    watermarks.push(after)
    for (const { r, d } of decoded) {
      if (!d.ok) {
        dlq[d.reason] = (dlq[d.reason] ?? 0) + 1
        continue
      }
      const late = isLate(d.ts, before)
      if (late !== isLate(d.ts, after)) {
        throw new Error(`phase ${k + 1}: ${r.value} is late or not depending on processing order; fix the dataset`)
      }
      if (late) {
        dlq.late_event = (dlq.late_event ?? 0) + 1
        continue
      }
      const start = windowStart(d.ts)
      const key = `${d.product}\u0000${start}`
      const c = counts.get(key) ?? { product: d.product, start, impressions: 0, clicks: 0 }
      c[r.topic]++
      counts.set(key, c)
    }
  })
  const byProduct = new Map<string, OracleResult[]>()
  for (const c of counts.values()) {
    const list = byProduct.get(c.product) ?? []
    list.push({
      product_id: c.product,
      impressions: c.impressions,
      clicks: c.clicks,
      ctr: c.impressions === 0 ? null : c.clicks / c.impressions,
      window_start: c.start,
      window_end: c.start + S,
    })
    byProduct.set(c.product, list)
  }
  // Built with Object.fromEntries: a product named "__proto__" is an own property, as in the job's hashes.
  const latest: [string, OracleResult][] = []
  const previous: [string, OracleResult][] = []
  for (const [product, list] of byProduct) {
    list.sort((a, b) => b.window_start - a.window_start)
    if (list[0]) latest.push([product, list[0]])
    if (list[1]) previous.push([product, list[1]])
  }
  return { latest: Object.fromEntries(latest), previous: Object.fromEntries(previous), dlq, watermarks }
}
