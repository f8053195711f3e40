import type { DeadLetter, RawRecord, Sink, TopicPartition } from '../connectors/types.js'
import { type Duration, toMillis } from '../dsl/duration.js'
import type { Topology } from '../graph/topology.js'
import { EngineCore } from '../runtime/engine.js'
import type { EngineSnapshot, EngineStatus, TaskGrouping } from '../runtime/types.js'
import { ManualClock } from './manual-clock.js'

/** Options of {@link TestDriver}. */
export type TestDriverOptions = {
  /** Wall-clock start, epoch ms or ISO-8601 (default 2025-01-01T00:00:00Z). */
  startTime?: number | string
  /** Partitions assigned up front, so they hold the watermark before their first record: `{ clicks: 2 }`. */
  partitions?: Readonly<Record<string, number>>
  /** `'forward'` (default) also writes to the topology's real sinks; `'capture'` only records. */
  sinks?: 'forward' | 'capture'
  tasks?: TaskGrouping
}

/** Options of {@link TestDriver.pipe}. */
export type PipeOptions = { partition?: number; timestamp?: number; key?: string | Buffer | null }

const encode = (v: unknown): Buffer | null =>
  v === null ? null : Buffer.isBuffer(v) ? v : Buffer.from(typeof v === 'string' ? v : JSON.stringify(v))

/**
 * Runs a topology with no Kafka and a manual wall clock: pipe records, move the clock, read outputs,
 * crash and restore. Deterministic.
 *
 * @example
 * const d = new TestDriver(app.build(), { startTime: '2025-01-01T12:00:00Z' })
 * await d.pipe('clicks', [{ product_id: 'p-1', timestamp: d.now() }], { partition: 0 })
 * await d.advanceWallClock('11s')
 * d.output('ctr')
 */
export class TestDriver {
  readonly clock: ManualClock
  engine: EngineCore
  private readonly outputs = new Map<string, unknown[]>()
  private readonly dead: DeadLetter[] = []
  private readonly logs = new Map<string, RawRecord[]>()

  constructor(
    readonly topology: Topology,
    private readonly options: TestDriverOptions = {},
  ) {
    const start = options.startTime ?? '2025-01-01T00:00:00Z'
    this.clock = new ManualClock(typeof start === 'number' ? start : Date.parse(start))
    this.engine = this.newEngine()
    this.preassign()
  }

  /** Registers the up-front partitions synchronously, at the current wall-clock time. */
  private preassign(): void {
    const now = this.clock.now()
    for (const tp of this.partitionList()) this.engine.partitionOf(tp, now, false)
  }

  private partitionList(): TopicPartition[] {
    return Object.entries(this.options.partitions ?? {}).flatMap(([topic, n]) =>
      Array.from({ length: n }, (_, partition) => ({ topic, partition })),
    )
  }

  private newEngine(): EngineCore {
    const dlq: Sink<DeadLetter> = { name: 'test-driver-dlq', write: async (rs) => void this.dead.push(...rs) }
    const forward = (this.options.sinks ?? 'forward') === 'forward'
    return new EngineCore(this.topology, {
      clock: this.clock,
      deadLetters: dlq,
      tasks: this.options.tasks ?? 'single',
      wrapSink: (sink) => ({
        name: sink.name,
        write: async (records) => {
          const out = this.outputs.get(sink.name) ?? []
          this.outputs.set(sink.name, out)
          out.push(...records)
          if (forward) await sink.write(records)
        },
      }),
    })
  }

  /** Current wall-clock time. */
  now(): number {
    return this.clock.now()
  }

  /** Sends values (objects are JSON-encoded; strings and Buffers are sent as bytes) to one partition as one batch. */
  async pipe(topic: string, values: readonly unknown[], options: PipeOptions = {}): Promise<void> {
    const partition = options.partition ?? 0
    const log = this.log(topic, partition)
    const key = options.key === undefined || options.key === null ? null : encode(options.key)
    const records: RawRecord[] = values.map((v, i) => ({
      topic,
      partition,
      offset: log.length + i,
      key,
      value: encode(v),
      timestamp: options.timestamp ?? this.clock.now(),
    }))
    log.push(...records)
    await this.engine.process({ topic, partition, records })
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
    await this.engine.tick()
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
    this.engine.restore(JSON.parse(JSON.stringify(snapshot)))
  }

  /**
   * Simulates a crash with no snapshot: a fresh engine replays every partition from its committable offset,
   * as a restarted job would from its committed Kafka offsets.
   */
  async crashAndReplay(): Promise<void> {
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
      const records = log.slice(c.offset)
      if (records.length) await this.engine.process({ topic: c.topic, partition: c.partition, records })
    }
  }
}
