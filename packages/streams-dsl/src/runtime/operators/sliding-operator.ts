import type { Aggregation } from '../../core/aggregation.js'
import type { AggregateNode, WindowNode } from '../../graph/nodes.js'
import type { WindowBucket, WindowKey, WindowStore } from '../../state/window-store.js'
import type { OperatorDeps, RecordContext } from '../context.js'
import { emitWindowed } from './emit-window.js'
import { KeyedWindowBase } from './keyed-window-base.js'
import {
  bucketsStatus,
  lowestOffsetsOfStores,
  type OperatorStatus,
  type RestoredEntry,
  type StatefulOperator,
  snapshotStores,
  type TaskBucket,
} from './stateful-operator.js'

type Merge = NonNullable<Aggregation<unknown, unknown, unknown>['merge']>

/** A task's state: its windows (by start), its stored records (by timestamp), and each key's stored timestamps. */
type TaskState = {
  /** Window `[e - D, e]` of a key is the entry of that key in the bucket starting at `e - D` (end `e + 1`). */
  readonly windows: WindowStore<unknown>
  /** The accumulator of a key's records at exactly `ts`, in the bucket `[ts, ts + 1)`; always `fired`. */
  readonly events: WindowStore<unknown>
  /** Per key, the timestamps it has stored records at, ascending (derived from `events`; rebuilt on restore). */
  readonly times: Map<WindowKey, number[]>
}

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
  /** Smallest `e` among windows not fired yet. */
  private nextFireAt = Number.POSITIVE_INFINITY
  /** Smallest `e + L` among windows. */
  private nextPurgeAt = Number.POSITIVE_INFINITY
  /** Smallest `t + D + L` among stored records. */
  private nextEventPurgeAt = Number.POSITIVE_INFINITY

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
  }

  private task(task: number): TaskState {
    let s = this.tasks[task]
    if (s === undefined) {
      s = {
        windows: this.state.windowStore(this.name, task),
        events: this.state.windowStore(`${this.name}#records`, task),
        times: new Map(),
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
  }

  process(value: unknown): void {
    const key = this.keyOf(value)
    const ts = this.ctx.ts
    const p = this.ctx.partition as NonNullable<RecordContext['partition']>
    const W = this.tracker.watermark
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
    this.store(s, key, ts, value, p.slot)
    if (own !== undefined) this.add(own, key, value)
    else if (W < ts + L) this.open(s, key, ts, W)
    for (const b of later) this.add(b, key, value)
  }

  /** Adds the record to the key's accumulator of its timestamp, and the timestamp to the key's list. */
  private store(s: TaskState, key: WindowKey, ts: number, value: unknown, slot: number): void {
    const existing = s.events.get(ts)
    const b = existing ?? s.events.getOrCreate(ts, ts + 1)
    if (existing === undefined) {
      b.fired = true
      const purgeAt = ts + this.diff + this.lateness
      if (purgeAt < this.nextEventPurgeAt) this.nextEventPurgeAt = purgeAt
    }
    if (b.minOffsets[slot] === undefined) b.minOffsets[slot] = (this.ctx.record as { offset: number }).offset
    const acc = b.entries.get(key)
    if (acc === undefined) {
      let times = s.times.get(key)
      if (times === undefined) {
        times = []
        s.times.set(key, times)
      }
      times.splice(lowerBound(times, ts), 0, ts)
    }
    const next = this.agg.add(acc === undefined ? this.agg.init() : acc, value)
    if (acc === undefined || next !== acc) b.entries.set(key, next)
  }

  /** Creates the key's window ending at `e` from what it stores in [e - D, e] (the record at e included). */
  private open(s: TaskState, key: WindowKey, e: number, W: number): void {
    const times = s.times.get(key) as number[]
    let acc: unknown = this.agg.init()
    for (let i = lowerBound(times, e - this.diff); i < times.length && (times[i] as number) <= e; i++)
      acc = this.merge(acc, s.events.get(times[i] as number)?.entries.get(key))
    const start = e - this.diff
    let b = s.windows.get(start)
    if (b === undefined) {
      b = s.windows.getOrCreate(start, e + 1)
      // a window first seen after its end already passed has nothing pending: it fires at once, as a late firing
      b.fired = W >= e
      if (!b.fired && e < this.nextFireAt) this.nextFireAt = e
      if (e + this.lateness < this.nextPurgeAt) this.nextPurgeAt = e + this.lateness
    }
    b.entries.set(key, acc)
    this.emitIfDue(b, key, acc)
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

  onWatermark(W: number): void {
    if (W < this.nextFireAt && W < this.nextPurgeAt && W < this.nextEventPurgeAt) return
    let nextFire = Number.POSITIVE_INFINITY
    let nextPurge = Number.POSITIVE_INFINITY
    let nextEventPurge = Number.POSITIVE_INFINITY
    const due: WindowBucket<unknown>[] = []
    for (const s of this.tasks) {
      if (s === undefined) continue
      for (const b of s.windows.buckets()) {
        if (!b.fired && W >= b.end - 1) due.push(b)
        else if (!b.fired && b.end - 1 < nextFire) nextFire = b.end - 1
      }
    }
    due.sort((a, b) => a.end - b.end)
    for (const b of due) {
      b.fired = true
      if (!this.onUpdate) for (const [key, acc] of b.entries) this.emit(b, key, acc, false)
    }
    for (const s of this.tasks) {
      if (s === undefined) continue
      for (const b of s.windows.buckets()) {
        const purgeAt = b.end - 1 + this.lateness
        if (W >= purgeAt) s.windows.delete(b.start)
        else if (purgeAt < nextPurge) nextPurge = purgeAt
      }
      for (const b of s.events.buckets()) {
        const purgeAt = b.start + this.diff + this.lateness
        if (W < purgeAt) {
          if (purgeAt < nextEventPurge) nextEventPurge = purgeAt
          break // ascending starts: the rest are purged later still
        }
        s.events.delete(b.start)
        for (const key of b.entries.keys()) {
          const times = s.times.get(key)
          if (times === undefined) continue
          times.splice(lowerBound(times, b.start), 1)
          if (times.length === 0) s.times.delete(key)
        }
      }
    }
    this.nextFireAt = nextFire
    this.nextPurgeAt = nextPurge
    this.nextEventPurgeAt = nextEventPurge
  }

  /** Loads one restored entry: a stored record accumulator (a bucket one millisecond long) or a window. */
  restore(task: number, e: RestoredEntry): void {
    const s = this.task(task)
    const isRecords = e.end - e.start === 1
    const b = (isRecords ? s.events : s.windows).getOrCreate(e.start, e.end)
    b.fired = e.fired
    b.entries.set(e.key, e.acc)
    e.minOffsets.forEach((o, slot) => {
      const cur = b.minOffsets[slot]
      if (o !== undefined && (cur === undefined || o < cur)) b.minOffsets[slot] = o
    })
    if (isRecords) {
      let times = s.times.get(e.key)
      if (times === undefined) {
        times = []
        s.times.set(e.key, times)
      }
      const i = lowerBound(times, e.start)
      if (times[i] !== e.start) times.splice(i, 0, e.start)
    }
  }

  restored(W: number): void {
    this.nextFireAt = Number.NEGATIVE_INFINITY
    this.nextPurgeAt = Number.NEGATIVE_INFINITY
    this.nextEventPurgeAt = Number.NEGATIVE_INFINITY
    this.onWatermark(W)
  }

  snapshot(): TaskBucket[] {
    return [...snapshotStores(this.tasks.map((s) => s?.windows)), ...snapshotStores(this.tasks.map((s) => s?.events))]
  }

  /** The stored records outlive every window they are in: their offsets are the ones still needed. */
  lowestOffsets(low: number[]): void {
    lowestOffsetsOfStores(
      this.tasks.map((s) => s?.events),
      low,
    )
  }

  /** Open windows (key × window) and the oldest not fired; stored records are not counted. */
  status(): OperatorStatus {
    return bucketsStatus(this.tasks.flatMap((s) => s?.windows.buckets() ?? []))
  }
}

/** The first index of `sorted` whose value is >= `x`. */
function lowerBound(sorted: readonly number[], x: number): number {
  let lo = 0
  let hi = sorted.length
  while (lo < hi) {
    const mid = (lo + hi) >>> 1
    if ((sorted[mid] as number) < x) lo = mid + 1
    else hi = mid
  }
  return lo
}
