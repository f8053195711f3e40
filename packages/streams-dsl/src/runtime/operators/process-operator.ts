import type { ProcessContext, Processor } from '../../core/processor.js'
import type { ProcessNode } from '../../graph/nodes.js'
import type { WindowBucket, WindowKey } from '../../state/window-store.js'
import { noteOffset, type OperatorDeps, partitionOf, type RecordContext } from '../context.js'
import { AllTimeState } from './all-time-state.js'
import { MinHeap } from './min-heap.js'
import type { OperatorStatus, RestoredEntry, StatefulOperator, TaskBucket } from './stateful-operator.js'

/**
 * What a key holds, as stored (plain JSON: snapshotted as is): its state, its event-time timers and its
 * wall-clock timers, each ascending.
 */
type KeyEntry = { s?: unknown; t?: number[]; w?: number[] }

type Timer = { readonly task: number; readonly key: WindowKey; readonly time: number }

/**
 * `keyBy(fn).process(processor)` (see `KeyedStream.process`): per task, each key's state and timers in one
 * bucket (`{ s, t, w }` per key); a min-heap of every pending event-time timer fires them, earliest first, as the
 * watermark reaches them, another the wall-clock timers on the engine's ticks (a timer deleted meanwhile is
 * skipped as it comes up). Nothing is late or purged here: a key's
 * entry goes once it holds neither state nor timers.
 */
export class ProcessOperator implements StatefulOperator {
  /** Where emitted results go; set by the planner. */
  downstream: (value: unknown) => void = () => {}
  private readonly state: AllTimeState<KeyEntry>
  private readonly processor: Processor<WindowKey, unknown, unknown, unknown>
  private readonly ctx: RecordContext
  private readonly timers = new MinHeap<Timer>()
  private readonly wallTimers = new MinHeap<Timer>()
  private inputWatermark = Number.NEGATIVE_INFINITY
  /** The one context handed to user code, pointed at the key being processed. */
  private readonly pctx: KeyContext

  constructor(
    readonly name: string,
    node: ProcessNode,
    private readonly keyOf: (value: unknown) => WindowKey,
    deps: OperatorDeps,
    /** Reports a throw of user code in a timer (a record's throw is the engine's, as for any operator). */
    private readonly failed: (operator: string, what: unknown, error: unknown, ts?: number) => void,
  ) {
    this.processor = node.processor as unknown as Processor<WindowKey, unknown, unknown, unknown>
    this.ctx = deps.ctx
    this.pctx = new KeyContext(this)
    this.state = new AllTimeState(name, deps)
  }

  process(value: unknown): void {
    const key = this.keyOf(value)
    const p = partitionOf(this.ctx)
    const b = this.state.bucket(p.task)
    noteOffset(this.ctx, b.minOffsets, p.slot)
    const c = this.pctx
    c.point(p.task, key, b, this.ctx.ts, this.inputWatermark)
    try {
      this.processor.process(value, c)
    } finally {
      c.done()
    }
  }

  /** @internal for {@link KeyContext}: a timer of a key was set (`wall`: a wall-clock one). */
  timerSet(task: number, key: WindowKey, time: number, wall: boolean): void {
    ;(wall ? this.wallTimers : this.timers).push(time, { task, key, time })
  }

  /** @internal for {@link KeyContext}: emits with event time `ts`. */
  emit(result: unknown, ts: number): void {
    const saved = this.ctx.ts
    this.ctx.ts = ts
    try {
      this.downstream(result)
    } finally {
      this.ctx.ts = saved
    }
  }

  /** Fires every timer the watermark reached, earliest first (timers set meanwhile at or before W included). */
  onWatermark(W: number): void {
    this.inputWatermark = W
    if (this.timers.minKey <= W) this.fire(this.timers, W, 't', this.processor.onTimer)
  }

  /** Fires every wall-clock timer the clock reached, earliest first. */
  onWallClock(now: number): void {
    if (this.wallTimers.minKey <= now) this.fire(this.wallTimers, now, 'w', this.processor.onWallClockTimer)
  }

  private fire(
    heap: MinHeap<Timer>,
    upTo: number,
    field: 't' | 'w',
    callback: ((time: number, ctx: ProcessContext<WindowKey, unknown, unknown>) => void) | undefined,
  ): void {
    const record = this.ctx.record
    const partition = this.ctx.partition
    // a timer's results come from state, not from the record last read
    this.ctx.record = null
    this.ctx.partition = null
    try {
      for (let t = heap.popIfAtMost(upTo); t !== undefined; t = heap.popIfAtMost(upTo)) {
        const b = this.state.existing(t.task)
        const entry = b?.entries.get(t.key)
        const times = entry?.[field]
        const i = times === undefined ? -1 : times.indexOf(t.time)
        if (b === undefined || entry === undefined || times === undefined || i < 0) continue // deleted or dropped
        times.splice(i, 1)
        if (times.length === 0) delete entry[field]
        const c = this.pctx
        c.point(t.task, t.key, b, t.time, this.inputWatermark)
        try {
          callback?.call(this.processor, t.time, c)
        } catch (e) {
          this.failed(this.name, { key: t.key, timer: t.time }, e, t.time)
        } finally {
          c.done()
        }
      }
    } finally {
      this.ctx.record = record
      this.ctx.partition = partition
    }
  }

