import type { RawRecord, RepartitionRecord, TopicPartition } from '../../connectors/types.js'
import type { WindowKey } from '../../state/window-store.js'

/**
 * The wire format of repartition topics: bundles. A Kafka record of a repartition topic carries many routed
 * records of one partition, in order — each the original record (topic, partition and offset where it was read,
 * key, value, timestamp and headers, untouched) with `before`, the greatest valid event time of its origin
 * partition before it (so the downstream side judges it against exactly the W(p) a single engine would have) —
 * and the watermark markers among them (the watermark state of the origin partitions one upstream instance
 * owns, as of its wall clock), which follow the data they cover.
 *
 * Why bundles: the client's per-record cost (an object and two buffers per message, each way) was the cost of
 * the hop; one Kafka record per few hundred routed records makes it a fraction of reading the source.
 *
 *   u8 0xB1  u8 version (1)  u8 topic count, then per topic: u8 length + UTF-8 name   u32 entry count
 *   entry: u8 kind
 *     1 data:   u8 topic index  u32 partition  f64 offset  f64 before  f64 timestamp
 *               i32 key length (-1: null) + key   i32 value length (-1: null) + value
 *               u16 header count, per header: u16 name length + name, u8 1 if a string, i32 length + value
 *     2 marker: u32 length + the marker's JSON
 *
 * A bundle's Kafka timestamp is the time it was written (not event time: retention must not delete a backfill's
 * bundles before they are read). Records of the previous format (one record per Kafka record with `origin.*`
 * headers, markers with a `marker` header) are still read.
 */
const MAGIC = 0xb1
const VERSION = 1
const DATA = 1
const MARKER_ENTRY = 2
/** A bundle is cut at this many bytes or entries (well below the brokers' default 1 MiB record limit). */
const BUNDLE_BYTES = 256 * 1024
/** The brokers' default record limit (`message.max.bytes`, every topic's default `max.message.bytes`). */
export const DEFAULT_MAX_MESSAGE_BYTES = 1_048_588

/**
 * The largest value a record may have to be accepted by a topic of `max.message.bytes` = `limit` whatever the
 * producer's compression does to it: the limit applies to the batch as stored, so this leaves room for the
 * batch and record framing (and headers of `headerBytes`) and for lz4's growth on data that does not compress.
 */
export const maxValueBytes = (limit: number, headerBytes = 0): number =>
  limit - 512 - headerBytes - Math.ceil(limit / 200)

/** A routed record too large for any bundle of its topic (the engine dead-letters it instead). */
export class RecordTooLargeError extends Error {
  override readonly name = 'RecordTooLargeError'
}
const BUNDLE_ENTRIES = 2000
/** Header of a marker of the previous format. */
const LEGACY_MARKER = 'marker'
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

/** The routed record sent for `rec` to `partition` of `topic` (nothing is copied: it is encoded when written). */
export function repartitionRecord(rec: RawRecord, topic: string, partition: number, before: number): RepartitionRecord {
  return { topic, partition, record: rec, before }
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
  const marker = Buffer.from(JSON.stringify({ at, origins }))
  const out: RepartitionRecord[] = []
  for (let p = 0; p < partitions; p++) out.push({ topic, partition: p, marker })
  return out
}

/** One bundle to write: a Kafka record's value, for one partition of one repartition topic. */
export type Bundle = { readonly topic: string; readonly partition: number; readonly value: Buffer }

const bytes = (v: Buffer | string | null | undefined): number =>
  v === null || v === undefined ? 0 : typeof v === 'string' ? Buffer.byteLength(v) : v.length

/** Bytes of a bundle holding only `r` (what the topic must accept for it to be routed at all). */
export function soloBundleBytes(r: RepartitionRecord): number {
  return 2 + 1 + 4 + entrySize(r) + ('record' in r ? 1 + Buffer.byteLength(r.record.topic) : 0)
}

/**
 * Encodes routed records and markers as bundles, per partition, in order. No bundle's value is larger than
 * `maxBytes` (default: what a topic of the broker default `max.message.bytes` accepts, see {@link maxValueBytes});
 * an entry that cannot fit a bundle alone throws {@link RecordTooLargeError} (the engine never routes one).
 */
