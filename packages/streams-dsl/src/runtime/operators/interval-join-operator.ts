import type { JoinNode } from '../../graph/nodes.js'
import type { WindowBucket, WindowKey, WindowStore } from '../../state/window-store.js'
import { partitionOf } from '../context.js'
import { JoinBase, type JoinDeps, type JoinStores, type Timer } from './join-base.js'
import { MinHeap } from './min-heap.js'
import { insertSorted, lowerBound, removeSorted } from './sorted.js'
import type { StatefulOperator } from './stateful-operator.js'

/** A held record of the left side: its value and whether it has found a pair yet (a left join's question). */
type HeldLeft = { v: unknown; m: boolean }
/** What the join's input carries: the side a value came from (tagged by the DSL), and the value. */
type Tagged = { readonly side: 0 | 1; readonly value: unknown }

/**
 * A task's state. Each side's records are held by event time t in buckets of a store, the entry of a key being
 * the list of its records at t; a left bucket is `[t, t + 1)` and a right one `[t, t + 2)`, which is how a
 * restore tells them apart. `times` indexes, per key, the times each side holds (derived; rebuilt on restore).
 */
type TaskState = {
  readonly left: WindowStore<HeldLeft[]>
  readonly right: WindowStore<unknown[]>
  readonly times: Map<WindowKey, { l: number[]; r: number[] }>
}

/**
 * The interval join (see `KeyedStream.join`, docs/guide.md §11): a left record at t pairs with each right
 * record of its key at u, `t - before <= u <= t + after`. A record at t is late when W >= t + L; otherwise it is
 * held (left until W >= t + after + L, right until W >= u + before + L, when nothing that could pair with it can
 * arrive any more) and paired with what the other side holds, the result emitted at once with event time
 * max(t, u). A held record whose purge is due never pairs with a record that is not late (its interval ended
 * before W - L), so the pairs do not depend on when purging runs. A left join also emits each left record that
 * found no pair, at its purge, with event time t.
 */
export class IntervalJoinOperator extends JoinBase<TaskState> implements StatefulOperator {
  private readonly before: number
  private readonly after: number
  private readonly leftPurgeAt = new MinHeap<Timer>()
  private readonly rightPurgeAt = new MinHeap<Timer>()

  constructor(name: string, node: JoinNode, keyOf: (value: unknown) => WindowKey, deps: JoinDeps) {
    super(name, node, keyOf, deps)
    this.before = node.before
    this.after = node.after
  }

  protected open(task: number): TaskState {
    return {
      left: this.state.windowStore(this.name, task),
      right: this.state.windowStore(`${this.name}#right`, task),
      times: new Map(),
    }
  }

  protected stores(s: TaskState): JoinStores {
    return [s.left as WindowStore<unknown>, s.right]
  }

  private timesOf(s: TaskState, key: WindowKey): { l: number[]; r: number[] } {
    let t = s.times.get(key)
    if (t === undefined) {
      t = { l: [], r: [] }
      s.times.set(key, t)
    }
    return t
  }

