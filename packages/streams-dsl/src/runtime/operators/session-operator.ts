import type { Aggregation } from '../../core/aggregation.js'
import type { AggregateNode, WindowNode } from '../../graph/nodes.js'
import type { SessionBucket, SessionStore } from '../../state/session-store.js'
import type { WindowKey } from '../../state/window-store.js'
import { noteOffset, type OperatorDeps, partitionOf } from '../context.js'
import { emitWindowed } from './emit-window.js'
import { TaskStoreWindowBase } from './keyed-window-base.js'
import { MinHeap } from './min-heap.js'
import { lowerOffsets, type RestoredEntry, type StatefulOperator } from './stateful-operator.js'

type Agg = Aggregation<unknown, unknown, unknown>
/** A session is a bucket with one key; `dead` once merged away or purged (its timers then do nothing). */
type Session = SessionBucket<unknown> & { dead: boolean }

/**
 * Session windows (Flink's semantics): an event at ts opens `[ts, ts + gap)`; sessions of a key that overlap
 * or touch merge (their accumulators with `merge`). The merged window is judged like any window: late when
 * W >= end - 1 + L, fired once W >= end - 1, fired again at once when an event extends or updates it after
 * that, purged at W >= end - 1 + L.
 */
export class SessionOperator extends TaskStoreWindowBase<SessionStore<Session>> implements StatefulOperator {
  private readonly gap: number
  private readonly fireQueue = new MinHeap<Session>()
  private readonly purgeQueue = new MinHeap<Session>()

  constructor(
    name: string,
    window: WindowNode,
    aggregate: AggregateNode,
    keyOf: (value: unknown) => WindowKey,
    deps: OperatorDeps,
  ) {
    super(name, window, aggregate, keyOf, deps)
    this.gap = window.spec.size
  }

  protected openStore(task: number): SessionStore<Session> {
    return this.state.sessionStore<Session>(this.name, task)
  }

  dropTask(task: number): void {
    const store = this.stores[task]
    if (store === undefined) return
    for (const list of store.lists()) for (const s of list) s.dead = true
    store.clear()
  }

  process(value: unknown): void {
    const key = this.keyOf(value)
    const ts = this.ctx.ts
    const p = partitionOf(this.ctx)
    const W = this.inputWatermark
    const store = this.store(p.task)
    const list = store.get(key) ?? []
    let start = ts
    let end = ts + this.gap
    const merged: Session[] = []
    for (const s of list) if (s.start <= end && start <= s.end) merged.push(s)
    for (const s of merged) {
      if (s.start < start) start = s.start
      if (s.end > end) end = s.end
    }
    if (W >= end - 1 + this.lateness) {
      this.counters.late++
      this.late(`late event: session [${start},${end}) closed at watermark ${end - 1 + this.lateness}`)
      return
    }
    let acc: unknown
    const minOffsets: number[] = []
    if (merged.length === 0) acc = this.agg.init()
    for (const s of merged) {
      acc = acc === undefined ? s.acc : (this.agg.merge as NonNullable<Agg['merge']>)(acc, s.acc)
      lowerOffsets(minOffsets, s.minOffsets)
      s.dead = true
    }
    acc = this.agg.add(acc, value)
    noteOffset(this.ctx, minOffsets, p.slot)
    const session = this.insert(store, key, start, end, acc, minOffsets, W >= end - 1)
    if (session.fired) this.emit(session, true)
    else if (this.onUpdate) this.emit(session, false)
  }

  private insert(
    store: SessionStore<Session>,
    key: WindowKey,
    start: number,
    end: number,
    acc: unknown,
    minOffsets: number[],
    fired: boolean,
  ): Session {
    const list = (store.get(key) ?? []).filter((s) => !s.dead)
    const session: Session = { key, start, end, acc, minOffsets, fired, dead: false, entries: new Map([[key, acc]]) }
    list.push(session)
    list.sort((a, b) => a.start - b.start)
    store.set(key, list)
    if (!fired) this.fireQueue.push(end - 1, session)
    this.purgeQueue.push(end - 1 + this.lateness, session)
    return session
  }

  private emit(s: Session, lateFiring: boolean): void {
    const value = this.agg.result(s.acc)
    emitWindowed(this.ctx, this.counters, this.downstream, s.key, s.start, s.end, value, lateFiring)
  }

  onWatermark(W: number): void {
    this.inputWatermark = W
    const due: Session[] = []
    for (let s = this.fireQueue.popIfAtMost(W); s !== undefined; s = this.fireQueue.popIfAtMost(W))
      if (!s.dead && !s.fired) due.push(s)
    due.sort((a, b) => a.end - b.end)
    for (const s of due) {
      s.fired = true
      if (!this.onUpdate) this.emit(s, false)
    }
    for (let s = this.purgeQueue.popIfAtMost(W); s !== undefined; s = this.purgeQueue.popIfAtMost(W)) {
      if (s.dead) continue
      s.dead = true
      for (const store of this.stores) {
        const list = store?.get(s.key)
        if (!list?.includes(s)) continue
        const rest = list.filter((x) => x !== s)
        if (rest.length) store.set(s.key, rest)
        else store.delete(s.key)
      }
    }
  }

  /** Loads one restored session. */
  restore(task: number, e: RestoredEntry): void {
    this.insert(this.store(task), e.key, e.start, e.end, e.acc, e.minOffsets, e.fired)
  }

  restored(W: number): void {
    this.inputWatermark = W
    this.onWatermark(W)
  }
}
