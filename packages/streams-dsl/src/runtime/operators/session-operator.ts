import type { Aggregation } from '../../core/aggregation.js'
import type { AggregateNode, WindowNode } from '../../graph/nodes.js'
import type { SessionBucket, SessionStore } from '../../state/session-store.js'
import type { WindowKey } from '../../state/window-store.js'
import { noteOffset, type OperatorDeps, partitionOf } from '../context.js'
import { emitWindowed } from './emit-window.js'
import { TaskStoreWindowBase } from './keyed-window-base.js'
import { MinHeap } from './min-heap.js'
import { OffsetCounts } from './offset-counts.js'
import { lowerOffsets, type OperatorStatus, type RestoredEntry, type StatefulOperator } from './stateful-operator.js'

type Agg = Aggregation<unknown, unknown, unknown>
/** A session is a bucket with one key. */
type Session = SessionBucket<unknown>
/**
 * A timer of a session: its task, key and bounds, by which it finds the session again in its store (a store may
 * hold copies, so not by identity). None there: merged away or purged, and the timer does nothing. Another
 * session of the key with the same bounds has the same timers, so a timer finding it instead is right too.
 */
type Timer = { readonly task: number; readonly key: WindowKey; readonly start: number; readonly end: number }

const sessionOf = (list: readonly Session[] | undefined, t: Timer): Session | undefined =>
  list?.find((s) => s.start === t.start && s.end === t.end)

/** Whether two lists of lowest offsets per slot (sparse) are the same. */
function sameOffsets(a: readonly number[], b: readonly number[]): boolean {
  if (a.length !== b.length) return false
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false
  return true
}

/**
 * Session windows (Flink's semantics): an event at ts opens `[ts, ts + gap)`; sessions of a key that overlap
 * or touch merge (their accumulators with `merge`). The merged window is judged like any window: late when
 * W >= end - 1 + L, fired once W >= end - 1, fired again at once when an event extends or updates it after
 * that, purged at W >= end - 1 + L.
 *
 * Sessions are changed only through their store (`set`), which may keep them on disk; the timers and the
 * offsets the sessions hold are kept beside it, so neither needs the sessions to stay the same objects.
 */
export class SessionOperator extends TaskStoreWindowBase<SessionStore<unknown>> implements StatefulOperator {
  /** The lowest offsets the sessions of each task hold (per task index, sparse): counted as they are stored. */
  private readonly held: OffsetCounts[] = []
  /** Sessions stored per task index (sparse): counted as they are stored, merged away and purged. */
  private readonly open: number[] = []
  private readonly gap: number
  private readonly fireQueue = new MinHeap<Timer>()
  private readonly purgeQueue = new MinHeap<Timer>()

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

  protected openStore(task: number): SessionStore<unknown> {
    this.held[task] = new OffsetCounts()
    return this.state.sessionStore<unknown>(this.name, task)
  }

  /** Its sessions go; their timers stay, and find nothing. */
  dropTask(task: number): void {
    this.stores[task]?.clear()
    this.held[task]?.clear()
    this.open[task] = 0
  }

