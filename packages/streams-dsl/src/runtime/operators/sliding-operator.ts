import type { Aggregation } from '../../core/aggregation.js'
import type { AggregateNode, WindowNode } from '../../graph/nodes.js'
import type { WindowBucket, WindowKey, WindowStore } from '../../state/window-store.js'
import { type OperatorDeps, partitionOf } from '../context.js'
import { emitWindowed } from './emit-window.js'
import { HeldOffsets } from './held-offsets.js'
import { KeyedWindowBase } from './keyed-window-base.js'
import { MinHeap } from './min-heap.js'
import { insertSortedAt, lowerBound } from './sorted.js'
import {
  bucketsStatus,
  lowerOffsets,
  type OperatorStatus,
  type RestoredEntry,
  type StatefulOperator,
  snapshotStores,
  type TaskBucket,
} from './stateful-operator.js'

type Merge = NonNullable<Aggregation<unknown, unknown, unknown>['merge']>
/** A bucket with its task, as the timers hold it (stale once its store no longer holds that bucket). */
type Timer = { readonly task: number; readonly bucket: WindowBucket<unknown> }

/** A task's state: its windows (by start), its stored records (by timestamp), and each key's stored timestamps. */
type TaskState = {
  /** Window `[e - D, e]` of a key is the entry of that key in the bucket starting at `e - D` (end `e + 1`). */
  readonly windows: WindowStore<unknown>
  /** The accumulator of a key's records at exactly `ts`, in the bucket `[ts, ts + 1)`; always `fired`. */
  readonly events: WindowStore<unknown>
  /** Per key, the timestamps it has stored records at, ascending (derived from `events`; rebuilt on restore). */
  readonly times: Map<WindowKey, number[]>
  /**
   * Per key, the merge of its stored records in each chunk of event time (`CHUNKS_PER_WINDOW` chunks a window),
   * by chunk index; a chunk's entry is dropped whenever a record is stored in it or purged from it. Derived: never
   * checkpointed, rebuilt as needed.
   */
  readonly chunks: Map<WindowKey, Map<number, unknown>>
}

/**
 * A new window merges the key's stored records over its whole span: with many records per key and window (a hot
 * key) that is a merge per record of the span, for every record. Whole chunks of the span use their cached merge
 * instead, so a window costs at most this many chunk merges plus the records of the two chunks it cuts.
 */
const CHUNKS_PER_WINDOW = 32

/**
 * Sliding windows (Kafka Streams' `SlidingWindows`, docs/contract.md §2.6): a record of key k at time t is
 * late when W >= t + D + L, the purge of the last window it can fall into (one ending at t + D); otherwise it is
 * stored by timestamp, updates every held window of k ending in [t, t + D] and, when k has no window ending at
 * t and W < t + L, creates it by merging what k stores in [t - D, t]. Acceptance depends on t and W only, so a
 * replay from the committed offsets (at a watermark at least as high) stores the same records again. A window ending at e fires once W >= e (its `end - 1`), fires again at once when updated after
 * that, and is purged at W >= e + L; a stored record at t is kept until W >= t + D + L, the purge of the last
 * window it can fall into.
 */
export class SlidingOperator extends KeyedWindowBase implements StatefulOperator {
  private readonly tasks: TaskState[] = []
  /** D: a window is [e - D, e]. */
  private readonly diff: number
  private readonly merge: Merge
  /** Windows not fired yet, by `e` (their `end - 1`). */
  private readonly fireAt = new MinHeap<Timer>()
  /** Windows by `e + L`. */
  private readonly purgeAt = new MinHeap<Timer>()
  /** Stored records' buckets by `t + D + L`. */
  private readonly recordsPurgeAt = new MinHeap<Timer>()
  /** The lowest offsets the stored records keep back. */
  private readonly held = new HeldOffsets()
  /** The width of a chunk of cached merges, in ms of event time. */
  private readonly chunkMs: number

  constructor(
    name: string,
    window: WindowNode,
    aggregate: AggregateNode,
    keyOf: (value: unknown) => WindowKey,
    deps: OperatorDeps,
  ) {
    super(name, window, aggregate, keyOf, deps)
    this.diff = window.spec.size
    this.merge = this.agg.merge as Merge // the graph refuses a sliding window over an aggregation without merge
    this.chunkMs = Math.max(1, Math.floor(this.diff / CHUNKS_PER_WINDOW))
  }

  private task(task: number): TaskState {
    let s = this.tasks[task]
    if (s === undefined) {
      s = {
        windows: this.state.windowStore(this.name, task),
        events: this.state.windowStore(`${this.name}#records`, task),
        times: new Map(),
        chunks: new Map(),
      }
      this.tasks[task] = s
    }
    return s
  }

  dropTask(task: number): void {
    const s = this.tasks[task]
    if (s === undefined) return
    s.windows.clear()
    s.events.clear()
    s.times.clear()
    s.chunks.clear()
  }

