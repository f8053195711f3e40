import type { TableChange } from '../../core/table.js'
import type { TableJoinNode } from '../../graph/nodes.js'
import type { WindowBucket, WindowKey, WindowStore } from '../../state/window-store.js'
import { type EngineCounters, type OperatorDeps, partitionOf, type RecordContext } from '../context.js'
import type { WatermarkTracker } from '../watermarks.js'
import { HeldOffsets } from './held-offsets.js'
import { MinHeap } from './min-heap.js'
import { insertSorted, lowerBound } from './sorted.js'
import {
  lowerOffsets,
  type OperatorStatus,
  type RestoredEntry,
  type StatefulOperator,
  snapshotStores,
  type TaskBucket,
} from './stateful-operator.js'

/** What the join's input carries: the side a value came from (0: the stream, 1: the table's changes). */
type Tagged = { readonly side: 0 | 1; readonly value: unknown }
type Timer = { readonly task: number; readonly bucket: WindowBucket<unknown> }
type KeyTimer = { readonly task: number; readonly key: WindowKey }

/**
 * A task's state. The table's rows are kept as versions: the value a key was set to at time u (null: deleted)
 * is the entry of that key in the bucket `[u, u + 1)` of `versions`; the stream records waiting for the
 * watermark to pass their time t are the entries (lists of values) of the bucket `[t, t + 2)` of `waiting`, which
 * is how a restore tells the two apart. `times` indexes each key's version times (derived; rebuilt on restore).
 */
type TaskState = {
  readonly versions: WindowStore<unknown>
  readonly waiting: WindowStore<unknown[]>
  readonly times: Map<WindowKey, number[]>
}

/**
 * The stream-table join (see `KeyedStream.join` with a table; Flink's event-time temporal join): a stream record
 * at t is joined with its key's row as of t, the newest version at or before t. A record, or a table change,
 * at t is late when W >= t + L. A record waits until W >= t (none does when it arrives after that), so every
 * change at or before t that is not late has been seen: the result does not depend on the order the inputs are
 * read in. The versions a lookup can still need are kept: per key, the newest at or before W - L (dropped too
 * when it is a deletion) and every later one, since every lookup to come is at a time after W - L.
 */
export class StreamTableJoinOperator implements StatefulOperator {
  /** Where results go; set by the planner. */
  downstream: (value: unknown) => void = () => {}
  /**
   * The watermark this operator was last advanced to: what it judges a value by. The job's W for an operator
   * fed by the input; for one fed by another operator's results, those emitted as W advances reach it before
   * that W does (as Flink forwards a watermark after the records it released), so they are not judged late.
   */
  private inputWatermark = Number.NEGATIVE_INFINITY
  private readonly tasks: TaskState[] = []
  private readonly lateness: number
  private readonly leftJoin: boolean
  private readonly joiner: (value: unknown, row: unknown, key: WindowKey) => unknown
  private readonly tracker: WatermarkTracker
  private readonly ctx: RecordContext
  private readonly counters: EngineCounters
  private readonly late: (message: string) => void
  /** Waiting records' buckets by t. */
  private readonly emitAt = new MinHeap<Timer>()
  /** A key's versions to prune once W >= u + L, for each version time u. */
  private readonly pruneAt = new MinHeap<KeyTimer>()
  /** The lowest offsets the versions and waiting records keep back. */
  private readonly held = new HeldOffsets()

  constructor(
    readonly name: string,
    node: TableJoinNode,
    private readonly keyOf: (value: unknown) => WindowKey,
    private readonly deps: OperatorDeps & {
      resultFailed: (operator: string, result: unknown, error: unknown, ts?: number) => void
    },
  ) {
    this.lateness = node.allowedLateness
    this.leftJoin = node.type === 'left'
    this.joiner = node.joiner as (value: unknown, row: unknown, key: WindowKey) => unknown
    this.tracker = deps.tracker
    this.ctx = deps.ctx
    this.counters = deps.counters
    this.late = deps.late
  }

  private task(task: number): TaskState {
    let s = this.tasks[task]
    if (s === undefined) {
      s = {
        versions: this.deps.state.windowStore(`${this.name}#table`, task),
        waiting: this.deps.state.windowStore(this.name, task),
        times: new Map(),
      }
      this.tasks[task] = s
    }
    return s
  }

  process(tagged: unknown): void {
    const { side, value } = tagged as Tagged
    const key = this.keyOf(tagged)
    const ts = this.ctx.ts
    const W = this.inputWatermark
    if (W >= ts + this.lateness) {
      this.counters.late++
      this.late(
        side === 0
          ? `late event: ${this.name} keeps no table version a record at ${ts} could be joined with (watermark ${W})`
          : `late event: ${this.name} already joined records after this table change at ${ts} (watermark ${W})`,
      )
      return
    }
    const p = partitionOf(this.ctx)
    const s = this.task(p.task)
    const offset = (this.ctx.record as { offset: number } | null)?.offset
    if (side === 1) {
      let b = s.versions.get(ts)
      if (b === undefined) {
        b = s.versions.getOrCreate(ts, ts + 1)
        b.fired = true // a version, not a window: nothing fires
      }
      this.note(s.versions, b, p.slot, offset)
      b.entries.set(key, (value as TableChange<unknown>).value) // a later change at the same time replaces it
      let times = s.times.get(key)
      if (times === undefined) {
        times = []
        s.times.set(key, times)
      }
      insertSorted(times, ts)
      this.pruneAt.push(ts + this.lateness, { task: p.task, key })
      return
    }
    if (W >= ts) {
      this.join(s, key, value, ts)
      return
    }
    let b = s.waiting.get(ts)
    if (b === undefined) {
      b = s.waiting.getOrCreate(ts, ts + 2)
      b.fired = true
      this.emitAt.push(ts, { task: p.task, bucket: b as WindowBucket<unknown> })
    }
    this.note(s.waiting as WindowStore<unknown>, b as WindowBucket<unknown>, p.slot, offset)
    const list = b.entries.get(key)
    if (list === undefined) b.entries.set(key, [value])
    else list.push(value)
  }