  process(value: unknown): void {
    const key = this.keyOf(value)
    const ts = this.ctx.ts
    const p = partitionOf(this.ctx)
    const W = this.inputWatermark
    const store = this.store(p.task)
    const list = store.get(key)
    let start = ts
    let end = ts + this.gap
    const merged: Session[] = []
    const rest: Session[] = []
    if (list !== undefined) for (const s of list) (s.start <= end && start <= s.end ? merged : rest).push(s)
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
    }
    acc = this.agg.add(acc, value)
    noteOffset(this.ctx, minOffsets, p.slot)
    const session: Session = { key, start, end, acc, minOffsets, fired: W >= end - 1, entries: new Map([[key, acc]]) }
    this.insert(p.task, store, rest, session, merged)
    if (session.fired) this.emit(session, true)
    else if (this.onUpdate) this.emit(session, false)
  }

  /** Stores `session` beside the key's other sessions (`rest`, a list of its own), in place of `merged`. */
  private insert(
    task: number,
    store: SessionStore<unknown>,
    rest: Session[],
    session: Session,
    merged: Session[],
  ): void {
    rest.push(session)
    if (rest.length > 1) rest.sort((a, b) => a.start - b.start)
    store.set(session.key, rest)
    this.open[task] = (this.open[task] ?? 0) + 1 - merged.length
    const held = this.held[task] as OffsetCounts
    const was = merged.length === 1 ? (merged[0] as Session) : undefined
    // an event within a session (the common case) changes neither its bounds nor, mostly, its offsets
    if (was === undefined || !sameOffsets(was.minOffsets, session.minOffsets)) {
      held.add(session.minOffsets)
      for (const s of merged) held.remove(s.minOffsets)
    }
    // same bounds, same fired: the timers set for the session it replaces find it
    if (was !== undefined && was.start === session.start && was.end === session.end && was.fired === session.fired)
      return
    const timer: Timer = { task, key: session.key, start: session.start, end: session.end }
    if (!session.fired) this.fireQueue.push(session.end - 1, timer)
    this.purgeQueue.push(session.end - 1 + this.lateness, timer)
  }

  private emit(s: Session, lateFiring: boolean): void {
    const value = this.agg.result(s.acc)
    emitWindowed(this.ctx, this.counters, this.downstream, s.key, s.start, s.end, value, lateFiring)
  }

  onWatermark(W: number): void {
    this.inputWatermark = W
    const due: Timer[] = []
    for (let t = this.fireQueue.popIfAtMost(W); t !== undefined; t = this.fireQueue.popIfAtMost(W)) due.push(t)
    due.sort((a, b) => a.end - b.end)
    for (const t of due) {
      const store = this.stores[t.task]
      const list = store?.get(t.key)
      const s = sessionOf(list, t)
      if (store === undefined || list === undefined || s === undefined || s.fired) continue
      s.fired = true
      store.set(t.key, list)
      if (!this.onUpdate) this.emit(s, false)
    }
    for (let t = this.purgeQueue.popIfAtMost(W); t !== undefined; t = this.purgeQueue.popIfAtMost(W)) {
      const store = this.stores[t.task]
      const list = store?.get(t.key)
      const s = sessionOf(list, t)
      if (store === undefined || list === undefined || s === undefined) continue
      this.held[t.task]?.remove(s.minOffsets)
      this.open[t.task] = (this.open[t.task] ?? 0) - 1
      const rest = list.filter((x) => x !== s)
      if (rest.length) store.set(t.key, rest)
      else store.delete(t.key)
    }
  }

  /** Loads one restored session. */
  restore(task: number, e: RestoredEntry): void {
    const store = this.store(task)
    const session: Session = { ...e, entries: new Map([[e.key, e.acc]]) }
    this.insert(task, store, [...(store.get(e.key) ?? [])], session, [])
  }

  restored(W: number): void {
    this.inputWatermark = W
    this.onWatermark(W)
  }

  // the snapshot (TaskStoreWindowBase) goes over every session, on disk too, at a checkpoint; the committable
  // offsets (asked on every operation) and the status (on every /status and /metrics scrape) read what is counted
  override lowestOffsets(low: number[]): void {
    for (const held of this.held) held?.lower(low)
  }

  /**
   * The sessions stored, counted, and the oldest not fired: the earliest fire timer whose session is still there
   * and not fired. The timers before it would do nothing when due (merged away, purged or fired), so they are
   * dropped on the way; a status reads a few sessions, not all of them.
   */
  override status(): OperatorStatus {
    let open = 0
    for (const n of this.open) open += n ?? 0
    for (let top = this.fireQueue.peek(); top !== undefined; top = this.fireQueue.peek()) {
      const t = top.value
      const s = sessionOf(this.stores[t.task]?.get(t.key), t)
      if (s !== undefined && !s.fired) return { open, oldest: s }
      this.fireQueue.popIfAtMost(top.key) // the root, which peek gave
    }
    return { open, oldest: undefined }
  }
}
