import type { RawRecord, RepartitionRecord, TopicPartition } from '../connectors/types.js'
import type { WindowKey } from '../state/window-store.js'

/**
 * The wire format of repartition topics.
 *
 * A data record is the original record (key, value bytes, timestamp and headers, untouched) plus
 * `origin.topic`, `origin.partition`, `origin.offset` (where it was read) and `origin.before`: the greatest valid
 * event time of its origin partition before it, so the downstream side judges it against exactly the W(p) a
 * single engine would have. A marker (header `marker`, JSON value) reports the watermark state of the origin
 * partitions one upstream instance owns; it follows the data it covers in every partition.
 */
export const ORIGIN_TOPIC = 'origin.topic'
export const ORIGIN_PARTITION = 'origin.partition'
export const ORIGIN_OFFSET = 'origin.offset'
export const ORIGIN_BEFORE = 'origin.before'
export const MARKER = 'marker'

/** The repartition topic of a keyBy node (Kafka Streams' naming). */
export const repartitionTopic = (applicationId: string, keyBy: string): string =>
  `${applicationId}-${keyBy}-repartition`

/** The partition of a key: FNV-1a of its string form, modulo the partition count. */
export function partitionForKey(key: WindowKey, partitions: number): number {
  const s = typeof key === 'string' ? key : String(key)
  let h = 0x811c9dc5
  for (let i = 0; i < s.length; i++) h = Math.imul(h ^ s.charCodeAt(i), 0x01000193)
  return (h >>> 0) % partitions
}

/** One origin partition's watermark state in a marker. */
export type OriginState = TopicPartition & {
  readonly maxEventTime: number | null
  readonly idle: boolean
  readonly lastEventWallTime: number | null
}

const text = (v: Buffer | string | undefined): string | undefined =>
  v === undefined ? undefined : typeof v === 'string' ? v : v.toString('utf8')

/** The data record sent for `rec` to `partition` of `topic`. */
export function repartitionRecord(rec: RawRecord, topic: string, partition: number, before: number): RepartitionRecord {
  const headers: Record<string, Buffer | string> = {}
  if (rec.headers) for (const [k, v] of Object.entries(rec.headers)) if (v !== undefined) headers[k] = v
  headers[ORIGIN_TOPIC] = rec.topic
  headers[ORIGIN_PARTITION] = String(rec.partition)
  headers[ORIGIN_OFFSET] = String(rec.offset)
  headers[ORIGIN_BEFORE] = Number.isFinite(before) ? String(before) : ''
  return { topic, partition, key: rec.key, value: rec.value, timestamp: rec.timestamp, headers }
}

/**
 * A marker for every partition of `topic`: the watermark state of the origin partitions one upstream instance
 * owns, as of `at` (its wall clock; a downstream task's all-idle advance runs on these times).
 */
export function markerRecords(
  topic: string,
  partitions: number,
  origins: readonly OriginState[],
  at: number,
): RepartitionRecord[] {
  const value = Buffer.from(JSON.stringify({ at, origins }))
  const out: RepartitionRecord[] = []
  for (let p = 0; p < partitions; p++)
    out.push({ topic, partition: p, key: null, value, timestamp: at, headers: { [MARKER]: '1' } })
  return out
}

/** Where a data record came from and its origin's max event time before it; undefined for a marker. */
export type Origin = { topic: string; partition: number; offset: number; before: number }

/** Reads the origin headers of a repartitioned record; throws on a record without them. */
export function originOf(rec: RawRecord): Origin {
  const h = rec.headers ?? {}
  const topic = text(h[ORIGIN_TOPIC])
  const partition = Number(text(h[ORIGIN_PARTITION]))
  const offset = Number(text(h[ORIGIN_OFFSET]))
  const b = text(h[ORIGIN_BEFORE])
  if (topic === undefined || !Number.isInteger(partition) || !Number.isInteger(offset))
    throw new Error(`record ${rec.topic}-${rec.partition}@${rec.offset} has no origin headers`)
  return { topic, partition, offset, before: b ? Number(b) : Number.NEGATIVE_INFINITY }
}

/** True for a marker record (a data record carries origin headers, whatever headers of its own it has). */
export const isMarker = (rec: RawRecord): boolean =>
  rec.headers?.[MARKER] !== undefined && rec.headers[ORIGIN_TOPIC] === undefined

/** What a marker record reports: its upstream time and the origin states. */
export type Marker = { readonly at: number | null; readonly origins: readonly OriginState[] }

/** The content of a marker record. */
export function readMarker(rec: RawRecord): Marker {
  const parsed = JSON.parse(rec.value?.toString('utf8') ?? '{}') as { at?: number; origins?: OriginState[] }
  return { at: typeof parsed.at === 'number' ? parsed.at : null, origins: parsed.origins ?? [] }
}

/** The original record behind a repartitioned one (for dead letters): its topic, partition, offset and headers. */
export function originalRecord(rec: RawRecord): RawRecord {
  const o = originOf(rec)
  const headers: Record<string, Buffer | string | undefined> = {}
  if (rec.headers)
    for (const [k, v] of Object.entries(rec.headers)) if (!k.startsWith('origin.') && k !== MARKER) headers[k] = v
  return {
    topic: o.topic,
    partition: o.partition,
    offset: o.offset,
    key: rec.key,
    value: rec.value,
    timestamp: rec.timestamp,
    headers,
  }
}
