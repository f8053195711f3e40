import type { TableChange } from '../../core/table.js'
import type { TableJoinNode } from '../../graph/nodes.js'
import type { WindowBucket, WindowKey, WindowStore } from '../../state/window-store.js'
import { partitionOf } from '../context.js'
import { JoinBase, type JoinDeps, type JoinStores, type Timer } from './join-base.js'
import { MinHeap } from './min-heap.js'
import { insertSortedAt, lowerBound } from './sorted.js'
import type { StatefulOperator } from './stateful-operator.js'

/** What the join's input carries: the side a value came from (0: the stream, 1: the table's changes). */
type Tagged = { readonly side: 0 | 1; readonly value: unknown }
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
export class StreamTableJoinOperator extends JoinBase<TaskState> implements StatefulOperator {
  /** Waiting records' buckets by t. */
  private readonly emitAt = new MinHeap<Timer>()
  /** A key's versions to prune once W >= u + L, for each version time u. */
  private readonly pruneAt = new MinHeap<KeyTimer>()

  constructor(name: string, node: TableJoinNode, keyOf: (value: unknown) => WindowKey, deps: JoinDeps) {
    super(name, node, keyOf, deps)
  }

  protected open(task: number): TaskState {
    return {
      versions: this.state.windowStore(`${this.name}#table`, task),
      waiting: this.state.windowStore(this.name, task),
      times: new Map(),
    }
  }

  protected stores(s: TaskState): JoinStores {
    return [s.versions, s.waiting as WindowStore<unknown>]
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
      insertSortedAt(s.times, key, ts)
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

  /** Joins a record at `ts` with its key's row as of `ts`, and hands the result on. */
  private join(s: TaskState, key: WindowKey, value: unknown, ts: number): void {
    const times = s.times.get(key)
    let row: unknown
    if (times !== undefined) {
      const i = lowerBound(times, ts + 1) - 1 // the newest version at or before ts
      if (i >= 0) row = s.versions.get(times[i] as number)?.entries.get(key) ?? undefined
    }
    if (row === undefined && !this.leftJoin) return
    this.emit(value, row, key, ts)
  }

  onWatermark(W: number): void {
    this.inputWatermark = W
    const due = this.due(this.emitAt, W, (s) => s.waiting as WindowStore<unknown>)
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

  protected failed(value: unknown, row: unknown, key: WindowKey): unknown {
    return { key, value, row: row ?? null }
  }

  /** A restored key's version at a time is in a bucket 1 ms long, its waiting records in one 2 ms long. */
  protected indexRestored(s: TaskState, key: WindowKey, start: number, waiting: boolean): void {
    if (!waiting) insertSortedAt(s.times, key, start)
  }

  protected timers(): readonly MinHeap<unknown>[] {
    return [this.emitAt, this.pruneAt]
  }

  /** Joins each waiting record at its time, and prunes each key's versions as they fall behind. */
  protected startTimers(s: TaskState, task: number): void {
    for (const b of s.waiting.buckets()) this.emitAt.push(b.start, { task, bucket: b as WindowBucket<unknown> })
    for (const [key, times] of s.times) for (const u of times) this.pruneAt.push(u + this.lateness, { task, key })
  }
}
