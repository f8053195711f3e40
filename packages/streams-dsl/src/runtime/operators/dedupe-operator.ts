import type { DeduplicateNode } from '../../graph/nodes.js'
import type { WindowBucket, WindowKey, WindowStore } from '../../state/window-store.js'
import type { EngineCounters, OperatorDeps, RecordContext } from '../context.js'
import type { WatermarkTracker } from '../watermarks.js'
import { HeldOffsets } from './held-offsets.js'
import { MinHeap } from './min-heap.js'
import {
  lowerOffsets,
  type OperatorStatus,
  type RestoredEntry,
  type StatefulOperator,
  snapshotStores,
  storesStatus,
  type TaskBucket,
} from './stateful-operator.js'

/**
 * `deduplicate({ by, within, allowedLateness })` (see `Stream.deduplicate`): per task, a record whose id was kept
 * at event time `t` with `|ts - t| < within` is a duplicate and dropped (counted in `duplicatesDropped`). A
 * kept id is held until `W >= t + within - 1 + L`; a record that is not a duplicate of any held id while
 * `W >= ts + L` could match an id already purged, so it is late (late-events output, reason `late_event`).
 *
 * The state is kept as window buckets (so snapshots, changelog checkpoints and the committable offsets treat it
 * like window state): one bucket per kept event time `t`, `[t, t + within)`, always `fired`, its entries the ids
 * kept at `t` (value 1); an index id -> kept times per task answers the per-record lookup.
 */
export class DedupeOperator implements StatefulOperator {
  /** Where kept records go; set by the planner. */
  downstream: (value: unknown) => void = () => {}
  /**
   * The watermark this operator was last advanced to: what it judges a value by. The job's W for an operator
   * fed by the input; for one fed by another operator's results, those emitted as W advances reach it before
   * that W does (as Flink forwards a watermark after the records it released), so they are not judged late.
   */
  private inputWatermark = Number.NEGATIVE_INFINITY
  private readonly stores: WindowStore<number>[] = []
  /** Per task: id -> event times at which it was kept (ascending insertion, a handful at most). */
  private readonly index: (Map<WindowKey, number[]> | undefined)[] = []
  private readonly within: number
  private readonly lateness: number
  private readonly by: (value: unknown) => WindowKey
  private readonly tracker: WatermarkTracker
  private readonly ctx: RecordContext
  private readonly counters: EngineCounters
  private readonly late: (message: string) => void
  private readonly deps: OperatorDeps
  /** Purge timers: one per kept time `t` of a task, due at `t + within - 1 + L`. */
  private readonly purgeAt = new MinHeap<{ readonly task: number; readonly bucket: WindowBucket<number> }>()
  /** The lowest offsets the held ids keep back. */
  private readonly held = new HeldOffsets()

  constructor(
    readonly name: string,
    node: DeduplicateNode,
    deps: OperatorDeps,
  ) {
    this.within = node.within
    this.lateness = node.allowedLateness
    this.by = node.by as (value: unknown) => WindowKey
    this.tracker = deps.tracker
    this.ctx = deps.ctx
    this.counters = deps.counters
    this.late = deps.late
    this.deps = deps
  }

  private store(task: number): WindowStore<number> {
    let s = this.stores[task]
    if (s === undefined) {
      s = this.deps.state.windowStore<number>(this.name, task)
      this.stores[task] = s
    }
    return s
  }

  private indexOf(task: number): Map<WindowKey, number[]> {
    let m = this.index[task]
    if (m === undefined) {
      m = new Map()
      this.index[task] = m
    }
    return m
  }

  /** Drops a duplicate, reports a late record, or passes the record on and keeps its id. */
  process(value: unknown): void {
    const id = this.by(value)
    const ts = this.ctx.ts
    const W = this.inputWatermark
    const p = this.ctx.partition as NonNullable<RecordContext['partition']>
    const held = this.index[p.task]?.get(id)
    if (held !== undefined) {
      for (const t of held) {
        // a held time already due for purging counts as purged, whenever the purge runs
        if (W < t + this.within - 1 + this.lateness && Math.abs(ts - t) < this.within) {
          this.counters.duplicatesDropped++
          return
        }
      }
    }
    if (W >= ts + this.lateness) {
      this.counters.late++
      this.late(
        `late event: ${this.name} cannot deduplicate event time ${ts} at watermark ${W} (ids kept before ${W - this.within + 2 - this.lateness} are purged)`,
      )
      return
    }
    this.downstream(value)
    this.keep(p.task, id, ts, (this.ctx.record as { offset: number } | null)?.offset, p.slot)
  }

  private keep(task: number, id: WindowKey, t: number, offset: number | undefined, slot: number): void {
    const b = this.store(task).getOrCreate(t, t + this.within)
    if (!b.fired) {
      b.fired = true // new: its purge timer starts
      this.purgeAt.push(t + this.within - 1 + this.lateness, { task, bucket: b })
    }
    b.entries.set(id, 1)
    if (offset !== undefined && slot >= 0 && b.minOffsets[slot] === undefined) {
      b.minOffsets[slot] = offset
      this.held.add(this.store(task), b, slot, offset)
    }
    const m = this.indexOf(task)
    const times = m.get(id)
    if (times === undefined) m.set(id, [t])
    else if (!times.includes(t)) times.push(t)
  }

  /** Purges the ids whose time `t` has `W >= t + within - 1 + L` (their timers, earliest first). */
  onWatermark(W: number): void {
    this.inputWatermark = W
    for (let e = this.purgeAt.popIfAtMost(W); e !== undefined; e = this.purgeAt.popIfAtMost(W)) {
      const store = this.stores[e.task]
      const b = e.bucket
      if (store === undefined || store.get(b.start) !== b) continue // its task was dropped
      const m = this.index[e.task]
      for (const id of b.entries.keys()) {
        const times = m?.get(id)
        const i = times?.indexOf(b.start) ?? -1
        if (i < 0) continue
        if (times?.length === 1) m?.delete(id)
        else times?.splice(i, 1)
      }
      store.delete(b.start)
    }
  }

  snapshot(): TaskBucket[] {
    return snapshotStores(this.stores)
  }

  restore(task: number, e: RestoredEntry): void {
    const b = this.store(task).getOrCreate(e.start, e.start + this.within)
    b.fired = true // its timer starts in restored()
    b.entries.set(e.key, 1)
    lowerOffsets(b.minOffsets, e.minOffsets)
    const m = this.indexOf(task)
    const times = m.get(e.key)
    if (times === undefined) m.set(e.key, [e.start])
    else if (!times.includes(e.start)) times.push(e.start)
  }

  restored(W: number): void {
    this.inputWatermark = W
    this.held.clear()
    while (this.purgeAt.popIfAtMost(Number.POSITIVE_INFINITY) !== undefined);
    this.stores.forEach((store, task) => {
      if (store === undefined) return
      this.held.addAll(store as WindowStore<unknown>)
      for (const b of store.values()) this.purgeAt.push(b.start + this.within - 1 + this.lateness, { task, bucket: b })
    })
    this.onWatermark(W)
  }

  dropTask(task: number): void {
    this.stores[task]?.clear()
    this.index[task] = undefined
  }

  lowestOffsets(low: number[]): void {
    this.held.lower(low)
  }

  /** Held ids (one per id and kept time) count as open entries; none is a window waiting to fire. */
  status(): OperatorStatus {
    return storesStatus(this.stores)
  }
}
