/**
 * The plain engine: runs a topology's plan over input batches, one serialised operation at a time, and hands
 * each operation's outputs to the sinks' writers. Its other roles live beside it: partitions and tasks in
 * `task-registry.ts`, dead-letter routing in `dead-letters.ts`, the two sides of repartitioning in
 * `repartition/` (an engine is given one with `EngineOptions.repartition` by the staged engine).
 */
import type {
  DeadLetter,
  InputBatch,
  RawRecord,
  RepartitionRecord,
  TopicPartition,
  TopicPartitionOffset,
} from '../connectors/types.js'
import { DecodeError } from '../core/serde.js'
import { decodeTableRecord } from '../core/table.js'
import type { SourceNode } from '../graph/nodes.js'
import { chainedKeyBys, chainedMessage } from '../graph/repartition.js'
import type { Topology } from '../graph/topology.js'
import { TopologyError } from '../graph/topology.js'
import { memoryStateBackend } from '../state/state-backend.js'
import type { EngineCounters, RecordContext } from './context.js'
import { DeadLetterRouter } from './dead-letters.js'
import type { EngineInternals } from './engine-internals.js'
import { committableOffsets } from './offsets.js'
import type { StatefulOperator } from './operators/index.js'
import { buildPlan, type Plan } from './plan.js'
import { DownstreamInput } from './repartition/downstream-input.js'
import { repartitionDeps } from './repartition/plan-wiring.js'
import { UpstreamRouter } from './repartition/upstream-router.js'
import { type SinkWriter, SinkWriters } from './sink-writer.js'
import { restoreSnapshot, takeSnapshot } from './snapshot.js'
import { engineStatus } from './status.js'
import { TaskRegistry } from './task-registry.js'
import { describeTime, eventTime } from './time.js'
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

/**
 * The narrow view of an engine made by {@link createEngine} (for the snapshot, the status and the checkpointer);
 * undefined for any other {@link Engine}.
 */
export function engineInternals(engine: Engine): EngineInternals | undefined {
  return engine instanceof EngineCore ? engine : undefined
}

/** The engine implementation. Internal: other modules see it through {@link EngineInternals}. */
export class EngineCore implements Engine, EngineInternals {
  readonly clock: Clock
  readonly tracker: WatermarkTracker
  readonly ctx: RecordContext = { ts: 0, record: null, partition: null }
  readonly counters: EngineCounters = {
    eventsIn: 0,
    late: 0,
    deadLetters: 0,
    windowsEmitted: 0,
    lateFirings: 0,
    duplicatesDropped: 0,
  }
  readonly plan: Plan
  readonly tasks: TaskRegistry
  private readonly deadLetters: DeadLetterRouter
  /** The upstream side of repartitioning, when this engine has that role. */
  private readonly router: UpstreamRouter | undefined
  /** The downstream side of repartitioning, when this engine has that role. */
  private readonly downstream: DownstreamInput | undefined
  private chain: Promise<unknown> = Promise.resolve()
  /** When the current operation started (`performance.now()`): its results' latency counts from here. */
  private opStartedAt = 0
  private offsets: TopicPartitionOffset[] = []
  /** Ordered, coalescing writers of every sink this engine writes to (shared by the tasks of a staged engine). */
  readonly writers: SinkWriters
  private readonly sinkWriters: SinkWriter<unknown>[]
  private readonly dlqWriter: SinkWriter<DeadLetter> | undefined
  private readonly routedWriter: SinkWriter<RepartitionRecord> | undefined