  /** Records the offset of a bucket's first record of a slot, as its lowest there. */
  private note(store: WindowStore<unknown>, b: WindowBucket<unknown>, slot: number, offset: number | undefined): void {
    if (offset === undefined || slot < 0 || b.minOffsets[slot] !== undefined) return
    b.minOffsets[slot] = offset
    this.held.add(store, b, slot, offset)
  }

  /** Joins a record at `ts` with its key's row as of `ts`, and hands the result on. */
  private join(s: TaskState, key: WindowKey, value: unknown, ts: number): void {
    const times = s.times.get(key)
    let row: unknown
    if (times !== undefined) {
      const i = lowerBound(times, ts + 1) - 1 // the newest version at or before ts
      if (i >= 0) row = s.versions.get(times[i] as number)?.entries.get(key) ?? undefined
    }
    if (row === undefined && !this.leftJoin) return
    const saved = this.ctx.ts
    this.ctx.ts = ts
    try {
      this.downstream(this.joiner(value, row, key))
    } catch (e) {
      this.deps.resultFailed(this.name, { key, value, row: row ?? null }, e, ts)
    } finally {
      this.ctx.ts = saved
    }
  }

  onWatermark(W: number): void {
    this.inputWatermark = W
    const due: Timer[] = []
    for (let t = this.emitAt.popIfAtMost(W); t !== undefined; t = this.emitAt.popIfAtMost(W))
      if (this.tasks[t.task]?.waiting.get(t.bucket.start) === t.bucket) due.push(t)
    due.sort((a, b) => a.bucket.start - b.bucket.start || a.task - b.task)
    // the waiting records first: pruning at this W may drop a version one of them needs
    for (const { task, bucket } of due) {
      const s = this.tasks[task] as TaskState
      s.waiting.delete(bucket.start)
      for (const [key, list] of bucket.entries as Map<WindowKey, unknown[]>)
        for (const v of list) this.join(s, key, v, bucket.start)
    }
    for (let k = this.pruneAt.popIfAtMost(W); k !== undefined; k = this.pruneAt.popIfAtMost(W))
      this.prune(k.task, k.key, W)
  }

  /** Drops a key's versions no lookup can need any more: those before its newest at or before W - L, and that one if a deletion. */
  private prune(task: number, key: WindowKey, W: number): void {
    const s = this.tasks[task]
    const times = s?.times.get(key)
    if (s === undefined || times === undefined) return
    let keep = lowerBound(times, W - this.lateness + 1) - 1 // the newest at or before W - L
    if (keep < 0) return
    if (s.versions.get(times[keep] as number)?.entries.get(key) === null) keep++ // a deletion: nothing to keep
    for (const u of times.splice(0, keep)) {
      const b = s.versions.get(u)
      if (b === undefined) continue
      b.entries.delete(key)
      if (b.entries.size === 0) s.versions.delete(u)
    }
    if (times.length === 0) s.times.delete(key)
  }

  snapshot(): TaskBucket[] {
    return [...snapshotStores(this.tasks.map((s) => s?.versions)), ...snapshotStores(this.tasks.map((s) => s?.waiting))]
  }

  /** Loads one restored entry: a key's version at a time (a bucket 1 ms long) or its waiting records (2 ms). */
  restore(task: number, e: RestoredEntry): void {
    const s = this.task(task)
    const waiting = e.end - e.start === 2
    const b = (waiting ? s.waiting : s.versions).getOrCreate(e.start, e.end) as WindowBucket<unknown>
    b.fired = true
    b.entries.set(e.key, e.acc)
    lowerOffsets(b.minOffsets, e.minOffsets)
    if (waiting) return
    let times = s.times.get(e.key)
    if (times === undefined) {
      times = []
      s.times.set(e.key, times)
    }
    insertSorted(times, e.start)
  }

  /** Starts the timers of everything restored, then joins and prunes what is due. */
  restored(W: number): void {
    this.inputWatermark = W
    while (this.emitAt.popIfAtMost(Number.POSITIVE_INFINITY) !== undefined);
    while (this.pruneAt.popIfAtMost(Number.POSITIVE_INFINITY) !== undefined);
    this.held.clear()
    this.tasks.forEach((s, task) => {
      if (s === undefined) return
      this.held.addAll(s.versions)
      this.held.addAll(s.waiting as WindowStore<unknown>)
      for (const b of s.waiting.buckets()) this.emitAt.push(b.start, { task, bucket: b as WindowBucket<unknown> })
      for (const [key, times] of s.times) for (const u of times) this.pruneAt.push(u + this.lateness, { task, key })
    })
    this.onWatermark(W)
  }

  dropTask(task: number): void {
    const s = this.tasks[task]
    if (s === undefined) return
    s.versions.clear()
    s.waiting.clear()
    s.times.clear()
  }

  lowestOffsets(low: number[]): void {
    this.held.lower(low)
  }

  /** Versions held and waiting records (one entry per key and time) count as open entries. */
  status(): OperatorStatus {
    let open = 0
    for (const s of this.tasks) {
      if (s === undefined) continue
      for (const b of s.versions.buckets()) open += b.entries.size
      for (const b of s.waiting.buckets()) open += b.entries.size
    }
    return { open, oldest: undefined }
  }
}
