import type { DeadLetter, InputBatch, RawRecord, TopicPartition, TopicPartitionOffset } from '../connectors/types.js'
import { DecodeError } from '../dsl/serde.js'
import type { SourceNode } from '../graph/nodes.js'
import type { Topology } from '../graph/topology.js'
import type { EngineCounters, RecordContext } from './context.js'
import { committableOffsets } from './offsets.js'
import { buildPlan, type Plan } from './plan.js'
import { restoreSnapshot, takeSnapshot } from './snapshot.js'
import { engineStatus } from './status.js'
import { describeTime, parseEventTime } from './time.js'
import type { Clock, Engine, EngineOptions, EngineSnapshot, EngineStatus } from './types.js'
import { type PartitionState, WatermarkTracker } from './watermarks.js'

const systemClock: Clock = { now: () => Date.now() }

/**
 * Creates the runtime of a topology. See {@link Engine}.
 *
 * @example
 * const engine = createEngine(app.build(), { clock: { now: () => Date.now() } })
 */
export function createEngine(topology: Topology, options: EngineOptions = {}): Engine {
  return new EngineCore(topology, options)
}

/** The engine implementation; its fields are read by the snapshot and status helpers. Internal. */
export class EngineCore implements Engine {
  readonly clock: Clock
  readonly tracker: WatermarkTracker
  readonly ctx: RecordContext = { ts: 0, record: null, partition: null }
  readonly counters: EngineCounters = { eventsIn: 0, late: 0, deadLetters: 0, windowsEmitted: 0, lateFirings: 0 }
  readonly plan: Plan
  /** Every partition ever seen, by `topic:partition`; slots are never reused. */
  readonly partitions = new Map<string, PartitionState>()
  readonly slots: PartitionState[] = []
  /** Task ids by index. */
  readonly taskIds: string[] = []
  private readonly dlq: DeadLetter[] = []
  private chain: Promise<unknown> = Promise.resolve()
  private offsets: TopicPartitionOffset[] = []
  private failed: Error | undefined

  constructor(
    readonly topology: Topology,
    readonly options: EngineOptions,
  ) {
    this.clock = options.clock ?? systemClock
    this.tracker = new WatermarkTracker(topology.watermarks)
    this.plan = buildPlan(topology, {
      tracker: this.tracker,
      ctx: this.ctx,
      counters: this.counters,
      late: (message) => this.deadLetter('late_event', message, this.ctx.record as RawRecord),
      // no input record behind a window result: the dead letter carries the result itself
      resultFailed: (operator, result, e) => {
        const w = (result as { key?: unknown; window?: { end: number } }) ?? {}
        const record: RawRecord = {
          topic: operator,
          partition: -1,
          offset: -1,
          key: w.key === undefined ? null : Buffer.from(String(w.key)),
          value: Buffer.from(JSON.stringify(result) ?? 'null'),
          timestamp: (w.window?.end ?? 0) - 1,
        }
        this.deadLetter('processing_error', `${operator}: ${(e as Error)?.message ?? String(e)}`, record)
      },
    })
    const wrap = options.wrapSink
    if (wrap) for (const s of this.plan.sinks) s.sink = wrap(s.sink)
  }

  // ---- serialised operations -------------------------------------------------------------------------

  private serial(op: () => Promise<void> | void): Promise<void> {
    const run = this.chain.then(async () => {
      if (this.failed) throw new Error(`engine stopped after a failed write: ${this.failed.message}`)
      await op()
      this.offsets = committableOffsets(this.plan.windows, this.tracker.partitions)
      this.options.onMetrics?.(this.status())
    })
    this.chain = run.catch(() => {})
    return run
  }

  process(batch: InputBatch): Promise<void> {
    return this.serial(() => {
      const source = this.plan.sources.get(batch.topic)
      if (!source) throw new Error(`topic "${batch.topic}" is not a source of topology "${this.topology.name}"`)
      const now = this.clock.now()
      const p = this.partitionOf(batch, now, true)
      if (this.tracker.refresh(now)) this.advance()
      this.runBatch(source.node, source.push, p, batch.records, now)
      this.ctx.record = null
      return this.flush()
    })
  }

  /** The per-record loop: plain code, no allocation on the happy path. */
  private runBatch(
    node: SourceNode,
    push: (v: unknown) => void,
    p: PartitionState,
    records: readonly RawRecord[],
    now: number,
  ): void {
    const maxFuture = now + this.topology.watermarks.maxFutureSkew
    const serde = node.serde
    const extract = node.timestamp as ((v: unknown) => unknown) | undefined
    const ctx = this.ctx
    const tracker = this.tracker
    const counters = this.counters
    ctx.partition = p
    // records below the next offset are already in the state (a replay after a restore): skip them
    const skipBelow = p.nextOffset ?? Number.NEGATIVE_INFINITY
    for (let i = 0; i < records.length; i++) {
      const rec = records[i] as RawRecord
      const offset = rec.offset
      if (offset < skipBelow) continue
      p.nextOffset = offset + 1
      counters.eventsIn++
      if (rec.value === null) {
        this.deadLetter('invalid_json', 'record has no value', rec)
        continue
      }
      let value: unknown
      let ts = rec.timestamp
      try {
        value = serde.decode(rec.value)
        if (extract !== undefined) {
          const raw = extract(value)
          ts = typeof raw === 'number' && raw - raw === 0 ? raw : parseEventTime(raw, ts)
        }
      } catch (e) {
        this.deadLetter(e instanceof DecodeError ? e.reason : 'invalid_event', (e as Error).message, rec)
        continue
      }
      if (ts > maxFuture) {
        const message = `event time ${describeTime(ts)} is ${Math.round((ts - now) / 1000)} s ahead of the wall clock`
        this.deadLetter('future_timestamp', message, rec)
        continue
      }
      ctx.ts = ts
      ctx.record = rec
      try {
        push(value)
      } catch (e) {
        this.deadLetter('processing_error', `${this.topology.name}: ${(e as Error).message}`, rec)
      }
      const advanced = offset < p.replayUntil ? tracker.observeReplayed(p, ts, now) : tracker.observe(p, ts, now)
      if (advanced) this.advance()
    }
  }

