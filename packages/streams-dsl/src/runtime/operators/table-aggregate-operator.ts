import type { Aggregation } from '../../core/aggregation.js'
import type { TableChange } from '../../core/table.js'
import type { TableAggregateNode } from '../../graph/nodes.js'
import type { WindowKey, WindowStore } from '../../state/window-store.js'
import { noteOffset, type OperatorDeps, partitionOf, type RecordContext } from '../context.js'
import {
  lowerOffsets,
  lowestOffsetsOfStores,
  type OperatorStatus,
  type RestoredEntry,
  type StatefulOperator,
  snapshotStores,
  type TaskBucket,
} from './stateful-operator.js'

/** The one bucket of a task's running results: every key's accumulator (a window over all time). */
const ALL_TIME = { start: 0, end: 1 } as const

/**
 * An aggregation over all time (`keyBy(fn).aggregate(...)` with no window): per task, every key's accumulator
 * in one bucket; each record updates its key's and hands the new result on as a `TableChange` with the
 * record's event time. Nothing is late or purged; the state is checkpointed with the task (the bucket's lowest
 * offsets stay at the first record, so without checkpoints a restart reads every partition from its start).
 */
export class TableAggregateOperator implements StatefulOperator {
  /** Where results go; set by the planner. */
  downstream: (value: unknown) => void = () => {}
  private readonly stores: (WindowStore<unknown> | undefined)[] = []
  private readonly agg: Aggregation<unknown, unknown, unknown>
  private readonly ctx: RecordContext

  constructor(
    readonly name: string,
    node: TableAggregateNode,
    private readonly keyOf: (value: unknown) => WindowKey,
    private readonly deps: OperatorDeps,
  ) {
    this.agg = node.aggregation as Aggregation<unknown, unknown, unknown>
    this.ctx = deps.ctx
  }

  private store(task: number): WindowStore<unknown> {
    let s = this.stores[task]
    if (s === undefined) {
      s = this.deps.state.windowStore(this.name, task)
      this.stores[task] = s
    }
    return s
  }

  process(value: unknown): void {
    const key = this.keyOf(value)
    const p = partitionOf(this.ctx)
    const store = this.store(p.task)
    let b = store.get(ALL_TIME.start)
    if (b === undefined) {
      b = store.getOrCreate(ALL_TIME.start, ALL_TIME.end)
      b.fired = true
    }
    noteOffset(this.ctx, b.minOffsets, p.slot)
    const acc = b.entries.get(key)
    const next = this.agg.add(acc === undefined ? this.agg.init() : acc, value)
    if (acc === undefined || next !== acc) b.entries.set(key, next)
    const change: TableChange<unknown> = { key: String(key), value: this.agg.result(next) }
    this.downstream(change)
  }

  onWatermark(): void {}

  snapshot(): TaskBucket[] {
    return snapshotStores(this.stores)
  }

  restore(task: number, e: RestoredEntry): void {
    const b = this.store(task).getOrCreate(e.start, e.end)
    b.fired = true
    b.entries.set(e.key, e.acc)
    lowerOffsets(b.minOffsets, e.minOffsets)
  }

  restored(): void {}

  dropTask(task: number): void {
    this.stores[task]?.clear()
  }

  lowestOffsets(low: number[]): void {
    lowestOffsetsOfStores(this.stores, low)
  }

  /** Keys held count as open entries; none waits to fire. */
  status(): OperatorStatus {
    let open = 0
    for (const s of this.stores) if (s !== undefined) for (const b of s.buckets()) open += b.entries.size
    return { open, oldest: undefined }
  }
}