export function encodeBundles(
  records: readonly RepartitionRecord[],
  maxBytes = maxValueBytes(DEFAULT_MAX_MESSAGE_BYTES),
): Bundle[] {
  const target = Math.min(BUNDLE_BYTES, maxBytes)
  const byPartition = new Map<string, RepartitionRecord[]>()
  for (const r of records) {
    const k = `${r.topic}\u0000${r.partition}`
    const list = byPartition.get(k)
    if (list) list.push(r)
    else byPartition.set(k, [r])
  }
  const out: Bundle[] = []
  for (const list of byPartition.values()) {
    let from = 0
    while (from < list.length) {
      // the exact encoded size: header, topic table, entries
      let size = 2 + 1 + 4
      const topics = new Set<string>()
      let to = from
      while (to < list.length && to - from < BUNDLE_ENTRIES && (to === from || size < target)) {
        const r = list[to] as RepartitionRecord
        let add = entrySize(r)
        if ('record' in r && !topics.has(r.record.topic)) add += 1 + Buffer.byteLength(r.record.topic)
        if (size + add > maxBytes) {
          if (to > from) break
          throw new RecordTooLargeError(
            `a routed record of ${add} bytes does not fit a bundle of ${r.topic} (at most ${maxBytes} bytes)`,
          )
        }
        if ('record' in r) topics.add(r.record.topic)
        size += add
        to++
      }
      const first = list[from] as RepartitionRecord
      out.push({ topic: first.topic, partition: first.partition, value: encodeBundle(list, from, to) })
      from = to
    }
  }
  return out
}

function entrySize(r: RepartitionRecord): number {
  if ('marker' in r) return 5 + r.marker.length
  const rec = r.record
  let n = 1 + 1 + 4 + 8 + 8 + 8 + 4 + bytes(rec.key) + 4 + bytes(rec.value) + 2
  if (rec.headers)
    for (const [k, v] of Object.entries(rec.headers))
      if (v !== undefined) n += 2 + Buffer.byteLength(k) + 1 + 4 + bytes(v)
  return n
}

function encodeBundle(list: readonly RepartitionRecord[], from: number, to: number): Buffer {
  const topics: string[] = []
  const index = new Map<string, number>()
  let size = 2 + 1 + 4
  for (let i = from; i < to; i++) {
    const r = list[i] as RepartitionRecord
    size += entrySize(r)
    if ('record' in r && !index.has(r.record.topic)) {
      index.set(r.record.topic, topics.length)
      topics.push(r.record.topic)
      size += 1 + Buffer.byteLength(r.record.topic)
    }
  }
  const b = Buffer.allocUnsafe(size)
  let at = 0
  b[at++] = MAGIC
  b[at++] = VERSION
  b[at++] = topics.length
  for (const t of topics) {
    const n = b.write(t, at + 1, 'utf8')
    b[at] = n
    at += 1 + n
  }
  at = b.writeUInt32LE(to - from, at)
  const put = (v: Buffer | string | null | undefined, width: 2 | 4) => {
    if (v === null || v === undefined) {
      at = b.writeInt32LE(-1, at)
      return
    }
    const n = typeof v === 'string' ? b.write(v, at + width, 'utf8') : v.copy(b, at + width)
    at = width === 2 ? b.writeUInt16LE(n, at) : b.writeInt32LE(n, at)
    at += n
  }
  for (let i = from; i < to; i++) {
    const r = list[i] as RepartitionRecord
    if ('marker' in r) {
      b[at++] = MARKER_ENTRY
      at = b.writeUInt32LE(r.marker.length, at)
      at += r.marker.copy(b, at)
      continue
    }
    const rec = r.record
    b[at++] = DATA
    b[at++] = index.get(rec.topic) as number
    at = b.writeUInt32LE(rec.partition, at)
    at = b.writeDoubleLE(rec.offset, at)
    at = b.writeDoubleLE(r.before, at)
    at = b.writeDoubleLE(rec.timestamp, at)
    put(rec.key, 4)
    put(rec.value, 4)
    const headers = rec.headers ? Object.entries(rec.headers).filter(([, v]) => v !== undefined) : []
    at = b.writeUInt16LE(headers.length, at)
    for (const [k, v] of headers) {
      put(k, 2)
      b[at++] = typeof v === 'string' ? 1 : 0
      put(v, 4)
    }
  }
  return at === size ? b : b.subarray(0, at)
}

/** What a marker reports: its upstream time and the origin states. */
export type Marker = { readonly at: number | null; readonly origins: readonly OriginState[] }

/** One entry of a bundle: an original record with its origin's W(p) input, or a marker. */
export type BundleEntry = { readonly record: RawRecord; readonly before: number } | { readonly marker: Marker }

/** A record of a repartition topic that is neither a bundle nor of the previous format (foreign or corrupt). */
export class NotARepartitionRecord extends Error {
  override readonly name = 'NotARepartitionRecord'
}

