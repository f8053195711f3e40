import type { Aggregation } from '../dsl/aggregations.js'
import type { AggregateNode, WindowNode } from '../graph/nodes.js'
import type { WindowBucket, WindowKey } from '../state/window-store.js'
import type { OperatorDeps, RecordContext } from './context.js'
import { emitWindowed } from './emit-window.js'
import { KeyedWindowBase } from './keyed-window-base.js'
import { MinHeap } from './min-heap.js'

type Agg = Aggregation<unknown, unknown, unknown>
/** A session is a bucket with one key; `dead` once merged away or purged. */
type Session = WindowBucket<unknown> & { key: WindowKey; acc: unknown; dead: boolean }

/** Sessions of one task, by key; `buckets()` lists them like window buckets (one key each). */
export class SessionStore {
  readonly byKey = new Map<WindowKey, Session[]>()
  buckets(): WindowBucket<unknown>[] {
    const all: Session[] = []
    for (const list of this.byKey.values()) all.push(...list)
    return all.sort((a, b) => a.start - b.start || a.end - b.end)
  }
}

/**
 * Session windows (Flink's semantics): an event at ts opens `[ts, ts + gap)`; sessions of a key that overlap
 * or touch merge (their accumulators with `merge`). The merged window is judged like any window: late when
 * W >= end - 1 + L, fired once W >= end - 1, fired again at once when an event extends or updates it after
 * that, purged at W >= end - 1 + L.
 */
export class SessionOperator extends KeyedWindowBase {
  readonly stores: SessionStore[] = []
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

  store(task: number): SessionStore {
    let s = this.stores[task]
    if (s === undefined) {
      s = new SessionStore()
      this.stores[task] = s
    }
    return s
  }

  dropTask(task: number): void {
    for (const list of this.stores[task]?.byKey.values() ?? []) for (const s of list) s.dead = true
    this.stores[task] = new SessionStore()
  }

  add(value: unknown): void {
    const key = this.keyOf(value)
    const ts = this.ctx.ts
    const p = this.ctx.partition as NonNullable<RecordContext['partition']>
    const W = this.tracker.watermark
    const store = this.store(p.task)
    const list = store.byKey.get(key) ?? []
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
      s.minOffsets.forEach((o, slot) => {
        if (o !== undefined && !(minOffsets[slot] !== undefined && (minOffsets[slot] as number) <= o))
          minOffsets[slot] = o
      })
      s.dead = true
    }
    acc = this.agg.add(acc, value)
    if (minOffsets[p.slot] === undefined) minOffsets[p.slot] = (this.ctx.record as { offset: number }).offset
    const session = this.insert(store, key, start, end, acc, minOffsets, W >= end - 1)
    if (session.fired) this.emit(session, true)
    else if (this.onUpdate) this.emit(session, false)
  }

  private insert(
    store: SessionStore,
    key: WindowKey,
    start: number,
    end: number,
    acc: unknown,
    minOffsets: number[],
    fired: boolean,
  ): Session {
    const list = (store.byKey.get(key) ?? []).filter((s) => !s.dead)
    const session: Session = { key, start, end, acc, minOffsets, fired, dead: false, entries: new Map([[key, acc]]) }
    list.push(session)
    list.sort((a, b) => a.start - b.start)
    store.byKey.set(key, list)
    if (!fired) this.fireQueue.push(end - 1, session)
    this.purgeQueue.push(end - 1 + this.lateness, session)
    return session
  }

  private emit(s: Session, lateFiring: boolean): void {
    const value = this.agg.result(s.acc)
    emitWindowed(this.ctx, this.counters, this.downstream, s.key, s.start, s.end, value, lateFiring)
  }

  onWatermark(W: number): void {
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
        const list = store?.byKey.get(s.key)
        if (!list?.includes(s)) continue
        const rest = list.filter((x) => x !== s)
        if (rest.length) store.byKey.set(s.key, rest)
        else store.byKey.delete(s.key)
      }
    }
  }

  /** Loads one restored session. */
  restoreWindow(
    task: number,
    start: number,
    end: number,
    fired: boolean,
    key: WindowKey,
    acc: unknown,
    minOffsets: number[],
  ): void {
    this.insert(this.store(task), key, start, end, acc, minOffsets, fired)
  }

  reschedule(W: number): void {
    this.onWatermark(W)
  }
}
