/**
 * The upstream side of repartitioning: a keyBy node of an upstream engine hands each key here instead of to a
 * window, and the current record goes to the key's partition of the keyBy's repartition topic (once per
 * partition per record), stamped with its origin partition's max event time before it.
 */
import type { RawRecord, RepartitionRecord } from '../../connectors/types.js'
import type { RecordContext } from '../context.js'
import type { DeadLetterRouter } from '../dead-letters.js'
import type { RepartitionTopic } from '../types.js'
import type { PartitionState } from '../watermarks.js'
import {
  DEFAULT_MAX_MESSAGE_BYTES,
  maxValueBytes,
  partitionForKey,
  repartitionRecord,
  soloBundleBytes,
} from './codec.js'

/** Collects the records an upstream engine's operation routes to its repartition topics. */
export class UpstreamRouter {
  /** Records routed by the current operation. */
  private routed: RepartitionRecord[] = []
  private routedRecord: RawRecord | null = null
  /** Partitions the current record was routed to, as `topic index * 2^20 + partition`. */
  private routedTo: number[] = []

  constructor(
    private readonly ctx: RecordContext,
    private readonly deadLetters: DeadLetterRouter,
  ) {}

  /** Sends the current record to the partition of `key` in topic `t` (the `index`-th of the wiring). */
  route(t: RepartitionTopic, index: number, key: string | number): void {
    const rec = this.ctx.record as RawRecord
    const partition = partitionForKey(key, t.partitions)
    const id = index * 0x100000 + partition
    if (this.routedRecord !== rec) {
      this.routedRecord = rec
      this.routedTo = []
    } else if (this.routedTo.includes(id)) return
    this.routedTo.push(id)
    const p = this.ctx.partition as PartitionState
    const routed = repartitionRecord(rec, t.topic, partition, p.maxEventTime)
    const limit = t.maxMessageBytes ?? DEFAULT_MAX_MESSAGE_BYTES
    const max = maxValueBytes(limit)
    // most records are far below the limit: the exact size only when it may matter
    const approx = (rec.value?.length ?? 0) + (rec.key?.length ?? 0) + 4096
    if ((approx > max || rec.headers !== undefined) && soloBundleBytes(routed) > max) {
      // every partition of the topic has the same limit: one dead letter for the record
      const tooLarge = index * 0x100000 + 0xfffff
      if (this.routedTo.includes(tooLarge)) return
      this.routedTo.push(tooLarge)
      this.deadLetters.send(
        'record_too_large',
        `record of ${soloBundleBytes(routed)} bytes (key, value and headers) cannot be routed through repartition topic ${t.topic}, which accepts records of at most ${limit} bytes (max.message.bytes); raise that limit to repartition such records`,
        rec,
      )
      return
    }
    this.routed.push(routed)
  }

  /** The records routed since the last call, taken (undefined when none). */
  take(): RepartitionRecord[] | undefined {
    if (this.routed.length === 0) return undefined
    const out = this.routed
    this.routed = []
    this.routedRecord = null
    return out
  }
}
