/**
 * The seam between the engine and its stateful operators: what every operator that keeps state (the window and
 * session operators now; joins, tables and dedupe later) implements, so the engine, the snapshot, the status and
 * the committable offsets treat them alike and a new operator plugs in without touching any of them.
 */
import type { WindowBucket, WindowKey } from '../../state/window-store.js'

/** One window of one task as an operator holds it: live objects (copy before keeping them). */
export type TaskBucket = { readonly task: number; readonly bucket: WindowBucket<unknown> }

/** One restored window entry (a key's accumulator in one window of one task). */
export type RestoredEntry = {
  readonly start: number
  readonly end: number
  readonly fired: boolean
  readonly key: WindowKey
  readonly acc: unknown
  /** Lowest contributing offset per partition slot of the restoring engine (sparse). */
  readonly minOffsets: number[]
}

/** What an operator holds, for the engine's status. */
export type OperatorStatus = {
  /** Open entries (keys × windows). */
  readonly open: number
  /** The not-fired window with the smallest end (the first such in the operator's order), if any. */
  readonly oldest: WindowBucket<unknown> | undefined
}

/**
 * A stateful operator of a plan. The engine calls {@link process} for every value reaching it (with the current
 * record in the shared record context), {@link onWatermark} whenever the watermark advances, and the snapshot,
 * restore and status methods between operations. State is kept per task index, in stores the operator gets
 * from the engine's `StateBackend` (`EngineOptions.state`).
 */
export interface StatefulOperator {
  /** The graph node the operator's state is stored under (the window node's name). */
  readonly name: string
  /** Processes one value: the per-record hot path. */
  process(value: unknown): void
  /** Fires and purges what watermark `W` allows; cheap when nothing is due. */
  onWatermark(W: number): void
  /** Called on every tick with the wall clock (epoch ms): fires processing-time timers; cheap when none is due. */
  onWallClock?(now: number): void
  /** The live state, task by task (ascending task index), each task's windows in the store's order. */
  snapshot(): TaskBucket[]
  /** Loads one restored entry into a task's state. */
  restore(task: number, entry: RestoredEntry): void
  /** Called once after a restore, with the restored watermark: rebuilds timers, fires and purges what is due. */
  restored(W: number): void
  /** Forgets a task's state (the task moved to another instance). */
  dropTask(task: number): void
  /** Lowers `low[slot]` to the lowest offset of each partition slot still held by this operator's state. */
  lowestOffsets(low: number[]): void
  /** Open entries and the oldest not-fired window. */
  status(): OperatorStatus
}

/** Lowers `low[slot]` to each offset of `minOffsets` (sparse, by slot). */
export function lowerOffsets(low: number[], minOffsets: readonly number[]): void {
  minOffsets.forEach((o, slot) => {
    if (o !== undefined && (low[slot] === undefined || o < (low[slot] as number))) low[slot] = o
  })
}

/** The {@link OperatorStatus} of a list of windows, counted as the engine's status always has. */
export function bucketsStatus(buckets: Iterable<WindowBucket<unknown>>): OperatorStatus {
  let open = 0
  let oldest: WindowBucket<unknown> | undefined
  for (const b of buckets) {
    open += b.entries.size
    if (!b.fired && (oldest === undefined || b.end < oldest.end)) oldest = b
  }
  return { open, oldest }
}

/** The per-task stores of a keyed operator, by task index (sparse: a task it never saw has none). */
export type TaskStores = readonly (
  | { buckets(): readonly WindowBucket<unknown>[]; values?(): Iterable<WindowBucket<unknown>> }
  | undefined
)[]

/** Every window of every task's store, for a snapshot. */
export function snapshotStores(stores: TaskStores): TaskBucket[] {
  const out: TaskBucket[] = []
  stores.forEach((store, task) => {
    if (store === undefined) return
    for (const bucket of store.buckets()) out.push({ task, bucket })
  })
  return out
}

/** Lowers `low[slot]` to the lowest offset any window of any store still holds (see {@link lowerOffsets}). */
export function lowestOffsetsOfStores(stores: TaskStores, low: number[]): void {
  // on every operation: the buckets unsorted, not copied
  for (const store of stores)
    if (store !== undefined) for (const b of store.values?.() ?? store.buckets()) lowerOffsets(low, b.minOffsets)
}

/** The {@link OperatorStatus} of every window of every store. */
export function storesStatus(stores: TaskStores): OperatorStatus {
  return bucketsStatus(stores.flatMap((store) => store?.buckets() ?? []))
}