  snapshot(): TaskBucket[] {
    return this.state.snapshot()
  }

  restore(task: number, e: RestoredEntry): void {
    this.state.restore(task, e)
  }

  /** Starts the restored timers again, then fires what the restored watermark reached. */
  restored(W: number): void {
    for (const heap of [this.timers, this.wallTimers]) while (heap.popIfAtMost(Number.POSITIVE_INFINITY) !== undefined);
    for (const [task, b] of this.state.tasks())
      for (const [key, entry] of b.entries) {
        for (const time of entry.t ?? []) this.timerSet(task, key, time, false)
        for (const time of entry.w ?? []) this.timerSet(task, key, time, true)
      }
    this.onWatermark(W)
  }

  dropTask(task: number): void {
    this.state.dropTask(task)
  }

  lowestOffsets(low: number[]): void {
    this.state.lowestOffsets(low)
  }

  /** Keys holding state or timers count as open entries; none is a window waiting to fire. */
  status(): OperatorStatus {
    return this.state.status()
  }
}

/** The {@link ProcessContext} of one key, reused: pointed at a key before a callback, released after. */
class KeyContext implements ProcessContext<WindowKey, unknown, unknown> {
  key: WindowKey = ''
  timestamp = 0
  watermark = Number.NEGATIVE_INFINITY
  private task = 0
  private b: WindowBucket<KeyEntry> | undefined
  private entry: KeyEntry | undefined

  constructor(private readonly op: ProcessOperator) {}

  point(task: number, key: WindowKey, b: WindowBucket<KeyEntry>, timestamp: number, watermark: number): void {
    this.task = task
    this.key = key
    this.b = b
    this.entry = b.entries.get(key)
    this.timestamp = timestamp
    this.watermark = watermark
  }

  /** Drops the key's entry if it holds nothing; the context is unusable until pointed again. */
  done(): void {
    const e = this.entry
    if (e !== undefined && e.s === undefined && !e.t?.length && !e.w?.length) this.b?.entries.delete(this.key)
    this.b = undefined
    this.entry = undefined
  }

  private live(): WindowBucket<KeyEntry> {
    if (this.b === undefined)
      throw new Error('process: a ProcessContext is valid only during the process() or onTimer() call it was given to')
    return this.b
  }

  private entryOrNew(): KeyEntry {
    const b = this.live()
    let e = this.entry
    if (e === undefined) {
      e = {}
      this.entry = e
      b.entries.set(this.key, e)
    }
    return e
  }

  get state(): unknown {
    this.live()
    return this.entry?.s
  }

  set state(s: unknown) {
    if (s === undefined) {
      this.live()
      if (this.entry !== undefined) delete this.entry.s
      return
    }
    this.entryOrNew().s = s
  }

  setTimer(time: number): void {
    this.set('t', time, 'setTimer')
  }

  deleteTimer(time: number): void {
    this.delete('t', time)
  }

  timers(): readonly number[] {
    this.live()
    return [...(this.entry?.t ?? [])]
  }

  setWallClockTimer(time: number): void {
    this.set('w', time, 'setWallClockTimer')
  }

  deleteWallClockTimer(time: number): void {
    this.delete('w', time)
  }

  wallClockTimers(): readonly number[] {
    this.live()
    return [...(this.entry?.w ?? [])]
  }

  private set(field: 't' | 'w', time: number, what: string): void {
    if (typeof time !== 'number' || !Number.isFinite(time))
      throw new TypeError(`process: ${what} needs a time in epoch ms, got ${String(time)}`)
    const e = this.entryOrNew()
    const t = e[field] ?? []
    e[field] = t
    // ascending, one per time
    let i = t.length
    while (i > 0 && (t[i - 1] as number) > time) i--
    if (i > 0 && t[i - 1] === time) return
    t.splice(i, 0, time)
    this.op.timerSet(this.task, this.key, time, field === 'w')
  }

  private delete(field: 't' | 'w', time: number): void {
    this.live()
    const t = this.entry?.[field]
    if (t === undefined) return
    const i = t.indexOf(time)
    if (i >= 0) t.splice(i, 1) // its heap entry is skipped when it comes up
  }

  emit(result: unknown): void {
    this.live()
    this.op.emit(result, this.timestamp)
  }
}
