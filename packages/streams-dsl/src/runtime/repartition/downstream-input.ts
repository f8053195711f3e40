/**
 * The downstream side of repartitioning: how an engine that owns one partition of a repartition topic reads
 * it. Records already seen (by origin offset) are dropped, markers update the watermark state of the origin
 * partitions, and each original record is judged against the watermark over its origins, W(origin) raised first
 * to what it was just before the record upstream — as a single engine reading that origin would have judged it.
 */
import type { RawRecord } from '../../connectors/types.js'
import { DecodeError } from '../../core/serde.js'
import { decodeTableRecord } from '../../core/table.js'
import type { EngineCounters, RecordContext } from '../context.js'
import type { DeadLetterRouter } from '../dead-letters.js'
import type { Plan } from '../plan.js'
import type { TaskRegistry } from '../task-registry.js'
import { eventTime } from '../time.js'
import type { PartitionState, WatermarkTracker } from '../watermarks.js'
import { type BundleEntry, readBundle } from './codec.js'

/** What the downstream side shares with its engine. */
export type DownstreamDeps = {
  readonly topologyName: string
  readonly plan: Plan
  readonly tracker: WatermarkTracker
  readonly ctx: RecordContext
  readonly counters: EngineCounters
  readonly tasks: TaskRegistry
  readonly deadLetters: DeadLetterRouter
  /** Fires what the job watermark now allows. */
  readonly advance: () => void
}

/** Reads batches of a repartition partition into the engine's plan. */
export class DownstreamInput {
  constructor(private readonly d: DownstreamDeps) {}

  /** Processes the records of the engine's repartition partition `input`. */
  run(input: PartitionState, records: readonly RawRecord[], now: number): void {
    const skipBelow = input.nextOffset ?? Number.NEGATIVE_INFINITY
    for (let i = 0; i < records.length; i++) {
      const rec = records[i] as RawRecord
      if (rec.offset < skipBelow) continue
      input.nextOffset = rec.offset + 1
      let entries: BundleEntry[]
      try {
        entries = readBundle(rec)
      } catch (e) {
        // a foreign or corrupt record in an internal topic: a dead letter, never a crash loop
        this.d.deadLetters.send('invalid_internal_record', (e as Error).message, rec)
        continue
      }
      for (let j = 0; j < entries.length; j++) this.runEntry(entries[j] as BundleEntry, input, now)
    }
  }

  /** One entry of a bundle: a marker's report, or an original record judged as its own partition would judge it. */
  private runEntry(entry: BundleEntry, input: PartitionState, now: number): void {
    const { tracker, plan, tasks } = this.d
    if ('marker' in entry) {
      const marker = entry.marker
      for (const m of marker.origins) {
        if (!plan.sources.has(m.topic)) continue
        const o = tasks.originOf(m.topic, m.partition, now)
        tracker.mark(o, m.maxEventTime ?? Number.NEGATIVE_INFINITY, m.idle, m.lastEventWallTime, marker.at, now)
      }
      // once the whole report is applied: half of it could look all-idle
      if (tracker.settle(now)) this.d.advance()
      return
    }
    const rec = entry.record
    const source = plan.sources.get(rec.topic)
    if (!source) return
    const o = tasks.originOf(rec.topic, rec.partition, now)
    // a record sent again after an upstream crash: already counted here
    if (o.nextOffset !== null && rec.offset < o.nextOffset) return
    o.nextOffset = rec.offset + 1
    this.d.counters.eventsIn++
    // W(origin) as it was just before this record upstream (usually known already: no work then)
    if (entry.before > o.maxEventTime || o.idle) {
      tracker.mark(o, entry.before, false, null, null, now)
      if (tracker.settle(now)) this.d.advance()
    }
    let value: unknown
    let ts = rec.timestamp
    try {
      const extract = source.node.timestamp as ((v: unknown) => unknown) | undefined
      if (source.node.table === true) {
        const change = decodeTableRecord(source.node.serde, rec)
        value = change
        if (extract !== undefined && change.value !== null) ts = eventTime(extract(change.value), ts)
      } else {
        if (rec.value === null) throw new DecodeError('invalid_json', 'record has no value')
        value = source.node.serde.decode(rec.value)
        if (extract !== undefined) ts = eventTime(extract(value), ts)
      }
    } catch (e) {
      // the upstream side accepted it; a different schema version here cannot
      this.d.deadLetters.send('invalid_event', (e as Error).message, rec)
      return
    }
    const ctx = this.d.ctx
    ctx.ts = ts
    ctx.record = rec
    ctx.partition = input
    try {
      source.push(value)
    } catch (e) {
      this.d.deadLetters.send('processing_error', `${this.d.topologyName}: ${(e as Error).message}`, rec)
    }
    if (tracker.observe(o, ts, now)) this.d.advance()
  }
}
