import type { DeadLetter, RawRecord, Sink, TopicPartition } from '../connectors/types.js'
import { type Duration, toMillis } from '../core/duration.js'
import type { Topology } from '../graph/topology.js'
import { EngineCore } from '../runtime/engine.js'
import { repartitionTopic } from '../runtime/repartition/codec.js'
import { StagedEngine } from '../runtime/repartition/staged-engine.js'
import type { EngineOptions, EngineSnapshot, EngineStatus } from '../runtime/types.js'
import { ManualClock } from './manual-clock.js'
import { MemoryRepartitionTopic } from './memory-repartition-topic.js'
import { encodeValue, type PipeOptions, type TestDriverOptions } from './test-driver.js'

/**
 * Options of {@link EngineHarness}: the test driver's, less the runner's timers (the harness ticks once per clock
 * move and has no commits). With `repartition`, routed records and watermark markers are delivered after every
 * pipe and clock move.
 *
 * @example
 * new EngineHarness(t, { startTime: '2025-01-01T12:00:00Z', partitions: { views: 2, orders: 1 }, sinks: 'capture' })
 */
export type EngineHarnessOptions = Omit<TestDriverOptions, 'tickInterval' | 'checkpointInterval'>

/**
 * The engine alone (no runner) with a manual wall clock, for this package's tests of the engine and its operators:
 * pipe records, move the clock (one tick per move), read outputs, snapshot, restore and replay at any point.
 * Users test with {@link TestDriver}, which runs the real runner.
 *
 * @example
 * const d = new EngineHarness(app.build(), { startTime: '2025-01-01T12:00:00Z' })
 * await d.pipe('views', [{ page: '/a', at: d.now() }], { partition: 0 })
 * await d.advanceWallClock('11s')
 * d.output('per-page') // what the sink named 'per-page' received
 */
export class EngineHarness {
  /** The driver's wall clock: moved only by {@link EngineHarness.advanceWallClock}. */
  readonly clock: ManualClock
  /** The engine under test. */
  engine: EngineCore | StagedEngine
  /** The in-memory repartition topics, and how far each partition was delivered. */
  private readonly repartitionTopic = new MemoryRepartitionTopic()
  private readonly delivered = new Map<string, number>()
  private readonly outputs = new Map<string, unknown[]>()
  private readonly dead: DeadLetter[] = []
  private readonly logs = new Map<string, RawRecord[]>()
  /**
   * Partitions cut off by {@link outage}, with what was piped to them meanwhile (delivered on recovery, as one
   * batch; `piped`: something was, if only an empty batch, which still makes the partition known).
   */
  private readonly cut = new Map<string, { topic: string; partition: number; records: RawRecord[]; piped: boolean }>()

  constructor(
    readonly topology: Topology,
    private readonly options: EngineHarnessOptions = {},
  ) {
    const start = options.startTime ?? '2025-01-01T00:00:00Z'
    this.clock = new ManualClock(typeof start === 'number' ? start : Date.parse(start))
    this.engine = this.newEngine()
    this.preassign()
  }

  /** Registers the up-front partitions synchronously, at the current wall-clock time. */
  private preassign(): void {
    const now = this.clock.now()
    const e = this.engine
    if (e instanceof StagedEngine) {
      for (const tp of this.partitionList()) e.upstream.partitionOf(tp, now, false)
      for (const t of e.options.topics)
        for (let p = 0; p < t.partitions; p++)
          e.downstreamOf({ topic: t.topic, partition: p }).partitionOf({ topic: t.topic, partition: p }, now, false)
      return
    }
    for (const tp of this.partitionList()) e.partitionOf(tp, now, false)
  }

  private partitionList(): TopicPartition[] {
    return Object.entries(this.options.partitions ?? {}).flatMap(([topic, n]) =>
      Array.from({ length: n }, (_, partition) => ({ topic, partition })),
    )
  }