  process(value: unknown): void {
    const key = this.keyOf(value)
    const ts = this.ctx.ts
    const p = partitionOf(this.ctx)
    const W = this.inputWatermark
    const L = this.lateness
    const D = this.diff
    if (W >= ts + D + L) {
      this.counters.late++
      this.late(`late event: every sliding window that can hold ${ts} was purged at watermark ${ts + D + L}`)
      return
    }
    const s = this.task(p.task)
    const times = s.times.get(key)
    // the key's held windows this record falls into: ending in [ts, ts + D], not yet purged
    const later: WindowBucket<unknown>[] = []
    let own: WindowBucket<unknown> | undefined
    if (times !== undefined) {
      for (let i = lowerBound(times, ts); i < times.length && (times[i] as number) <= ts + D; i++) {
        const e = times[i] as number
        if (W >= e + L) continue
        const b = s.windows.get(e - D)
        if (b === undefined || !b.entries.has(key)) continue
        if (e === ts) own = b
        else later.push(b)
      }
    }
    this.store(s, p.task, key, ts, value, p.slot)
    if (own !== undefined) this.add(own, key, value)
    else if (W < ts + L) this.open(s, p.task, key, ts, W)
    for (const b of later) this.add(b, key, value)
  }

  /** Adds the record to the key's accumulator of its timestamp, and the timestamp to the key's list. */
  private store(s: TaskState, task: number, key: WindowKey, ts: number, value: unknown, slot: number): void {
    const existing = s.events.get(ts)
    const b = existing ?? s.events.getOrCreate(ts, ts + 1)
    if (existing === undefined) {
      b.fired = true
      this.recordsPurgeAt.push(ts + this.diff + this.lateness, { task, bucket: b })
    }
    const rec = this.ctx.record
    if (rec !== null && slot >= 0 && b.minOffsets[slot] === undefined) {
      b.minOffsets[slot] = rec.offset
      this.held.add(s.events, b, slot, rec.offset)
    }
    const acc = b.entries.get(key)
    if (acc === undefined) insertSortedAt(s.times, key, ts)
    s.chunks.get(key)?.delete(Math.floor(ts / this.chunkMs))
    const next = this.agg.add(acc === undefined ? this.agg.init() : acc, value)
    if (acc === undefined || next !== acc) b.entries.set(key, next)
  }

  /** Creates the key's window ending at `e` from what it stores in [e - D, e] (the record at e included). */
  private open(s: TaskState, task: number, key: WindowKey, e: number, W: number): void {
    const times = s.times.get(key) as number[]
    let acc: unknown = this.agg.init()
    const from = e - this.diff
    const w = this.chunkMs
    // in time order: the records of the chunks the span cuts one by one, the chunks it holds whole by their merge
    for (let i = lowerBound(times, from); i < times.length && (times[i] as number) <= e; ) {
      const c = Math.floor((times[i] as number) / w)
      if (c * w >= from && c * w + w - 1 <= e) {
        const next = lowerBound(times, c * w + w)
        acc = this.mergeInto(acc, this.chunk(s, key, c, times, i, next))
        i = next
      } else {
        acc = this.mergeInto(acc, s.events.get(times[i] as number)?.entries.get(key))
        i++
      }
    }
    let b = s.windows.get(from)
    if (b === undefined) {
      b = s.windows.getOrCreate(from, e + 1)
      // a window first seen after its end already passed has nothing pending: it fires at once, as a late firing
      this.schedule(task, b, W)
    }
    b.entries.set(key, acc)
    this.emitIfDue(b, key, acc)
  }

  /**
   * `merge(acc, part)`, never sharing `part`: a merge may hand back one of its inputs (reducing's does for an empty
   * side), and the window must not share a stored or cached accumulator, which a mutating add would then change
   * for both.
   */
  private mergeInto(acc: unknown, part: unknown): unknown {
    const merged = this.merge(acc, part)
    return merged === part && typeof part === 'object' && part !== null ? structuredClone(part) : merged
  }

  /** The merge of the key's stored records in chunk `c` (times[i..end)), cached until the chunk changes. */
  private chunk(s: TaskState, key: WindowKey, c: number, times: readonly number[], i: number, end: number): unknown {
    let byChunk = s.chunks.get(key)
    if (byChunk?.has(c)) return byChunk.get(c)
    let acc: unknown = this.agg.init()
    for (let j = i; j < end; j++) acc = this.mergeInto(acc, s.events.get(times[j] as number)?.entries.get(key))
    if (byChunk === undefined) {
      byChunk = new Map()
      s.chunks.set(key, byChunk)
    }
    byChunk.set(c, acc)
    return acc
  }

  private add(b: WindowBucket<unknown>, key: WindowKey, value: unknown): void {
    const acc = b.entries.get(key)
    const next = this.agg.add(acc, value)
    if (next !== acc) b.entries.set(key, next)
    this.emitIfDue(b, key, next)
  }

