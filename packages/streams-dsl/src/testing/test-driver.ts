import pino from 'pino'
import { VirtualTimeScheduler } from 'rxjs'
import type { TaskCheckpoint } from '../checkpoint/checkpoint.js'
import { MemoryCheckpointStore } from '../checkpoint/memory-checkpoint-store.js'
import type { DeadLetter, RepartitionRecord, Sink, TopicPartition } from '../connectors/types.js'
import { type Duration, toMillis } from '../core/duration.js'
import type { Topology } from '../graph/topology.js'
import { createRunner, type Runner } from '../runner/runner.js'
import { encodeBundles, repartitionTopic } from '../runtime/repartition/codec.js'
import type { EngineSnapshot, EngineStatus, TaskGrouping } from '../runtime/types.js'
import type { StateBackend } from '../state/state-backend.js'
import { ManualClock } from './manual-clock.js'
import { MemorySource } from './memory-source.js'

/**
 * Options of {@link TestDriver}.
 *
 * @example
 * new TestDriver(t, { startTime: '2025-01-01T12:00:00Z', partitions: { views: 2, orders: 1 }, sinks: 'capture' })
 */
export type TestDriverOptions = {
  /** Wall-clock start, epoch ms or ISO-8601 (default 2025-01-01T00:00:00Z). */
  startTime?: number | string
  /** Partitions assigned up front, so they hold the watermark before their first record: `{ clicks: 2 }`. */
  partitions?: Readonly<Record<string, number>>
  /** `'forward'` (default) also writes to the topology's real sinks; `'capture'` only records. */
  sinks?: 'forward' | 'capture'
  /** How partitions group into tasks (default `'single'`). */
  tasks?: TaskGrouping
  /**
   * Runs every keyBy through an in-memory repartition topic of this many partitions, read back by the runner as
   * a Kafka repartition topic would be (the staged engine `tasks: 'auto'` uses for input not partitioned by the
   * key). Needs `partitions`: the source partitions W is the least over.
   */
  repartition?: number
  /** The runner's tick interval on the driver's clock (default 200 ms, as `TICK_INTERVAL_MS`). */
  tickInterval?: Duration
  /** How often the runner commits, with a checkpoint (default 5 s, as `CHECKPOINT_INTERVAL_MS`). */
  checkpointInterval?: Duration
  /** Where operators keep their state (default in the heap; e.g. `sqliteStateBackend()` of `@ctr/streams-dsl/state`). */
  state?: StateBackend
  /** Incremental checkpoints, as `CHECKPOINT_INCREMENTAL=on` (default off). */
  incrementalCheckpoints?: boolean
}

/**
 * Options of {@link TestDriver.pipe}.
 *
 * @example
 * await d.pipe('views', [{ page: '/a' }], { partition: 1, timestamp: d.now() - 5000, key: '/a' })
 */
export type PipeOptions = {
  /** Default 0. */
  partition?: number
  /** The records' Kafka timestamp (event time when the payload has none); default: the wall clock. */
  timestamp?: number
  /** The records' key, or a function giving each record's (its value and index in the call); default none. */
  key?: string | Buffer | null | ((value: unknown, index: number) => string | Buffer | null)
}

/** A value as the driver sends it: objects JSON-encoded, strings and Buffers as bytes. */
export const encodeValue = (v: unknown): Buffer | null =>
  v === null ? null : Buffer.isBuffer(v) ? v : Buffer.from(typeof v === 'string' ? v : JSON.stringify(v))

/** A virtual-time scheduler whose `now()` is the driver's wall clock. */
class DriverScheduler extends VirtualTimeScheduler {
  constructor(readonly start: number) {
    super()
    this.now = () => this.start + this.frame
  }
  /** When the next timer is due (epoch ms), if any. */
  next(): number | undefined {
    const a = this.actions[0]
    return a === undefined ? undefined : this.start + a.delay
  }
  /** Runs the timers due at or before `time`, in order, and moves to it. */
  runUntil(time: number): void {
    this.maxFrames = time - this.start
    this.flush()
    this.frame = time - this.start
  }
}

/**
 * Runs a topology on the real runner (`createRunner`: the same RxJS pipeline of batches, ticks, commits and
 * rebalances, the same checkpoints and dead-letter handling) over an in-memory source, with no Kafka or Redis and
 * a manual wall clock that drives the runner's timers: pipe records, move the clock, read outputs, crash and
 * restore. Deterministic.
 *
 * @example
 * const d = new TestDriver(app.build(), { startTime: '2025-01-01T12:00:00Z' })
 * await d.pipe('views', [{ page: '/a', at: d.now() }], { partition: 0 })
 * await d.advanceWallClock('11s')
 * d.output('per-page') // what the sink named 'per-page' received
 */
export class TestDriver {
  /** The driver's wall clock: moved only by {@link TestDriver.advanceWallClock}. */
  readonly clock: ManualClock
  readonly #scheduler: DriverScheduler
  readonly #source: MemorySource
  #store = new MemoryCheckpointStore()
  #runner: Runner
  #ready: Promise<void>
  readonly #outputs = new Map<string, unknown[]>()
  readonly #dead: DeadLetter[] = []
  /** The in-memory repartition topics and their partition count. */
  readonly #repartition: ReadonlyMap<string, number>

