import type { RawRecord, RepartitionRecord, TopicPartition } from '../connectors/types.js'
import type { WindowKey } from '../state/window-store.js'

/**
 * The wire format of repartition topics.
 *
 * A data record is the original record — key, timestamp and headers untouched — whose value is the original
 * value behind a small binary prefix saying where it was read and what its origin partition had seen before it:
 *
 *   [0] 0xD1 (magic)   [1] flags (1: the original value was null)   [2] n   [3, 3+n) origin topic (UTF-8)
 *   u32 origin partition   f64 origin offset   f64 `before`: the greatest valid event time of the origin
 *   partition before it (-Infinity before the first)   then the original value bytes
 *
 * (so the downstream side judges it against exactly the W(p) a single engine would have). No headers are added:
 * the client converts each header to and from an object, which cost more than the rest of the hop. A marker
 * (header `marker`, JSON value starting with `{`) reports the watermark state of the origin partitions one
 * upstream instance owns; it follows the data it covers in every partition.
 */
export const MARKER = 'marker'
const MAGIC = 0xd1
const NULL_VALUE = 1
/** Headers of the previous wire format (origin.* headers, value untouched): still read. */
const LEGACY_ORIGIN_TOPIC = 'origin.topic'

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
  const original = rec.value
  const n = Buffer.byteLength(rec.topic)
  const head = 3 + n + 20
  const value = Buffer.allocUnsafe(head + (original?.length ?? 0))
  value[0] = MAGIC
  value[1] = original === null ? NULL_VALUE : 0
  value[2] = n
  value.write(rec.topic, 3, 'utf8')
  value.writeUInt32LE(rec.partition, 3 + n)
  value.writeDoubleLE(rec.offset, 7 + n)
  value.writeDoubleLE(before, 15 + n)
  original?.copy(value, head)
  const out: { -readonly [K in keyof RepartitionRecord]: RepartitionRecord[K] } = {
    topic,
    partition,
    key: rec.key,
    value,
    timestamp: rec.timestamp,
  }
  if (rec.headers) {
    const headers: Record<string, Buffer | string> = {}
    for (const [k, v] of Object.entries(rec.headers)) if (v !== undefined) headers[k] = v
    out.headers = headers
  }
  return out
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

/** Where a data record came from, its origin's max event time before it, and the original value. */
export type Origin = { topic: string; partition: number; offset: number; before: number; value: Buffer | null }

/** A record of a repartition topic that is neither data nor a marker (a foreign or corrupt record). */
export class NotARepartitionRecord extends Error {
  override readonly name = 'NotARepartitionRecord'
}

/** Reads the origin of a repartitioned data record; throws {@link NotARepartitionRecord} on anything else. */
export function originOf(rec: RawRecord): Origin {
  const v = rec.value
  if (v !== null && v.length >= 23 && v[0] === MAGIC) {
    const n = v[2] as number
    const head = 3 + n + 20
    if (v.length >= head) {
      return {
        topic: v.toString('utf8', 3, 3 + n),
        partition: v.readUInt32LE(3 + n),
        offset: v.readDoubleLE(7 + n),
        before: v.readDoubleLE(15 + n),
        value: (v[1] as number) & NULL_VALUE ? null : v.subarray(head),
      }
    }
  }
  const legacy = legacyOrigin(rec)
  if (legacy) return legacy
  throw new NotARepartitionRecord(
    `record ${rec.topic}-${rec.partition}@${rec.offset} is not a repartitioned record (no origin prefix)`,
  )
}

function legacyOrigin(rec: RawRecord): Origin | undefined {
  const h = rec.headers ?? {}
  const topic = text(h[LEGACY_ORIGIN_TOPIC])
  const partition = Number(text(h['origin.partition']))
  const offset = Number(text(h['origin.offset']))
  const b = text(h['origin.before'])
  if (topic === undefined || !Number.isInteger(partition) || !Number.isInteger(offset)) return undefined
  return { topic, partition, offset, before: b ? Number(b) : Number.NEGATIVE_INFINITY, value: rec.value }
}

/** True for a marker record (a data record starts with the magic byte, whatever headers of its own it has). */
export const isMarker = (rec: RawRecord): boolean =>
  rec.headers?.[MARKER] !== undefined &&
  rec.value?.[0] === 0x7b && // '{'
  rec.headers[LEGACY_ORIGIN_TOPIC] === undefined

/** What a marker record reports: its upstream time and the origin states. */
export type Marker = { readonly at: number | null; readonly origins: readonly OriginState[] }

/** The content of a marker record. */
export function readMarker(rec: RawRecord): Marker {
  const parsed = JSON.parse(rec.value?.toString('utf8') ?? '{}') as { at?: number; origins?: OriginState[] }
  return { at: typeof parsed.at === 'number' ? parsed.at : null, origins: parsed.origins ?? [] }
}

/** The original record behind a repartitioned one (for dead letters): its topic, partition, offset, value, headers. */
export function originalRecord(rec: RawRecord): RawRecord {
  const o = originOf(rec)
  const out: { -readonly [K in keyof RawRecord]: RawRecord[K] } = {
    topic: o.topic,
    partition: o.partition,
    offset: o.offset,
    key: rec.key,
    value: o.value,
    timestamp: rec.timestamp,
  }
  if (rec.headers) {
    const headers: Record<string, Buffer | string | undefined> = {}
    for (const [k, v] of Object.entries(rec.headers)) if (!k.startsWith('origin.')) headers[k] = v
    out.headers = headers
  }
  return out
}