  private emitIfDue(b: WindowBucket<unknown>, key: WindowKey, acc: unknown): void {
    if (b.fired) this.emit(b, key, acc, true)
    else if (this.onUpdate) this.emit(b, key, acc, false)
  }

  private emit(b: WindowBucket<unknown>, key: WindowKey, acc: unknown, lateFiring: boolean): void {
    emitWindowed(this.ctx, this.counters, this.downstream, key, b.start, b.end, this.agg.result(acc), lateFiring)
  }

  /** Sets a new window's fired flag from W and starts its timers. */
  private schedule(task: number, b: WindowBucket<unknown>, W: number): void {
    // a window first seen after its end already passed has nothing pending: it fires at once, as a late firing
    b.fired = W >= b.end - 1
    if (!b.fired) this.fireAt.push(b.end - 1, { task, bucket: b })
    this.purgeAt.push(b.end - 1 + this.lateness, { task, bucket: b })
  }

  /** Whether a timer's bucket is still the one its task holds (not purged, not dropped with its task). */
  private holds(t: Timer, records: boolean): boolean {
    const s = this.tasks[t.task]
    return s !== undefined && (records ? s.events : s.windows).get(t.bucket.start) === t.bucket
  }

  onWatermark(W: number): void {
    this.inputWatermark = W
    const due: Timer[] = []
    for (let t = this.fireAt.popIfAtMost(W); t !== undefined; t = this.fireAt.popIfAtMost(W))
      if (!t.bucket.fired && this.holds(t, false)) due.push(t)
    // by end, then by task: the order a scan of the tasks' stores gives
    due.sort((a, b) => a.bucket.end - b.bucket.end || a.task - b.task)
    for (const { bucket } of due) {
      bucket.fired = true
      if (!this.onUpdate) for (const [key, acc] of bucket.entries) this.emit(bucket, key, acc, false)
    }
    for (let t = this.purgeAt.popIfAtMost(W); t !== undefined; t = this.purgeAt.popIfAtMost(W))
      if (this.holds(t, false)) this.tasks[t.task]?.windows.delete(t.bucket.start)
    for (let t = this.recordsPurgeAt.popIfAtMost(W); t !== undefined; t = this.recordsPurgeAt.popIfAtMost(W)) {
      if (!this.holds(t, true)) continue
      const s = this.tasks[t.task] as TaskState
      const b = t.bucket
      s.events.delete(b.start)
      const c = Math.floor(b.start / this.chunkMs)
      for (const key of b.entries.keys()) {
        const times = s.times.get(key)
        if (times === undefined) continue
        times.splice(lowerBound(times, b.start), 1)
        const chunks = s.chunks.get(key)
        chunks?.delete(c)
        if (times.length === 0) {
          s.times.delete(key)
          s.chunks.delete(key)
        }
      }
    }
  }

  /** Loads one restored entry: a stored record accumulator (a bucket one millisecond long) or a window. */
  restore(task: number, e: RestoredEntry): void {
    const s = this.task(task)
    const isRecords = e.end - e.start === 1
    const b = (isRecords ? s.events : s.windows).getOrCreate(e.start, e.end)
    b.fired = e.fired
    b.entries.set(e.key, e.acc)
    lowerOffsets(b.minOffsets, e.minOffsets)
    if (isRecords) {
      insertSortedAt(s.times, e.key, e.start)
      s.chunks.get(e.key)?.delete(Math.floor(e.start / this.chunkMs))
    }
  }

  /** Starts the timers of everything restored (fired flags as restored), then fires and purges what is due. */
  restored(W: number): void {
    this.inputWatermark = W
    while (this.fireAt.popIfAtMost(Number.POSITIVE_INFINITY) !== undefined);
    while (this.purgeAt.popIfAtMost(Number.POSITIVE_INFINITY) !== undefined);
    while (this.recordsPurgeAt.popIfAtMost(Number.POSITIVE_INFINITY) !== undefined);
    this.held.clear()
    this.tasks.forEach((s, task) => {
      if (s === undefined) return
      this.held.addAll(s.events)
      for (const b of s.windows.buckets()) {
        if (!b.fired) this.fireAt.push(b.end - 1, { task, bucket: b })
        this.purgeAt.push(b.end - 1 + this.lateness, { task, bucket: b })
      }
      for (const b of s.events.buckets())
        this.recordsPurgeAt.push(b.start + this.diff + this.lateness, { task, bucket: b })
    })
    this.onWatermark(W)
  }

  snapshot(): TaskBucket[] {
    return [...snapshotStores(this.tasks.map((s) => s?.windows)), ...snapshotStores(this.tasks.map((s) => s?.events))]
  }

  /** The stored records outlive every window they are in: their offsets are the ones still needed. */
  lowestOffsets(low: number[]): void {
    this.held.lower(low)
  }

  /** Open windows (key × window) and the oldest not fired; stored records are not counted. */
  status(): OperatorStatus {
    return bucketsStatus(this.tasks.flatMap((s) => s?.windows.buckets() ?? []))
  }
}