  constructor(
    readonly topology: Topology,
    private readonly options: TestDriverOptions = {},
  ) {
    const start = options.startTime ?? '2025-01-01T00:00:00Z'
    const t0 = typeof start === 'number' ? start : Date.parse(start)
    this.clock = new ManualClock(t0)
    this.#scheduler = new DriverScheduler(t0)
    const n = options.repartition
    const declared = options.partitions ?? {}
    if (n !== undefined && Object.keys(declared).length === 0)
      throw new Error('TestDriver: repartition needs the source partitions (option partitions)')
    this.#repartition = new Map(
      n === undefined
        ? []
        : topology.nodes.filter((x) => x.kind === 'keyBy').map((x) => [repartitionTopic(topology.name, x.name), n]),
    )
    const counts: Record<string, number> = {}
    for (const t of topology.sourceTopics) counts[t] = declared[t] ?? 0
    for (const [t, p] of this.#repartition) counts[t] = p
    this.#source = new MemorySource(counts, this.clock)
    this.#runner = this.#newRunner(this.#store)
    this.#ready = this.#runner.start()
    this.#ready.catch(() => {}) // reported by the first call that awaits it
  }

  #newRunner(store: MemoryCheckpointStore): Runner {
    const forward = (this.options.sinks ?? 'forward') === 'forward'
    const dlq: Sink<DeadLetter> = { name: 'test-driver-dlq', write: async (rs) => void this.#dead.push(...rs) }
    const source = this.#source
    const repartitionSink: Sink<RepartitionRecord> = {
      name: 'test-driver-repartition',
      // the bundles a Kafka repartition topic would hold; the source delivers them to the runner as it reads them
      write: async (records) => {
        for (const b of encodeBundles(records))
          void source.push(b.topic, b.partition, [{ value: b.value, timestamp: 0 }])
      },
    }
    const counts = new Map(this.topology.sourceTopics.map((t) => [t, this.options.partitions?.[t] ?? 0]))
    const ms = (d: Duration | undefined, fallback: number) => (d === undefined ? fallback : toMillis(d))
    return createRunner(this.topology, {
      env: {},
      config: { port: 0, tickIntervalMs: ms(this.options.tickInterval, 200) },
      checkpoints: {
        enabled: true,
        intervalMs: ms(this.options.checkpointInterval, 5000),
        incremental: this.options.incrementalCheckpoints ?? false,
      },
      tasks: this.options.tasks ?? 'single',
      requireRedis: false,
      clock: this.clock,
      logger: pino({ level: 'silent' }),
      source: () => source,
      deadLetters: dlq,
      checkpointStore: store,
      ...(this.options.state && { state: this.options.state }),
      harness: {
        scheduler: this.#scheduler,
        partitionCounts: counts,
        ...(this.options.repartition !== undefined && {
          repartition: { partitions: this.options.repartition, sink: repartitionSink },
        }),
        wrapSink: (sink) => ({
          name: sink.name,
          ...(sink.maxBatch !== undefined && { maxBatch: sink.maxBatch }),
          write: async (records, readable) => {
            const out = this.#outputs.get(sink.name) ?? []
            this.#outputs.set(sink.name, out)
            out.push(...records)
            if (forward) await sink.write(records, readable)
          },
        }),
      },
    })
  }

  /** Waits until the runner has processed everything the source holds and written every output. */
  async #settle(o: { tick?: boolean } = {}): Promise<void> {
    await this.#ready
    let tick = o.tick
    for (;;) {
      try {
        await this.#source.settled()
        await this.#runner.settle({ tick: tick === true })
      } catch (e) {
        this.#failed() // the runner's own error, when it stopped
        throw e
      }
      tick = false
      // results routed through an in-memory repartition topic are read back: go on until nothing is left
      if (!this.#source.busy) return this.#failed()
    }
  }