  private newEngine(): EngineCore | StagedEngine {
    const dlq: Sink<DeadLetter> = { name: 'test-driver-dlq', write: async (rs) => void this.dead.push(...rs) }
    const forward = (this.options.sinks ?? 'forward') === 'forward'
    const common: EngineOptions = {
      clock: this.clock,
      deadLetters: dlq,
      // everything piped is delivered at once, so a partition is caught up unless an outage cuts it off
      caughtUp: (tp) => !this.cut.has(`${tp.topic}:${tp.partition}`),
      wrapSink: (sink) => ({
        name: sink.name,
        write: async (records) => {
          const out = this.outputs.get(sink.name) ?? []
          this.outputs.set(sink.name, out)
          out.push(...records)
          if (forward) await sink.write(records)
        },
      }),
    }
    const n = this.options.repartition
    if (n === undefined) return new EngineCore(this.topology, { ...common, tasks: this.options.tasks ?? 'single' })
    const origins = this.partitionList()
    if (origins.length === 0) throw new Error('TestDriver: repartition needs the source partitions (option partitions)')
    const topics = this.topology.nodes
      .filter((x) => x.kind === 'keyBy')
      .map((x) => ({ keyBy: x.name, topic: repartitionTopic(this.topology.name, x.name), partitions: n }))
    const sink = this.repartitionTopic
    return new StagedEngine(this.topology, { ...common, topics, sink, origins })
  }

  /** Staged mode: hands the repartition partitions their new records, in order. */
  private async deliver(): Promise<void> {
    const e = this.engine
    if (!(e instanceof StagedEngine)) return
    for (const [id, log] of this.repartitionTopic.logs) {
      const from = this.delivered.get(id) ?? 0
      if (from >= log.length) continue
      this.delivered.set(id, log.length)
      const first = log[0] as RawRecord
      await e.process({ topic: first.topic, partition: first.partition, records: log.slice(from) })
    }
  }

  /** Current wall-clock time. */
  now(): number {
    return this.clock.now()
  }

  /** Sends values (objects are JSON-encoded; strings and Buffers are sent as bytes) to one partition as one batch. */
  async pipe(topic: string, values: readonly unknown[], options: PipeOptions = {}): Promise<void> {
    const partition = options.partition ?? 0
    const log = this.log(topic, partition)
    const k = options.key
    const keyOf = (v: unknown, i: number): Buffer | null => {
      const raw = typeof k === 'function' ? k(v, i) : k
      return raw === undefined || raw === null ? null : encodeValue(raw)
    }
    const records: RawRecord[] = values.map((v, i) => ({
      topic,
      partition,
      offset: log.length + i,
      key: keyOf(v, i),
      value: encodeValue(v),
      timestamp: options.timestamp ?? this.clock.now(),
    }))
    log.push(...records)
    const held = this.cut.get(`${topic}:${partition}`)
    if (held) {
      held.records.push(...records)
      held.piped = true
      return
    }
    await this.deliverBatch({ topic, partition, records })
  }

  private async deliverBatch(batch: { topic: string; partition: number; records: RawRecord[] }): Promise<void> {
    await this.engine.process(batch)
    if (this.engine instanceof StagedEngine) {
      // as if every partition's markers were sent after each batch: the tasks see what a single engine sees
      await this.engine.sendMarkers()
      await this.deliver()
    }
    await this.engine.flush()
  }

  /**
   * Cuts partitions off (default: every partition piped to or assigned so far), as a broker outage, failing
   * fetches or a paused consumer would: what is piped to them waits, and they are never idle meanwhile.
   */
  outage(partitions?: readonly TopicPartition[]): void {
    for (const tp of partitions ?? this.knownPartitions()) {
      const id = `${tp.topic}:${tp.partition}`
      if (!this.cut.has(id)) this.cut.set(id, { topic: tp.topic, partition: tp.partition, records: [], piped: false })
    }
  }

  /** Ends an outage (default: all): what was piped meanwhile is delivered, one batch per partition. */
  async recover(partitions?: readonly TopicPartition[]): Promise<void> {
    const ids = partitions ? partitions.map((tp) => `${tp.topic}:${tp.partition}`) : [...this.cut.keys()]
    for (const id of ids) {
      const held = this.cut.get(id)
      if (!held) continue
      this.cut.delete(id)
      if (held.piped) await this.deliverBatch({ topic: held.topic, partition: held.partition, records: held.records })
    }
    // the runner ticks every 200 ms: a recovered partition that is silent and caught up may be idle at once
    await this.advanceWallClock(0)
  }

