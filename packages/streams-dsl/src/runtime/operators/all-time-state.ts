import type { WindowBucket, WindowKey, WindowStore } from '../../state/window-store.js'
import type { OperatorDeps } from '../context.js'
import {
  lowerOffsets,
  lowestOffsetsOfStores,
  type OperatorStatus,
  type RestoredEntry,
  snapshotStores,
  type TaskBucket,
} from './stateful-operator.js'

/** The one bucket of a task's keys: a window over all time (always `fired`: nothing in it waits to fire). */
const ALL_TIME = { start: 0, end: 1 } as const

/**
 * Per-key state over all time, task by task, in the operators' store seam: each task's keys in one bucket of a
 * `WindowStore` (so snapshots, changelog checkpoints and committable offsets treat it as any window state). What
 * a table of running results (`TableAggregateOperator`) and a custom processor (`ProcessOperator`) keep.
 *
 * @example
 * const state = new AllTimeState<number>(name, deps)
 * const b = state.bucket(task) // the task's keys: b.entries.get(key)
 */
export class AllTimeState<V> {
  private readonly stores: (WindowStore<V> | undefined)[] = []

  constructor(
    private readonly name: string,
    private readonly deps: OperatorDeps,
  ) {}

  /** The bucket of a task's keys, created on first use. */
  bucket(task: number): WindowBucket<V> {
    let s = this.stores[task]
    if (s === undefined) {
      s = this.deps.state.windowStore<V>(this.name, task)
      this.stores[task] = s
    }
    let b = s.get(ALL_TIME.start)
    if (b === undefined) {
      b = s.getOrCreate(ALL_TIME.start, ALL_TIME.end)
      b.fired = true
    }
    return b
  }

  /** The bucket of a task's keys if it has one (not created). */
  existing(task: number): WindowBucket<V> | undefined {
    return this.stores[task]?.get(ALL_TIME.start)
  }

  /** Every task's bucket that exists, with its task index. */
  *tasks(): Iterable<[number, WindowBucket<V>]> {
    for (let task = 0; task < this.stores.length; task++) {
      const b = this.existing(task)
      if (b !== undefined) yield [task, b]
    }
  }

  snapshot(): TaskBucket[] {
    return snapshotStores(this.stores)
  }

  /** Loads one restored key into its task's bucket. */
  restore(task: number, e: RestoredEntry): void {
    const b = this.bucket(task)
    b.entries.set(e.key as WindowKey, e.acc as V)
    lowerOffsets(b.minOffsets, e.minOffsets)
  }

  dropTask(task: number): void {
    this.stores[task]?.clear()
  }

  lowestOffsets(low: number[]): void {
    lowestOffsetsOfStores(this.stores, low)
  }

  /** Keys held count as open entries; none is a window waiting to fire. */
  status(): OperatorStatus {
    let open = 0
    for (const [, b] of this.tasks()) open += b.entries.size
    return { open, oldest: undefined }
  }
}