/** The entries of a record of a repartition topic, in order; throws {@link NotARepartitionRecord} on anything else. */
export function readBundle(rec: RawRecord): BundleEntry[] {
  const b = rec.value
  if (b === null || b.length < 7 || b[0] !== MAGIC) return [legacyEntry(rec)]
  const where = `record ${rec.topic}-${rec.partition}@${rec.offset}`
  try {
    if (b[1] !== VERSION)
      throw new NotARepartitionRecord(`${where} has bundle version ${b[1]}, this job reads ${VERSION}`)
    let at = 2
    const topics: string[] = []
    for (let n = b[at++] as number; n > 0; n--) {
      const len = b[at] as number
      topics.push(b.toString('utf8', at + 1, at + 1 + len))
      at += 1 + len
    }
    const count = b.readUInt32LE(at)
    at += 4
    // every entry takes at least 5 bytes: a larger count is a corrupt (or foreign) record
    if (count > (b.length - at) / 5) throw new RangeError(`${count} entries in ${b.length} bytes`)
    const take = (width: 2 | 4): Buffer | null => {
      const n = width === 2 ? b.readUInt16LE(at) : b.readInt32LE(at)
      at += width
      if (n < 0) return null
      if (at + n > b.length) throw new RangeError('truncated')
      const v = b.subarray(at, at + n)
      at += n
      return v
    }
    const out: BundleEntry[] = new Array(count)
    for (let i = 0; i < count; i++) {
      const kind = b[at++]
      if (kind === MARKER_ENTRY) {
        const n = b.readUInt32LE(at)
        at += 4
        out[i] = { marker: parseMarker(b.subarray(at, at + n)) }
        at += n
        continue
      }
      if (kind !== DATA) throw new NotARepartitionRecord(`${where}: unknown entry kind ${kind}`)
      const topic = topics[b[at++] as number]
      if (topic === undefined) throw new NotARepartitionRecord(`${where}: unknown topic index`)
      const partition = b.readUInt32LE(at)
      const offset = b.readDoubleLE(at + 4)
      const before = b.readDoubleLE(at + 12)
      const timestamp = b.readDoubleLE(at + 20)
      at += 28
      const key = take(4)
      const value = take(4)
      const nHeaders = b.readUInt16LE(at)
      at += 2
      const record: { -readonly [K in keyof RawRecord]: RawRecord[K] } = {
        topic,
        partition,
        offset,
        key,
        value,
        timestamp,
      }
      if (nHeaders > 0) {
        const headers: Record<string, Buffer | string> = Object.create(null)
        for (let h = 0; h < nHeaders; h++) {
          const name = (take(2) as Buffer).toString('utf8')
          const isString = b[at++] === 1
          const v = take(4) as Buffer
          headers[name] = isString ? v.toString('utf8') : v
        }
        record.headers = headers
      }
      out[i] = { record, before }
    }
    return out
  } catch (e) {
    if (e instanceof NotARepartitionRecord) throw e
    throw new NotARepartitionRecord(`${where} is a corrupt bundle (${(e as Error).message})`)
  }
}

function parseMarker(json: Buffer | null): Marker {
  const parsed = JSON.parse(json?.toString('utf8') ?? '{}') as { at?: number; origins?: OriginState[] }
  if (!Array.isArray(parsed.origins)) throw new RangeError('a marker without origins')
  return { at: typeof parsed.at === 'number' ? parsed.at : null, origins: parsed.origins }
}

/** A record of the previous format: one routed record with `origin.*` headers, or a marker. */
function legacyEntry(rec: RawRecord): BundleEntry {
  const h = rec.headers ?? {}
  const topic = text(h[LEGACY_ORIGIN_TOPIC])
  if (topic === undefined && h[LEGACY_MARKER] !== undefined) {
    try {
      return { marker: parseMarker(rec.value) }
    } catch (e) {
      throw new NotARepartitionRecord(
        `record ${rec.topic}-${rec.partition}@${rec.offset}: bad marker (${(e as Error).message})`,
      )
    }
  }
  const partition = Number(text(h['origin.partition']))
  const offset = Number(text(h['origin.offset']))
  const b = text(h['origin.before'])
  if (topic === undefined || !Number.isInteger(partition) || !Number.isInteger(offset))
    throw new NotARepartitionRecord(
      `record ${rec.topic}-${rec.partition}@${rec.offset} is not a repartition bundle (written by something else?)`,
    )
  const headers: Record<string, Buffer | string | undefined> = {}
  for (const [k, v] of Object.entries(h)) if (!k.startsWith('origin.')) headers[k] = v
  return {
    record: { topic, partition, offset, key: rec.key, value: rec.value, timestamp: rec.timestamp, headers },
    before: b ? Number(b) : Number.NEGATIVE_INFINITY,
  }
}
