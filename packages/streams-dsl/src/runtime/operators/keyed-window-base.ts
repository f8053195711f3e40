import type { Aggregation } from '../../core/aggregation.js'
import type { AggregateNode, WindowNode } from '../../graph/nodes.js'
import type { StateBackend } from '../../state/state-backend.js'
import type { WindowKey } from '../../state/window-store.js'
import type { EngineCounters, OperatorDeps, RecordContext } from '../context.js'
import type { WatermarkTracker } from '../watermarks.js'
import {
  lowestOffsetsOfStores,
  type OperatorStatus,
  snapshotStores,
  storesStatus,
  type TaskBucket,
  type TaskStores,
} from './stateful-operator.js'

/** What the keyed stateful operators share (the windows and the joins): the engine's dependencies and their lateness. */
export abstract class KeyedOperatorBase {
  /** Where results go; set by the planner. */
  downstream: (value: unknown) => void = () => {}
  /**
   * The watermark this operator was last advanced to: what it judges a value by. The job's W for an operator
   * fed by the input; for one fed by another operator's results, those emitted as W advances reach it before
   * that W does (as Flink forwards a watermark after the records it released), so they are not judged late.
   */
  protected inputWatermark = Number.NEGATIVE_INFINITY
  protected readonly tracker: WatermarkTracker
  protected readonly ctx: RecordContext
  protected readonly counters: EngineCounters
  protected readonly late: (message: string) => void
  protected readonly state: StateBackend

  constructor(
    readonly name: string,
    /** L: the allowed lateness. */
    protected readonly lateness: number,
    protected readonly keyOf: (value: unknown) => WindowKey,
    deps: OperatorDeps,
  ) {
    // copied into fields: the per-record path reads them without an extra indirection
    this.tracker = deps.tracker
    this.ctx = deps.ctx
    this.counters = deps.counters
    this.late = deps.late
    this.state = deps.state
  }
}

/** What the window and session operators share: the engine's dependencies and the window's settings. */
export abstract class KeyedWindowBase extends KeyedOperatorBase {
  protected readonly onUpdate: boolean
  protected readonly agg: Aggregation<unknown, unknown, unknown>

  constructor(
    name: string,
    readonly window: WindowNode,
    aggregate: AggregateNode,
    keyOf: (value: unknown) => WindowKey,
    deps: OperatorDeps,
  ) {
    super(name, window.allowedLateness, keyOf, deps)
    this.onUpdate = window.emit === 'onUpdate'
    this.agg = aggregate.aggregation as Aggregation<unknown, unknown, unknown>
  }
}

/**
 * What the window and session operators share besides: their state is one store per task, opened on first use,
 * which the snapshot, the committable offsets and the status go over whole.
 */
export abstract class TaskStoreWindowBase<S extends NonNullable<TaskStores[number]>> extends KeyedWindowBase {
  /** State per task index (sparse), opened from the state backend. */
  protected readonly stores: S[] = []

  /** Opens a task's store from the state backend. */
  protected abstract openStore(task: number): S

  /** The store of a task, opened on first use. */
  protected store(task: number): S {
    let s = this.stores[task]
    if (s === undefined) {
      s = this.openStore(task)
      this.stores[task] = s
    }
    return s
  }

  snapshot(): TaskBucket[] {
    return snapshotStores(this.stores)
  }

  lowestOffsets(low: number[]): void {
    lowestOffsetsOfStores(this.stores, low)
  }

  status(): OperatorStatus {
    return storesStatus(this.stores)
  }
}