  process(tagged: unknown): void {
    const { side, value } = tagged as Tagged
    const key = this.keyOf(tagged)
    const ts = this.ctx.ts
    const W = this.inputWatermark
    if (W >= ts + this.lateness) {
      this.counters.late++
      this.late(
        `late event: ${this.name} holds no ${side === 0 ? 'right' : 'left'} record a record at ${ts} could pair with any more (watermark ${W})`,
      )
      return
    }
    const p = partitionOf(this.ctx)
    const s = this.task(p.task)
    const times = this.timesOf(s, key)
    const offset = (this.ctx.record as { offset: number } | null)?.offset
    if (side === 0) {
      const held: HeldLeft = { v: value, m: false }
      // the right records at u in [ts - before, ts + after]
      for (let i = lowerBound(times.r, ts - this.before); i < times.r.length; i++) {
        const u = times.r[i] as number
        if (u > ts + this.after) break
        for (const r of s.right.get(u)?.entries.get(key) ?? []) {
          held.m = true
          this.emit(value, r, key, Math.max(ts, u))
        }
      }
      const b = this.hold(s.left, this.leftPurgeAt, p.task, ts, ts + 1, ts + this.after, offset, p.slot)
      const list = b.entries.get(key)
      if (list === undefined) b.entries.set(key, [held])
      else list.push(held)
      insertSorted(times.l, ts)
    } else {
      // the left records at t with ts in [t - before, t + after]: t in [ts - after, ts + before]
      for (let i = lowerBound(times.l, ts - this.after); i < times.l.length; i++) {
        const t = times.l[i] as number
        if (t > ts + this.before) break
        for (const l of s.left.get(t)?.entries.get(key) ?? []) {
          l.m = true
          this.emit(l.v, value, key, Math.max(ts, t))
        }
      }
      const b = this.hold(s.right, this.rightPurgeAt, p.task, ts, ts + 2, ts + this.before, offset, p.slot)
      const list = b.entries.get(key)
      if (list === undefined) b.entries.set(key, [value])
      else list.push(value)
      insertSorted(times.r, ts)
    }
  }

  /** The bucket of time `ts` in `store`, created (with its purge timer at `until + L`) when new. */
  private hold<A>(
    store: WindowStore<A>,
    timers: MinHeap<Timer>,
    task: number,
    ts: number,
    end: number,
    until: number,
    offset: number | undefined,
    slot: number,
  ): WindowBucket<A> {
    let b = store.get(ts)
    if (b === undefined) {
      b = store.getOrCreate(ts, end)
      b.fired = true // nothing of it fires: it is held, not a window
      timers.push(until + this.lateness, { task, bucket: b as WindowBucket<unknown> })
    }
    this.note(store as WindowStore<unknown>, b as WindowBucket<unknown>, slot, offset)
    return b
  }

  onWatermark(W: number): void {
    this.inputWatermark = W
    for (const { task, bucket } of this.due(this.leftPurgeAt, W, (s) => s.left as WindowStore<unknown>)) {
      const s = this.tasks[task] as TaskState
      s.left.delete(bucket.start)
      for (const [key, list] of bucket.entries as Map<WindowKey, HeldLeft[]>) {
        if (this.leftJoin) for (const l of list) if (!l.m) this.emit(l.v, undefined, key, bucket.start)
        this.untime(s, key, bucket.start, 'l')
      }
    }
    for (let t = this.rightPurgeAt.popIfAtMost(W); t !== undefined; t = this.rightPurgeAt.popIfAtMost(W)) {
      const s = this.tasks[t.task]
      if (s?.right.get(t.bucket.start) !== t.bucket) continue
      s.right.delete(t.bucket.start)
      for (const key of t.bucket.entries.keys()) this.untime(s, key, t.bucket.start, 'r')
    }
  }

  private untime(s: TaskState, key: WindowKey, ts: number, side: 'l' | 'r'): void {
    const times = s.times.get(key)
    if (times === undefined) return
    removeSorted(times[side], ts)
    if (times.l.length === 0 && times.r.length === 0) s.times.delete(key)
  }

  protected failed(left: unknown, right: unknown, key: WindowKey): unknown {
    return { key, left, right }
  }

  /** A restored key's left records at a time are in a bucket 1 ms long, its right ones in one 2 ms long. */
  protected indexRestored(s: TaskState, key: WindowKey, start: number, right: boolean): void {
    insertSorted(this.timesOf(s, key)[right ? 'r' : 'l'], start)
  }

  protected timers(): readonly MinHeap<unknown>[] {
    return [this.leftPurgeAt, this.rightPurgeAt]
  }

  /** Purges each held record (and emits an unmatched left one) once nothing can pair with it any more. */
  protected startTimers(s: TaskState, task: number): void {
    for (const b of s.left.buckets())
      this.leftPurgeAt.push(b.start + this.after + this.lateness, { task, bucket: b as WindowBucket<unknown> })
    for (const b of s.right.buckets())
      this.rightPurgeAt.push(b.start + this.before + this.lateness, { task, bucket: b })
  }
}