  /** A runner that failed (a sink threw, a bad checkpoint) fails the driver's call, with its error. */
  #failed(): void {
    const r = this.#runner
    if (r.state === 'running') return
    const error = r.status().error
    throw new Error(`TestDriver: the runner stopped${error === undefined ? ` (${r.state})` : `: ${error}`}`)
  }

  /** Current wall-clock time. */
  now(): number {
    return this.clock.now()
  }

  /** Sends values (objects are JSON-encoded; strings and Buffers are sent as bytes) to one partition as one batch. */
  async pipe(topic: string, values: readonly unknown[], options: PipeOptions = {}): Promise<void> {
    await this.#ready
    if (!this.topology.sourceTopics.includes(topic))
      throw new Error(
        `TestDriver: "${topic}" is not a source topic of "${this.topology.name}" (${this.topology.sourceTopics.join(', ')})`,
      )
    const partition = options.partition ?? 0
    await this.#source.addPartitions([{ topic, partition }])
    const k = options.key
    const keyOf = (v: unknown, i: number): Buffer | null => {
      const raw = typeof k === 'function' ? k(v, i) : k
      return raw === undefined || raw === null ? null : encodeValue(raw)
    }
    const timestamp = options.timestamp ?? this.clock.now()
    await this.#source.push(
      topic,
      partition,
      values.map((v, i) => ({ key: keyOf(v, i), value: encodeValue(v), timestamp })),
    )
    await this.#settle()
  }

  /**
   * Cuts partitions off (default: every partition piped to or assigned so far), as a broker outage, failing
   * fetches or a paused consumer would: what is piped to them waits, and they are never idle meanwhile.
   */
  outage(partitions?: readonly TopicPartition[]): void {
    this.#source.outage(partitions ?? this.#sourcePartitions())
  }

  /** Ends an outage (default: all): what was piped meanwhile is delivered, one batch per partition. */
  async recover(partitions?: readonly TopicPartition[]): Promise<void> {
    await this.#ready
    await this.#source.recover(partitions ?? this.#sourcePartitions())
    // the runner ticks every 200 ms: a recovered partition that is silent and caught up may be idle at once
    await this.#settle({ tick: true })
  }

  #sourcePartitions(): TopicPartition[] {
    return this.#source.all().filter((tp) => !this.#repartition.has(tp.topic))
  }

  /**
   * Moves the wall clock forward. The runner's timers fire on the way, each at its time (a tick every
   * `tickInterval`: idleness, the all-idle advance, firing; a commit with a checkpoint every `checkpointInterval`),
   * and the runner ticks once more at the new time.
   */
  async advanceWallClock(d: Duration): Promise<void> {
    await this.#ready
    const target = this.clock.now() + toMillis(d)
    for (let next = this.#scheduler.next(); next !== undefined && next <= target; next = this.#scheduler.next()) {
      this.clock.set(Math.max(this.clock.now(), next))
      this.#scheduler.runUntil(next)
      await this.#settle()
    }
    this.clock.set(target)
    this.#scheduler.runUntil(target)
    await this.#settle({ tick: true })
  }

  /** Everything written to a sink so far, by sink name or sink object. */
  output<T>(sink: string | Sink<T>): T[] {
    return [...((this.#outputs.get(typeof sink === 'string' ? sink : sink.name) ?? []) as T[])]
  }

  /** Dead letters the topology did not route itself (bad records, future timestamps, late events). */
  deadLetters(): DeadLetter[] {
    return [...this.#dead]
  }

  /** Late events among {@link deadLetters}. */
  lateEvents(): DeadLetter[] {
    return this.#dead.filter((d) => d.reason === 'late_event')
  }

  /**
   * The engine's status, as the runner's `/status` shows it: watermark, partitions, the oldest open window and
   * why, counters. Available once the driver has started (after the first awaited call).
   */
  status(): EngineStatus {
    const engine = this.#runner.engine
    if (!engine) throw new Error('TestDriver: not started yet; await one of its calls first (e.g. advanceWallClock(0))')
    return engine.status()
  }

  /** The state a checkpoint would hold now (every task: windows, watermarks, positions), JSON round-tripped. */
  snapshot(): EngineSnapshot {
    const engine = this.#runner.engine
    if (!engine) throw new Error('TestDriver: not started yet; await one of its calls first (e.g. advanceWallClock(0))')
    return JSON.parse(JSON.stringify(engine.snapshot()))
  }

  /**
   * A crash, then a restart from `snapshot` as the last checkpoint: the runner's memory is lost, a new runner
   * restores every task from it and reads each partition again from the offset it holds (records after it are
   * delivered again, as Kafka would).
   */
  async restore(snapshot: EngineSnapshot): Promise<void> {
    await this.#settle()
    const store = new MemoryCheckpointStore()
    const writtenAt = this.clock.now()
    const checkpoints: TaskCheckpoint[] = snapshot.tasks
      .filter((task) => task.partitions.length > 0)
      .map((task) => ({
        version: 1,
        topology: snapshot.topology,
        taskId: task.id,
        watermark: task.clock?.watermark ?? snapshot.watermark,
        maxEventTime: task.clock?.maxEventTime ?? snapshot.maxEventTime,
        lastEventWallTime: task.clock?.lastEventWallTime ?? snapshot.lastEventWallTime,
        writtenAt,
        task,
      }))
    await store.write(checkpoints) // encoded as written: the snapshot is not shared with the new runner
    await this.#restart(store)
  }

  /**
   * A crash, then a restart from the last commit: the checkpoint written with it (every `checkpointInterval`) and
   * the committed offsets, as a restarted job resumes from Kafka.
   */
  async crashAndReplay(): Promise<void> {
    await this.#settle()
    await this.#restart(this.#store)
  }

  async #restart(store: MemoryCheckpointStore): Promise<void> {
    this.#runner.crash()
    this.#source.detach()
    this.#store = store
    this.#runner = this.#newRunner(store)
    this.#ready = this.#runner.start()
    await this.#settle()
  }

  /** Stops the runner as a clean shutdown does: a final commit with a checkpoint. */
  async close(): Promise<void> {
    await this.#ready
    await this.#runner.stop()
  }
}
