import type { Aggregation } from '../../core/aggregation.js'
import type { TableChange } from '../../core/table.js'
import type { TableAggregateNode } from '../../graph/nodes.js'
import type { WindowKey } from '../../state/window-store.js'
import { noteOffset, type OperatorDeps, partitionOf, type RecordContext } from '../context.js'
import { AllTimeState } from './all-time-state.js'
import type { OperatorStatus, RestoredEntry, StatefulOperator, TaskBucket } from './stateful-operator.js'

/**
 * An aggregation over all time (`keyBy(fn).aggregate(...)` with no window): per task, every key's accumulator
 * in one bucket; each record updates its key's and hands the new result on as a `TableChange` with the
 * record's event time. Nothing is late or purged; the state is checkpointed with the task (the bucket's lowest
 * offsets stay at the first record, so without checkpoints a restart reads every partition from its start).
 */
export class TableAggregateOperator implements StatefulOperator {
  /** Where results go; set by the planner. */
  downstream: (value: unknown) => void = () => {}
  private readonly state: AllTimeState<unknown>
  private readonly agg: Aggregation<unknown, unknown, unknown>
  private readonly ctx: RecordContext

  constructor(
    readonly name: string,
    node: TableAggregateNode,
    private readonly keyOf: (value: unknown) => WindowKey,
    deps: OperatorDeps,
  ) {
    this.agg = node.aggregation as Aggregation<unknown, unknown, unknown>
    this.ctx = deps.ctx
    this.state = new AllTimeState(name, deps)
  }

  process(value: unknown): void {
    const key = this.keyOf(value)
    const p = partitionOf(this.ctx)
    const b = this.state.bucket(p.task)
    noteOffset(this.ctx, b.minOffsets, p.slot)
    const acc = b.entries.get(key)
    const next = this.agg.add(acc === undefined ? this.agg.init() : acc, value)
    if (acc === undefined || next !== acc) b.entries.set(key, next)
    const change: TableChange<unknown> = { key: String(key), value: this.agg.result(next) }
    this.downstream(change)
  }

  onWatermark(): void {}

  snapshot(): TaskBucket[] {
    return this.state.snapshot()
  }

  restore(task: number, e: RestoredEntry): void {
    this.state.restore(task, e)
  }

  restored(): void {}

  dropTask(task: number): void {
    this.state.dropTask(task)
  }

  lowestOffsets(low: number[]): void {
    this.state.lowestOffsets(low)
  }

  /** Keys held count as open entries; none waits to fire. */
  status(): OperatorStatus {
    return this.state.status()
  }
}