  constructor(
    readonly topology: Topology,
    readonly options: EngineOptions,
  ) {
    this.clock = options.clock ?? systemClock
    const caughtUp = options.caughtUp
    this.tracker = new WatermarkTracker(topology.watermarks, caughtUp ? (p, now) => caughtUp(p, now) : undefined)
    const wiring = options.repartition
    const chained = chainedKeyBys(topology)
    if (chained.length > 0 && ((options.tasks ?? 'single') !== 'single' || wiring !== undefined))
      throw new TopologyError(chained[0], chainedMessage)
    this.tasks = new TaskRegistry({
      grouping: options.tasks ?? 'single',
      tracker: this.tracker,
      isSource: (topic) => this.plan.sources.has(topic),
      isRepartitionInput: (topic) => wiring?.role === 'downstream' && wiring.topic.topic === topic,
      topologyName: topology.name,
    })
    this.deadLetters = new DeadLetterRouter(this.counters, options.deadLetters !== undefined)
    const router = wiring?.role === 'upstream' ? new UpstreamRouter(this.ctx, this.deadLetters) : undefined
    this.plan = buildPlan(topology, {
      ...repartitionDeps(wiring, (t, index) => (key) => router?.route(t, index, key)),
      tracker: this.tracker,
      state: options.state ?? memoryStateBackend,
      ctx: this.ctx,
      counters: this.counters,
      // a value emitted from state (a join's or a window's result keyed again) while no record is read has none
      late: (message) => this.deadLetters.send('late_event', message, this.ctx.record ?? this.derivedRecord()),
      // no input record behind a window result: the dead letter carries the result itself
      resultFailed: (operator, result, e, ts) => {
        const w = (result as { key?: unknown; window?: { end: number } }) ?? {}
        const record: RawRecord = {
          topic: operator,
          partition: -1,
          offset: -1,
          key: w.key === undefined ? null : Buffer.from(String(w.key)),
          value: Buffer.from(JSON.stringify(result) ?? 'null'),
          timestamp: ts ?? (w.window?.end ?? 0) - 1,
        }
        this.deadLetters.send('processing_error', `${operator}: ${(e as Error)?.message ?? String(e)}`, record)
      },
    })
    this.deadLetters.useRoutes(this.plan)
    this.router = router
    this.downstream =
      wiring?.role === 'downstream'
        ? new DownstreamInput({
            topologyName: topology.name,
            plan: this.plan,
            tracker: this.tracker,
            ctx: this.ctx,
            counters: this.counters,
            tasks: this.tasks,
            deadLetters: this.deadLetters,
            advance: () => this.advance(),
          })
        : undefined
    const wrap = options.wrapSink
    if (wrap) for (const s of this.plan.sinks) s.sink = wrap(s.sink)
    this.writers = options.writers ?? new SinkWriters(undefined, options.onResultLatency)
    this.sinkWriters = this.plan.sinks.map((s) => this.writers.of(s.sink))
    this.dlqWriter = options.deadLetters && this.writers.of(options.deadLetters)
    this.routedWriter = wiring?.role === 'upstream' ? this.writers.of(wiring.sink) : undefined
    if (wiring?.role === 'downstream') {
      const now = this.clock.now()
      for (const tp of wiring.origins) this.tasks.originOf(tp.topic, tp.partition, now)
    }
  }

  /** A stand-in for the record of a value emitted from state, for its dead letter: its event time, no payload. */
  private derivedRecord(): RawRecord {
    return { topic: this.topology.name, partition: -1, offset: -1, key: null, value: null, timestamp: this.ctx.ts }
  }

  // ---- serialised operations -------------------------------------------------------------------------

  private serial(op: () => Promise<void> | void): Promise<void> {
    const run = this.chain.then(async () => {
      this.opStartedAt = performance.now()
      // a failed write stops the engine: outputs were lost from memory (rebuild it from the last checkpoint)
      const failed = this.writers.failure
      if (failed) throw failed
      await op()
      this.offsets = committableOffsets(this.plan.operators, this.tasks.inputs)
      this.options.onMetrics?.(this.status())
    })
    this.chain = run.catch(() => {})
    return run
  }

  /**
   * Processes one partition's batch; resolves once its outputs are handed to the sinks' writers (and, when
   * those hold too much, once they have room). {@link flush} makes them durable.
   */
  process(batch: InputBatch): Promise<void> {
    return this.serial(() => {
      this.processOne(batch)
      return this.handOff()
    })
  }

  /** Processes the batches of one poll in order, then hands their outputs over once. */
  processAll(batches: readonly InputBatch[]): Promise<void> {
    return this.serial(() => {
      for (let i = 0; i < batches.length; i++) this.processOne(batches[i] as InputBatch)
      return this.handOff()
    })
  }

