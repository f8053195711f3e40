import type {
  DeadLetter,
  InputBatch,
  RawRecord,
  RepartitionRecord,
  TopicPartition,
  TopicPartitionOffset,
} from '../connectors/types.js'
import { DecodeError } from '../dsl/serde.js'
import type { SourceNode } from '../graph/nodes.js'
import type { Topology } from '../graph/topology.js'
import type { EngineCounters, RecordContext } from './context.js'
import { committableOffsets } from './offsets.js'
import { buildPlan, type Plan, type PlanDeps } from './plan.js'
import { type BundleEntry, partitionForKey, readBundle, repartitionRecord } from './repartition.js'
import { type SinkWriter, SinkWriters } from './sink-writer.js'
import { restoreSnapshot, takeSnapshot } from './snapshot.js'
import { engineStatus } from './status.js'
import { describeTime, parseEventTime } from './time.js'
import type {
  Clock,
  Engine,
  EngineOptions,
  EngineSnapshot,
  EngineStatus,
  RepartitionTopic,
  RepartitionWiring,
} from './types.js'
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
  /** Assigned partitions whose offsets this engine commits (the sources', or its repartition partition). */
  readonly inputs: PartitionState[] = []
  /** Records routed to repartition topics by the current batch (upstream side). */
  private routed: RepartitionRecord[] = []
  private routedRecord: RawRecord | null = null
  /** Partitions the current record was routed to, as `topic index * 2^20 + partition`. */
  private routedTo: number[] = []
  private readonly dlq: DeadLetter[] = []
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
    this.plan = buildPlan(topology, {
      ...repartitionDeps(wiring, (t, index) => (key) => this.route(t, index, key)),
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
    this.writers = options.writers ?? new SinkWriters(undefined, options.onResultLatency)
    this.sinkWriters = this.plan.sinks.map((s) => this.writers.of(s.sink))
    this.dlqWriter = options.deadLetters && this.writers.of(options.deadLetters)
    this.routedWriter = wiring?.role === 'upstream' ? this.writers.of(wiring.sink) : undefined
    if (wiring?.role === 'downstream') {
      const now = this.clock.now()
      for (const tp of wiring.origins) this.originOf(tp.topic, tp.partition, now)
    }
  }

  // ---- serialised operations -------------------------------------------------------------------------

  private serial(op: () => Promise<void> | void): Promise<void> {
    const run = this.chain.then(async () => {
      this.opStartedAt = performance.now()
      // a failed write stops the engine: outputs were lost from memory (rebuild it from the last checkpoint)
      const failed = this.writers.failure
      if (failed) throw failed
      await op()
      this.offsets = committableOffsets(this.plan.windows, this.inputs)
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
    if (wiring?.role === 'downstream' && batch.topic === wiring.topic.topic) {
      this.runRepartitioned(this.partitionOf(batch, now, true), batch.records, now)
      this.ctx.record = null
      return
    }
    const source = this.plan.sources.get(batch.topic)
    if (!source) throw new Error(`topic "${batch.topic}" is not a source of topology "${this.topology.name}"`)
    const p = this.partitionOf(batch, now, true)
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
        if (extract !== undefined) ts = eventTime(extract(value), ts)
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

  /**
   * The downstream side of a repartition topic: drops records already seen (by origin offset), applies markers,
   * and judges each record against the watermark over its origin partitions, W(origin) raised first to what it
   * was just before the record upstream.
   */
  private runRepartitioned(input: PartitionState, records: readonly RawRecord[], now: number): void {
    const skipBelow = input.nextOffset ?? Number.NEGATIVE_INFINITY
    for (let i = 0; i < records.length; i++) {
      const rec = records[i] as RawRecord
      if (rec.offset < skipBelow) continue
      input.nextOffset = rec.offset + 1
      let entries: BundleEntry[]
      try {
        entries = readBundle(rec)
      } catch (e) {
        // a foreign or corrupt record in an internal topic: a dead letter, never a crash loop
        this.deadLetter('invalid_internal_record', (e as Error).message, rec)
        continue
      }
      for (let j = 0; j < entries.length; j++) this.runEntry(entries[j] as BundleEntry, input, now)
    }
  }

  /** One entry of a bundle: a marker's report, or an original record judged as its own partition would judge it. */
  private runEntry(entry: BundleEntry, input: PartitionState, now: number): void {
    const tracker = this.tracker
    if ('marker' in entry) {
      const marker = entry.marker
      for (const m of marker.origins) {
        if (!this.plan.sources.has(m.topic)) continue
        const o = this.originOf(m.topic, m.partition, now)
        tracker.mark(o, m.maxEventTime ?? Number.NEGATIVE_INFINITY, m.idle, m.lastEventWallTime, marker.at, now)
      }
      // once the whole report is applied: half of it could look all-idle
      if (tracker.settle(now)) this.advance()
      return
    }
    const rec = entry.record
    const source = this.plan.sources.get(rec.topic)
    if (!source) return
    const o = this.originOf(rec.topic, rec.partition, now)
    // a record sent again after an upstream crash: already counted here
    if (o.nextOffset !== null && rec.offset < o.nextOffset) return
    o.nextOffset = rec.offset + 1
    this.counters.eventsIn++
    // W(origin) as it was just before this record upstream (usually known already: no work then)
    if (entry.before > o.maxEventTime || o.idle) {
      tracker.mark(o, entry.before, false, null, null, now)
      if (tracker.settle(now)) this.advance()
    }
    let value: unknown
    let ts = rec.timestamp
    try {
      if (rec.value === null) throw new DecodeError('invalid_json', 'record has no value')
      value = source.node.serde.decode(rec.value)
      const extract = source.node.timestamp as ((v: unknown) => unknown) | undefined
      if (extract !== undefined) ts = eventTime(extract(value), ts)
    } catch (e) {
      // the upstream side accepted it; a different schema version here cannot
      this.deadLetter('invalid_event', (e as Error).message, rec)
      return
    }
    const ctx = this.ctx
    ctx.ts = ts
    ctx.record = rec
    ctx.partition = input
    try {
      source.push(value)
    } catch (e) {
      this.deadLetter('processing_error', `${this.topology.name}: ${(e as Error).message}`, rec)
    }
    if (tracker.observe(o, ts, now)) this.advance()
  }

  /** Upstream side: sends the current record to the partition of `key` in the keyBy's topic (once per partition). */
  private route(t: RepartitionTopic, index: number, key: string | number): void {
    const rec = this.ctx.record as RawRecord
    const partition = partitionForKey(key, t.partitions)
    const id = index * 0x100000 + partition
    if (this.routedRecord !== rec) {
      this.routedRecord = rec
      this.routedTo = []
    } else if (this.routedTo.includes(id)) return
    this.routedTo.push(id)
    const p = this.ctx.partition as PartitionState
    this.routed.push(repartitionRecord(rec, t.topic, partition, p.maxEventTime))
  }

  tick(): Promise<void> {
    return this.serial(() => {
      if (this.tracker.refresh(this.clock.now())) this.advance()
      return this.handOff()
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
        if (!p || !this.inputs.includes(p)) continue
        this.inputs.splice(this.inputs.indexOf(p), 1)
        tasks.add(p.task)
        if (this.tracker.partitions.includes(p) && this.tracker.remove(p, now)) advanced = true
        // if it comes back, its position and watermark come from a restore or from the committed offset
        p.nextOffset = null
        p.maxEventTime = Number.NEGATIVE_INFINITY
      }
      // a task whose partitions are all gone moves to another instance with its state
      for (const task of tasks) {
        if (this.inputs.some((q) => q.task === task)) continue
        for (const op of this.plan.windows) op.dropTask(task)
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
    for (const op of this.plan.windows) op.reschedule(this.tracker.watermark)
    this.offsets = committableOffsets(this.plan.windows, this.inputs)
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

  /** True for this engine's repartition input topic (downstream side). */
  private isRepartitionInput(topic: string): boolean {
    const w = this.options.repartition
    return w?.role === 'downstream' && w.topic.topic === topic
  }

  /**
   * The state of an input partition; registers it when new or revoked: a source partition counts towards W from
   * `now`; the repartition partition of a downstream engine only holds offsets (its W comes from the origins).
   */
  partitionOf(tp: TopicPartition, now: number, viaBatch: boolean): PartitionState {
    const p = this.stateOf(tp, now, viaBatch)
    if (!this.inputs.includes(p)) this.inputs.push(p)
    if (this.isRepartitionInput(tp.topic)) return p
    if (!this.tracker.partitions.includes(p)) {
      p.lastActivity = now
      p.idle = false
      this.tracker.add(p)
    }
    return p
  }

  /** The watermark view of a source partition upstream of this engine's repartition topic. */
  originOf(topic: string, partition: number, now: number): PartitionState {
    const p = this.stateOf({ topic, partition }, now, false)
    if (!p.origin) {
      p.origin = true
      p.task = this.taskIndex({ topic, partition })
    }
    if (!this.tracker.partitions.includes(p)) {
      p.lastActivity = now
      p.idle = false
      this.tracker.add(p)
    }
    return p
  }

  private stateOf(tp: TopicPartition, now: number, viaBatch: boolean): PartitionState {
    const id = `${tp.topic}:${tp.partition}`
    let p = this.partitions.get(id)
    if (!p) {
      if (viaBatch === false && !this.plan.sources.has(tp.topic) && !this.isRepartitionInput(tp.topic)) {
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
        origin: false,
        vouchedAt: null,
      }
      this.partitions.set(id, p)
      this.slots.push(p)
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
    if (this.dlq.length > 0 && this.dlqWriter) take(this.dlqWriter.push(this.dlq.splice(0)))
    if (this.routed.length > 0) {
      const out = this.routed
      this.routed = []
      this.routedRecord = null
      if (this.routedWriter) take(this.routedWriter.push(out))
    }
    return waits.length > 0 ? Promise.all(waits).then(() => {}) : undefined
  }
}

/** The event time a timestamp extractor returned: a finite number as is, else parsed (ISO-8601), else `fallback`. */
function eventTime(raw: unknown, fallback: number): number {
  return typeof raw === 'number' && raw - raw === 0 ? raw : parseEventTime(raw, fallback)
}

/** The plan's keyBy wiring for an engine's repartitioning role. */
function repartitionDeps(
  wiring: RepartitionWiring | undefined,
  sender: (t: RepartitionTopic, index: number) => (key: string | number) => void,
): Pick<PlanDeps, 'keyByMode' | 'route' | 'owns'> {
  if (wiring === undefined) return {}
  if (wiring.role === 'upstream') {
    const topics = wiring.topics
    const indexOf = (k: string) => topics.findIndex((t) => t.keyBy === k)
    return {
      keyByMode: (k) => (indexOf(k) >= 0 ? 'route' : 'window'),
      route: (k) => sender(topics[indexOf(k)] as RepartitionTopic, indexOf(k)),
    }
  }
  const { keyBy, partitions } = wiring.topic
  const mine = wiring.partition
  return {
    keyByMode: (k) => (k === keyBy ? 'owned' : 'skip'),
    owns: (_k, key) => partitionForKey(key, partitions) === mine,
  }
}