  tick(): Promise<void> {
    return this.serial(() => {
      if (this.tracker.refresh(this.clock.now())) this.advance()
      return this.flush()
    })
  }

  assign(partitions: readonly TopicPartition[]): Promise<void> {
    return this.serial(() => {
      const now = this.clock.now()
      for (const tp of partitions) this.partitionOf(tp, now, false)
    })
  }

  revoke(partitions: readonly TopicPartition[]): Promise<void> {
    return this.serial(() => {
      const now = this.clock.now()
      let advanced = false
      const tasks = new Set<number>()
      for (const tp of partitions) {
        const p = this.partitions.get(`${tp.topic}:${tp.partition}`)
        if (!p || !this.tracker.partitions.includes(p)) continue
        tasks.add(p.task)
        if (this.tracker.remove(p, now)) advanced = true
        // if it comes back, its position and watermark come from a restore or from the committed offset
        p.nextOffset = null
        p.maxEventTime = Number.NEGATIVE_INFINITY
      }
      // a task whose partitions are all gone moves to another instance with its state
      for (const task of tasks) {
        if (this.tracker.partitions.some((q) => q.task === task)) continue
        for (const op of this.plan.windows) op.dropTask(task)
      }
      if (advanced) this.advance()
      return this.flush()
    })
  }

  committable(): TopicPartitionOffset[] {
    return this.offsets.map((o) => ({ ...o }))
  }

  snapshot(): EngineSnapshot {
    return takeSnapshot(this)
  }

  restore(snapshot: EngineSnapshot): void {
    restoreSnapshot(this, snapshot)
    for (const op of this.plan.windows) op.reschedule(this.tracker.watermark)
    this.offsets = committableOffsets(this.plan.windows, this.tracker.partitions)
  }

  status(): EngineStatus {
    return engineStatus(this)
  }

  close(): Promise<void> {
    return this.serial(async () => {
      await this.flush()
      await Promise.all(this.plan.sinks.map((s) => s.sink.flush?.()))
      await this.options.deadLetters?.flush?.()
    })
  }

  // ---- internals -------------------------------------------------------------------------------------

  /** The state of a partition; registers it (counting towards W from `now`) when new or revoked. */
  partitionOf(tp: TopicPartition, now: number, viaBatch: boolean): PartitionState {
    const id = `${tp.topic}:${tp.partition}`
    let p = this.partitions.get(id)
    if (!p) {
      if (viaBatch === false && !this.plan.sources.has(tp.topic)) {
        throw new Error(`topic "${tp.topic}" is not a source of topology "${this.topology.name}"`)
      }
      p = {
        topic: tp.topic,
        partition: tp.partition,
        slot: this.slots.length,
        task: this.taskIndex(tp),
        nextOffset: null,
        maxEventTime: Number.NEGATIVE_INFINITY,
        lastActivity: now,
        lastEventWallTime: null,
        idle: false,
        replayUntil: -1,
      }
      this.partitions.set(id, p)
      this.slots.push(p)
    }
    if (!this.tracker.partitions.includes(p)) {
      p.lastActivity = now
      p.idle = false
      this.tracker.add(p)
    }
    return p
  }

  /** The index of the task a partition belongs to. */
  taskIndex(tp: TopicPartition): number {
    const g = this.options.tasks ?? 'single'
    return this.taskIndexById(g === 'single' ? '0' : g === 'partition' ? String(tp.partition) : g(tp))
  }

  /** The index of a task by id, created when new. */
  taskIndexById(id: string): number {
    const i = this.taskIds.indexOf(id)
    if (i >= 0) return i
    this.taskIds.push(id)
    return this.taskIds.length - 1
  }

  private advance(): void {
    const W = this.tracker.watermark
    for (const op of this.plan.windows) op.onWatermark(W)
  }

  private deadLetter(reason: string, message: string, record: RawRecord): void {
    this.counters.deadLetters++
    const d: DeadLetter = { reason, message, record }
    const route = reason === 'late_event' ? (this.plan.lateEvents ?? this.plan.deadLetters) : this.plan.deadLetters
    if (route) route(d)
    else if (this.options.deadLetters) this.dlq.push(d)
  }

  /** Writes what the batch produced: sink order does not matter, all must be durable before we resolve. */
  private async flush(): Promise<void> {
    const writes: Promise<void>[] = []
    for (const s of this.plan.sinks) {
      if (s.buffer.length === 0) continue
      const out = s.buffer
      s.buffer = []
      writes.push(s.sink.write(out))
    }
    if (this.dlq.length > 0 && this.options.deadLetters) writes.push(this.options.deadLetters.write(this.dlq.splice(0)))
    try {
      await Promise.all(writes)
    } catch (e) {
      // outputs are lost from memory now: the engine must be rebuilt from the last snapshot / committed offsets
      this.failed = e as Error
      throw e
    }
  }
}