  private processOne(batch: InputBatch): void {
    const wiring = this.options.repartition
    const now = this.clock.now()
    if (this.downstream !== undefined && wiring?.role === 'downstream' && batch.topic === wiring.topic.topic) {
      this.downstream.run(this.tasks.partitionOf(batch, now, true), batch.records, now)
      this.ctx.record = null
      return
    }
    const source = this.plan.sources.get(batch.topic)
    if (!source) throw new Error(`topic "${batch.topic}" is not a source of topology "${this.topology.name}"`)
    const p = this.tasks.partitionOf(batch, now, true)
    if (this.tracker.refresh(now)) this.advance()
    this.runBatch(source.node, source.push, p, batch.records, now)
    this.ctx.record = null
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
    const table = node.table === true
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
      if (rec.value === null && !table) {
        this.deadLetters.send('invalid_json', 'record has no value', rec)
        continue
      }
      let value: unknown
      let ts = rec.timestamp
      try {
        if (table) {
          // a table's change: the row key and its value, null for a tombstone (whose time is the record's)
          const change = decodeTableRecord(serde, rec)
          value = change
          if (extract !== undefined && change.value !== null) ts = eventTime(extract(change.value), ts)
        } else {
          value = serde.decode(rec.value as Buffer)
          if (extract !== undefined) ts = eventTime(extract(value), ts)
        }
      } catch (e) {
        this.deadLetters.send(e instanceof DecodeError ? e.reason : 'invalid_event', (e as Error).message, rec)
        continue
      }
      if (ts > maxFuture) {
        const message = `event time ${describeTime(ts)} is ${Math.round((ts - now) / 1000)} s ahead of the wall clock`
        this.deadLetters.send('future_timestamp', message, rec)
        continue
      }
      ctx.ts = ts
      ctx.record = rec
      try {
        push(value)
      } catch (e) {
        this.deadLetters.send('processing_error', `${this.topology.name}: ${(e as Error).message}`, rec)
      }
      const advanced = offset < p.replayUntil ? tracker.observeReplayed(p, ts, now) : tracker.observe(p, ts, now)
      if (advanced) this.advance()
    }
  }

  tick(): Promise<void> {
    return this.serial(() => {
      const now = this.clock.now()
      if (this.tracker.refresh(now)) this.advance()
      for (const op of this.plan.operators) op.onWallClock?.(now)
      return this.handOff()
    })
  }

  assign(partitions: readonly TopicPartition[]): Promise<void> {
    return this.serial(() => {
      const now = this.clock.now()
      for (const tp of partitions) this.tasks.partitionOf(tp, now, false)
    })
  }

  revoke(partitions: readonly TopicPartition[]): Promise<void> {
    return this.serial(() => {
      const now = this.clock.now()
      let advanced = false
      const tasks = new Set<number>()
      for (const tp of partitions) {
        const p = this.tasks.release(tp)
        if (!p) continue
        tasks.add(p.task)
        if (this.tracker.partitions.includes(p) && this.tracker.remove(p, now)) advanced = true
        // if it comes back, its position and watermark come from a restore or from the committed offset
        p.nextOffset = null
        p.maxEventTime = Number.NEGATIVE_INFINITY
      }
      // a task whose partitions are all gone moves to another instance with its state
      for (const task of tasks) {
        if (this.tasks.owns(task)) continue
        for (const op of this.plan.operators) op.dropTask(task)
      }
      if (advanced) this.advance()
      return this.handOff()
    })
  }

  committable(): TopicPartitionOffset[] {
    // outputs were lost from memory with a failed write: nothing after the last commit is safe
    if (this.writers.failure) return []
    return this.offsets.map((o) => ({ ...o }))
  }

  snapshot(): EngineSnapshot {
    return takeSnapshot(this)
  }

  restore(snapshot: EngineSnapshot): void {
    restoreSnapshot(this, snapshot)
    for (const op of this.plan.operators) op.restored(this.tracker.watermark)
    this.offsets = committableOffsets(this.plan.operators, this.tasks.inputs)
  }

  status(): EngineStatus {
    return engineStatus(this)
  }

  endOfInput(): Promise<void> {
    return this.serial(() => {
      this.tracker.watermark = Number.POSITIVE_INFINITY
      this.advance()
      return this.handOff()
    })
  }

  /** Resolves once every output of the operations so far is durable; rejects if a write failed. */
  flush(): Promise<void> {
    return this.serial(() => this.writers.flush())
  }

  /** Writes what is pending and flushes the sinks; never fires a window early. */
  close(): Promise<void> {
    return this.serial(async () => {
      await this.handOff()
      await this.writers.flush()
      await Promise.all(this.plan.sinks.map((s) => s.sink.flush?.()))
      await this.options.deadLetters?.flush?.()
    })
  }

  // ---- internals -------------------------------------------------------------------------------------

  /** The plan's stateful operators. */
  get operators(): readonly StatefulOperator[] {
    return this.plan.operators
  }

  /** Registers an input partition (see {@link TaskRegistry.partitionOf}); the test driver pre-assigns with it. */
  partitionOf(tp: TopicPartition, now: number, viaBatch: boolean): PartitionState {
    return this.tasks.partitionOf(tp, now, viaBatch)
  }

  /** Assigned partitions whose offsets this engine commits (see {@link TaskRegistry.inputs}). */
  get inputs(): readonly PartitionState[] {
    return this.tasks.inputs
  }

  private advance(): void {
    const W = this.tracker.watermark
    for (const op of this.plan.operators) op.onWatermark(W)
  }

  /**
   * Hands what the operation produced to the sinks' writers (in order: each sink gets its records in the order
   * they were produced). Returns a promise only when a writer holds too much and must be waited for.
   */
  private handOff(): Promise<void> | undefined {
    const waits: Promise<void>[] = []
    const take = (w: Promise<void> | undefined) => {
      if (w) waits.push(w)
    }
    const sinks = this.plan.sinks
    for (let i = 0; i < sinks.length; i++) {
      const s = sinks[i] as (typeof sinks)[number]
      if (s.buffer.length === 0) continue
      const out = s.buffer
      s.buffer = []
      take((this.sinkWriters[i] as SinkWriter<unknown>).push(out, this.opStartedAt))
    }
    const dead = this.deadLetters.take()
    if (dead && this.dlqWriter) take(this.dlqWriter.push(dead))
    const routed = this.router?.take()
    if (routed && this.routedWriter) take(this.routedWriter.push(routed))
    return waits.length > 0 ? Promise.all(waits).then(() => {}) : undefined
  }
}
