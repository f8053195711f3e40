import { windowStarts } from '../../core/window.js'
import type { AggregateNode, WindowNode } from '../../graph/nodes.js'
import type { WindowBucket, WindowKey, WindowStore } from '../../state/window-store.js'
import { noteOffset, type OperatorDeps, partitionOf } from '../context.js'
import { emitWindowed } from './emit-window.js'
import { TaskStoreWindowBase } from './keyed-window-base.js'
import { lowerOffsets, type RestoredEntry, type StatefulOperator } from './stateful-operator.js'

/**
 * Keyed event-time windows with allowed lateness (docs/contract.md §2.6): a window fires once W >= end - 1; an event
 * arriving while W >= end - 1 + L is late and dropped; an event added after the firing fires the window again
 * at once (a late firing); state is purged once W >= end - 1 + L.
 */
export class WindowOperator extends TaskStoreWindowBase<WindowStore<unknown>> implements StatefulOperator {
  /** Smallest `end - 1` among buckets not fired yet. */
  private nextFireAt = Number.POSITIVE_INFINITY
  /** Smallest `end - 1 + L` among buckets. */
  private nextPurgeAt = Number.POSITIVE_INFINITY
  private readonly starts: number[] = []
  private readonly size: number
  private readonly tumbling: boolean
  /** Cache of the last bucket touched (events of a window tend to come together). */
  private last: WindowBucket<unknown> | undefined
  private lastTask = -1
  private rangeStart = 0
  private rangeEnd = 0

  constructor(
    name: string,
    window: WindowNode,
    aggregate: AggregateNode,
    keyOf: (value: unknown) => WindowKey,
    deps: OperatorDeps,
  ) {
    super(name, window, aggregate, keyOf, deps)
    this.size = window.spec.size
    this.tumbling = window.spec.kind === 'tumbling'
  }

  protected openStore(task: number): WindowStore<unknown> {
    return this.state.windowStore(this.name, task)
  }

  /** Forgets a task's state (it moved to another instance). */
  dropTask(task: number): void {
    this.stores[task]?.clear()
    this.last = undefined
  }

  /** Adds one event (the per-record hot path). */
  process(value: unknown): void {
    const key = this.keyOf(value)
    const ts = this.ctx.ts
    if (this.tumbling) {
      // most events fall into the window of the previous one: skip the division
      if (ts < this.rangeStart || ts >= this.rangeEnd) {
        this.rangeStart = Math.floor(ts / this.size) * this.size
        this.rangeEnd = this.rangeStart + this.size
      }
      if (!this.addTo(this.rangeStart, this.rangeEnd, key, value)) this.reportLate(this.rangeStart, this.rangeEnd)
      return
    }
    const n = windowStarts(this.window.spec, ts, this.starts)
    let added = false
    for (let i = 0; i < n; i++) {
      const start = this.starts[i] as number
      if (this.addTo(start, start + this.size, key, value)) added = true
    }
    if (!added && n > 0) this.reportLate(this.starts[n - 1] as number, (this.starts[n - 1] as number) + this.size)
  }

  private addTo(start: number, end: number, key: WindowKey, value: unknown): boolean {
    const W = this.inputWatermark
    if (W >= end - 1 + this.lateness) return false
    const p = partitionOf(this.ctx)
    let b = this.last
    if (b === undefined || b.start !== start || this.lastTask !== p.task) {
      b = this.bucket(p.task, start, end, W)
      this.last = b
      this.lastTask = p.task
    }
    noteOffset(this.ctx, b.minOffsets, p.slot)
    const entries = b.entries
    let acc = entries.get(key)
    const fresh = acc === undefined
    if (fresh) acc = this.agg.init()
    const next = this.agg.add(acc, value)
    if (fresh || next !== acc) entries.set(key, next)
    if (b.fired) this.emit(b, key, next, true)
    else if (this.onUpdate) this.emit(b, key, next, false)
    return true
  }

  private bucket(task: number, start: number, end: number, W: number): WindowBucket<unknown> {
    const store = this.store(task)
    const existing = store.get(start)
    if (existing !== undefined) return existing
    const b = store.getOrCreate(start, end)
    // A window first seen after its end already passed has nothing pending: later adds fire at once.
    b.fired = W >= end - 1
    if (!b.fired && end - 1 < this.nextFireAt) this.nextFireAt = end - 1
    if (end - 1 + this.lateness < this.nextPurgeAt) this.nextPurgeAt = end - 1 + this.lateness
    return b
  }

  private emit(b: WindowBucket<unknown>, key: WindowKey, acc: unknown, lateFiring: boolean): void {
    const value = this.agg.result(acc)
    emitWindowed(this.ctx, this.counters, this.downstream, key, b.start, b.end, value, lateFiring)
  }

  private reportLate(start: number, end: number): void {
    this.counters.late++
    this.late(`late event: window [${start},${end}) was purged at watermark ${end - 1 + this.lateness}`)
  }

  /** Fires and purges what the watermark allows; cheap when nothing is due. */
  onWatermark(W: number): void {
    this.inputWatermark = W
    if (W < this.nextFireAt && W < this.nextPurgeAt) return
    this.last = undefined
    let nextFire = Number.POSITIVE_INFINITY
    let nextPurge = Number.POSITIVE_INFINITY
    const due: WindowBucket<unknown>[] = []
    for (const store of this.stores) {
      if (store === undefined) continue
      for (const b of store.buckets()) {
        if (!b.fired && W >= b.end - 1) due.push(b)
        else if (!b.fired && b.end - 1 < nextFire) nextFire = b.end - 1
      }
    }
    due.sort((a, b) => a.end - b.end)
    for (const b of due) {
      b.fired = true
      if (!this.onUpdate) for (const [key, acc] of b.entries) this.emit(b, key, acc, false)
    }
    for (const store of this.stores) {
      if (store === undefined) continue
      for (const b of store.buckets()) {
        const purgeAt = b.end - 1 + this.lateness
        if (W >= purgeAt) store.delete(b.start)
        else if (purgeAt < nextPurge) nextPurge = purgeAt
      }
    }
    this.nextFireAt = nextFire
    this.nextPurgeAt = nextPurge
  }

  /** Loads one restored window entry. */
  restore(task: number, e: RestoredEntry): void {
    const b = this.store(task).getOrCreate(e.start, e.end)
    b.fired = e.fired
    b.entries.set(e.key, e.acc)
    lowerOffsets(b.minOffsets, e.minOffsets)
  }

  /** Recomputes the fire/purge schedule after state was restored. */
  restored(W: number): void {
    this.inputWatermark = W
    this.last = undefined
    this.nextFireAt = Number.NEGATIVE_INFINITY
    this.nextPurgeAt = Number.NEGATIVE_INFINITY
    this.onWatermark(W)
  }
}
