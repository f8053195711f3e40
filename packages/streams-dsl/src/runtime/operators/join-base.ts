import type { JoinNode, TableJoinNode } from '../../graph/nodes.js'
import type { WindowBucket, WindowKey, WindowStore } from '../../state/window-store.js'
import type { OperatorDeps } from '../context.js'
import { HeldOffsets } from './held-offsets.js'
import { KeyedOperatorBase } from './keyed-window-base.js'
import type { MinHeap } from './min-heap.js'
import {
  lowerOffsets,
  type OperatorStatus,
  type RestoredEntry,
  snapshotStores,
  storesStatus,
  type TaskBucket,
} from './stateful-operator.js'

/** A join's dependencies: the engine's, and where a result its joiner threw for is reported. */
export type JoinDeps = OperatorDeps & {
  resultFailed: (operator: string, result: unknown, error: unknown, ts?: number) => void
}

/** A bucket with its task, as the timers hold it (stale once its store no longer holds that bucket). */
export type Timer = { readonly task: number; readonly bucket: WindowBucket<unknown> }

/** A task's two stores: the one of 1 ms buckets, then the one of 2 ms buckets. */
export type JoinStores = readonly [WindowStore<unknown>, WindowStore<unknown>]

/**
 * What the interval join and the stream-table join share. Per task, each holds records by event time in two
 * stores, every bucket `fired` (held, not a window): one of buckets 1 ms long and one of buckets 2 ms long, which
 * is how a restore tells them apart; and `times`, a per-key index of what they hold (derived; rebuilt on restore).
 * The lowest offsets the buckets keep back are indexed as they come ({@link HeldOffsets}): a join holds many small
 * buckets, too many to go over on every operation.
 */
export abstract class JoinBase<S extends { readonly times: Map<WindowKey, unknown> }> extends KeyedOperatorBase {
  protected readonly tasks: S[] = []
  protected readonly leftJoin: boolean
  protected readonly joiner: (a: unknown, b: unknown, key: WindowKey) => unknown
  /** The lowest offsets the held buckets keep back. */
  protected readonly held = new HeldOffsets()
  private readonly resultFailed: JoinDeps['resultFailed']

  constructor(name: string, node: JoinNode | TableJoinNode, keyOf: (value: unknown) => WindowKey, deps: JoinDeps) {
    super(name, node.allowedLateness, keyOf, deps)
    this.leftJoin = node.type === 'left'
    this.joiner = node.joiner as (a: unknown, b: unknown, key: WindowKey) => unknown
    this.resultFailed = deps.resultFailed
  }

  abstract onWatermark(W: number): void
  /** A new task's state, its stores opened from the state backend. */
  protected abstract open(task: number): S
  /** A task's stores: the one of 1 ms buckets first (the snapshot's order). */
  protected abstract stores(s: S): JoinStores
  /** Adds a restored entry to the `times` index; `long`: it is in the store of 2 ms buckets. */
  protected abstract indexRestored(s: S, key: WindowKey, start: number, long: boolean): void
  /** The timers, emptied before a restore starts them again. */
  protected abstract timers(): readonly MinHeap<unknown>[]
  /** Starts the timers of a task's restored state. */
  protected abstract startTimers(s: S, task: number): void
  /** What a result whose joiner threw is reported as. */
  protected abstract failed(a: unknown, b: unknown, key: WindowKey): unknown

  /** A task's state, opened on first use. */
  protected task(task: number): S {
    let s = this.tasks[task]
    if (s === undefined) {
      s = this.open(task)
      this.tasks[task] = s
    }
    return s
  }

  /** Records the offset of a bucket's first record of a slot, as its lowest there. */
  protected note(
    store: WindowStore<unknown>,
    b: WindowBucket<unknown>,
    slot: number,
    offset: number | undefined,
  ): void {
    if (offset === undefined || slot < 0 || b.minOffsets[slot] !== undefined) return
    b.minOffsets[slot] = offset
    this.held.add(store, b, slot, offset)
  }

  /** Hands `joiner(a, b, key)` downstream with event time `ts`; user code that throws costs that result only. */
  protected emit(a: unknown, b: unknown, key: WindowKey, ts: number): void {
    const saved = this.ctx.ts
    this.ctx.ts = ts
    try {
      this.downstream(this.joiner(a, b, key))
    } catch (e) {
      this.resultFailed(this.name, this.failed(a, b, key), e, ts)
    } finally {
      this.ctx.ts = saved
    }
  }

  /**
   * Pops the timers of `timers` due at `W` whose bucket `storeOf` a task still holds, by time, then by task: the
   * order a scan of the tasks' stores gives.
   */
  protected due(timers: MinHeap<Timer>, W: number, storeOf: (s: S) => WindowStore<unknown>): Timer[] {
    const due: Timer[] = []
    for (let t = timers.popIfAtMost(W); t !== undefined; t = timers.popIfAtMost(W)) {
      const s = this.tasks[t.task]
      if (s !== undefined && storeOf(s).get(t.bucket.start) === t.bucket) due.push(t)
    }
    due.sort((a, b) => a.bucket.start - b.bucket.start || a.task - b.task)
    return due
  }

  snapshot(): TaskBucket[] {
    return [
      ...snapshotStores(this.tasks.map((s) => this.stores(s)[0])),
      ...snapshotStores(this.tasks.map((s) => this.stores(s)[1])),
    ]
  }

  /** Loads one restored entry into the store its length says (1 ms or 2 ms). */
  restore(task: number, e: RestoredEntry): void {
    const s = this.task(task)
    const long = e.end - e.start === 2
    const b = this.stores(s)[long ? 1 : 0].getOrCreate(e.start, e.end)
    b.fired = true
    b.entries.set(e.key, e.acc)
    lowerOffsets(b.minOffsets, e.minOffsets)
    this.indexRestored(s, e.key, e.start, long)
  }

  /** Starts the timers of everything restored, then does what is due at `W`. */
  restored(W: number): void {
    this.inputWatermark = W
    for (const timers of this.timers()) while (timers.popIfAtMost(Number.POSITIVE_INFINITY) !== undefined);
    this.held.clear()
    this.tasks.forEach((s, task) => {
      if (s === undefined) return
      for (const store of this.stores(s)) this.held.addAll(store)
      this.startTimers(s, task)
    })
    this.onWatermark(W)
  }

  dropTask(task: number): void {
    const s = this.tasks[task]
    if (s === undefined) return
    for (const store of this.stores(s)) store.clear()
    s.times.clear()
  }

  lowestOffsets(low: number[]): void {
    this.held.lower(low)
  }

  /** Held records (one entry per key and time in either store) count as open entries; none waits to fire. */
  status(): OperatorStatus {
    // every bucket is fired, so none is the oldest not fired
    return storesStatus(this.tasks.flatMap((s) => this.stores(s)))
  }
}