  private knownPartitions(): TopicPartition[] {
    const ids = new Set([...this.logs.keys(), ...this.partitionList().map((tp) => `${tp.topic}:${tp.partition}`)])
    return [...ids].map((id) => {
      const i = id.lastIndexOf(':')
      return { topic: id.slice(0, i), partition: Number(id.slice(i + 1)) }
    })
  }

  private log(topic: string, partition: number): RawRecord[] {
    const id = `${topic}:${partition}`
    const log = this.logs.get(id) ?? []
    this.logs.set(id, log)
    return log
  }

  /** Moves the wall clock forward and lets the engine tick (idleness, all-idle advance, firing). */
  async advanceWallClock(d: Duration): Promise<void> {
    this.clock.advance(toMillis(d))
    const e = this.engine
    if (!(e instanceof StagedEngine)) {
      await e.tick()
      return e.flush()
    }
    await e.upstream.tick()
    // a heartbeat: the tasks' all-idle advance runs on the markers' times
    await e.sendMarkers('always')
    await this.deliver()
    for (const task of e.downstream.values()) await task.tick()
    await e.flush()
  }

  /** Everything written to a sink so far, by sink name or sink object. */
  output<T>(sink: string | Sink<T>): T[] {
    return [...((this.outputs.get(typeof sink === 'string' ? sink : sink.name) ?? []) as T[])]
  }

  /** Dead letters the topology did not route itself (bad records, future timestamps, late events). */
  deadLetters(): DeadLetter[] {
    return [...this.dead]
  }

  /** Late events among {@link deadLetters}. */
  lateEvents(): DeadLetter[] {
    return this.dead.filter((d) => d.reason === 'late_event')
  }

  /** The job's status, as the runner's `/status` shows it: watermark, partitions, the oldest open window and why. */
  status(): EngineStatus {
    return this.engine.status()
  }

  /** A JSON round-tripped snapshot (proves it is serialisable). */
  snapshot(): EngineSnapshot {
    return JSON.parse(JSON.stringify(this.engine.snapshot()))
  }

  /** Simulates a crash and a restart from `snapshot`: in-memory state is lost, the snapshot is loaded. */
  restore(snapshot: EngineSnapshot): void {
    this.engine = this.newEngine()
    const e = this.engine
    e.restore(JSON.parse(JSON.stringify(snapshot)))
    if (e instanceof StagedEngine) {
      // a restored task reads its repartition partition from its restored position
      this.delivered.clear()
      for (const [id, task] of e.downstream) this.delivered.set(id, task.inputs[0]?.nextOffset ?? 0)
    }
  }

  /**
   * Simulates a crash with no snapshot: a fresh engine replays every partition from its committable offset,
   * as a restarted job would from its committed Kafka offsets.
   */
  async crashAndReplay(): Promise<void> {
    if (this.engine instanceof StagedEngine)
      throw new Error('TestDriver: a repartitioned topology recovers from snapshots only')
    const committed = this.engine.committable()
    const at = new Map(committed.map((c) => [`${c.topic}:${c.partition}`, c.offset]))
    // what a runner keeps with its commit: watermarks and positions, no window state
    const s = this.engine.snapshot()
    const marks: EngineSnapshot = {
      ...s,
      tasks: s.tasks.map((t) => ({
        ...t,
        windows: [],
        partitions: t.partitions.map((p) => ({
          ...p,
          nextOffset: at.get(`${p.topic}:${p.partition}`) ?? null,
          replayUntil: p.nextOffset,
        })),
      })),
    }
    this.engine = this.newEngine()
    this.preassign()
    this.engine.restore(marks)
    for (const c of committed) {
      const log = this.logs.get(`${c.topic}:${c.partition}`) ?? []
      // records held by an outage are not read yet: they come when it ends
      const held = this.cut.get(`${c.topic}:${c.partition}`)?.records.length ?? 0
      const records = log.slice(c.offset, log.length - held)
      if (records.length) await this.engine.process({ topic: c.topic, partition: c.partition, records })
    }
    await this.engine.flush()
  }
}
