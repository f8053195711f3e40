import type {
  DeadLetter,
  InputBatch,
  RepartitionRecord,
  Sink,
  TopicPartition,
  TopicPartitionOffset,
} from '../connectors/types.js'
import type { StateBackend } from '../state/state-backend.js'
import type { EngineCounters } from './context.js'
import type { SinkWriters } from './sink-writer.js'

/**
 * Wall clock of a job (processing time); a manual one (`ManualClock`) makes tests deterministic.
 *
 * @example
 * const clock: Clock = { now: () => Date.now() }
 */
export type Clock = {
  /** The wall-clock time, epoch ms. */
  now(): number
}

/**
 * How input partitions are grouped into tasks, the unit of window state that moves between instances.
 *
 * @example
 * new TestDriver(t, { tasks: 'partition' }) // a task per partition number, as for co-partitioned input
 */
export type TaskGrouping =
  /** One task for every partition: correct for any keying, but state moves as a whole (default). */
  | 'single'
  /** One task per partition number across topics, as Kafka Streams does for co-partitioned inputs. */
  | 'partition'
  /** A task id per partition, e.g. `(tp) => String(tp.partition % 4)`. */
  | ((tp: TopicPartition) => string)

/** Options of {@link createEngine}. */
export type EngineOptions = {
  /** Default: `Date.now`. */
  clock?: Clock
  /** Where bad records and late events go unless the topology routes them itself; dropped (but counted) if absent. */
  deadLetters?: Sink<DeadLetter>
  /** Default `'single'`. */
  tasks?: TaskGrouping
  /** Replaces each sink of the topology, e.g. to record what is written (the test driver does). */
  wrapSink?: (sink: Sink<unknown>) => Sink<unknown>
  /** Called after every process/tick with the status counters (for metrics). */
  onMetrics?: (status: EngineStatus) => void
  /**
   * True while the source has evidence that a partition holds nothing unread (docs/contract.md §2.3: a broker answer
   * received after its last delivery, recent, shows its log end at or below the position). A silent partition
   * goes idle only while this holds, and stops being idle when it no longer does; so a partition the job cannot
   * read (broker unreachable, fetches failing, paused, not fetched yet, the job stopped) never lets W move past
   * it. Default: always true — with no source to ask (a test), silence counts as idleness.
   */
  caughtUp?: (tp: TopicPartition, now: number) => boolean
  /**
   * Called as results become durable in a sink: milliseconds from the start of the operation that produced them
   * (for a window, at or before the moment the watermark passed its end) to the acknowledgement, and how many
   * results (once per write and operation, not per record).
   */
  onResultLatency?: (sink: string, ms: number, results: number) => void
  /**
   * Where operators keep their state: one store per operator and task (default: `memoryStateBackend`, in
   * memory). A persistent backend plugs in here without changes to the engine or the operators.
   */
  state?: StateBackend
  /** Shared writers of the sinks (set by the staged engine, so its tasks share one writer per sink). Internal. */
  writers?: SinkWriters
  /** Set by the staged engine: this engine's side of one or more repartition topics. Internal. */
  repartition?: RepartitionWiring
}

/** Where a keyBy's records are repartitioned to. */
export type RepartitionTopic = {
  readonly keyBy: string
  readonly topic: string
  readonly partitions: number
  /**
   * The topic's `max.message.bytes` (default: the broker default, 1048588). No bundle is larger; a routed record
   * that cannot fit one alone is a dead letter (`record_too_large`) instead.
   */
  readonly maxMessageBytes?: number
}

/** The repartitioning role of an engine (see `staged-engine.ts`). */
export type RepartitionWiring =
  | {
      /** Upstream: reads the sources; the listed keyBy nodes write each record to its key's partition. */
      readonly role: 'upstream'
      readonly topics: readonly RepartitionTopic[]
      readonly sink: Sink<RepartitionRecord>
    }
  | {
      /** Downstream: runs the window of one keyBy for the keys of one partition of its repartition topic. */
      readonly role: 'downstream'
      readonly topic: RepartitionTopic
      readonly partition: number
      /** Every source partition: the watermark is the least over them (docs/contract.md §2), not over this input. */
      readonly origins: readonly TopicPartition[]
    }

/**
 * One input partition in {@link EngineStatus}. Times in epoch ms.
 *
 * @example
 * { topic: 'clicks', partition: 3, task: '0', nextOffset: 812, watermark: 1735732804999, maxEventTime: 1735732808000, idle: false, lastEventWallTime: 1735732810000 }
 */
export type PartitionStatus = {
  topic: string
  partition: number
  /** The task that holds its window state. */
  task: string
  /** Next offset to process; null before any record. */
  nextOffset: number | null
  /** W(p) = maxEventTime - B - 1; null before any valid event. */
  watermark: number | null
  /** Greatest valid event time seen. */
  maxEventTime: number | null
  /** Idle: silent for the idle timeout with evidence that nothing is unread; it does not hold W back. */
  idle: boolean
  /** Wall-clock time of its last valid event. */
  lastEventWallTime: number | null
}

/**
 * The oldest window that has not fired, and what holds it.
 *
 * @example
 * d.status().windows.oldest?.reason
 * // 'window [12:00:00.000,12:00:10.000) fires when the watermark reaches 12:00:09.999; partition clicks-3 holds it ...'
 */
export type OldestWindowStatus = {
  /** A key with this window open. */
  key?: string | number
  start: number
  end: number
  /** The watermark at which it fires: end - 1. */
  firesAtWatermark: number
  /** The partitions whose W(p) is below that. */
  waitingFor: { topic: string; partition: number; watermark: number | null }[]
  /** The answer in a sentence. */
  reason: string
}

/**
 * JSON answer to "why hasn't my window closed?": the watermark, each partition's part in it, the open windows and
 * the oldest one's reason, the counters.
 *
 * @example
 * const s = d.status()
 * if (s.windows.oldest) console.log(s.windows.oldest.reason)
 */
export type EngineStatus = {
  /** The job watermark W; null before any event. */
  watermark: number | null
  /** Every partition idle: event time follows the wall clock. */
  allIdle: boolean
  partitions: PartitionStatus[]
  /** Open windows (per key) and the oldest of them. */
  windows: { open: number; oldest: OldestWindowStatus | null }
  counters: EngineCounters
}

/**
 * Window state of one window of one operator in a snapshot.
 *
 * @example
 * d.snapshot().tasks[0]?.windows[0] // { operator: 'window-5', start: 0, end: 10000, fired: false, minOffsets: [...], entries: [['p-1', ...]] }
 */
export type WindowSnapshot = {
  operator: string
  start: number
  end: number
  fired: boolean
  minOffsets: TopicPartitionOffset[]
  entries: [string | number, unknown][]
  /**
   * In a delta checkpoint only: `entries` are the keys set or changed since the previous checkpoint (the others
   * are as they were), and `deleted` the keys removed since. Absent: `entries` are the whole window.
   */
  partial?: true
  /** Keys removed since the previous checkpoint (with `partial`). */
  deleted?: (string | number)[]
}

/**
 * One task's partitions and window state in a snapshot.
 *
 * @example
 * d.snapshot().tasks.map((t) => t.id) // ['0']
 */
export type TaskSnapshot = {
  id: string
  partitions: {
    topic: string
    partition: number
    nextOffset: number | null
    maxEventTime: number | null
    /** Wall-clock time of its last valid event (what an origin's markers report downstream after a restore). */
    lastEventWallTime?: number | null
    /** Set when restoring from committed offsets: records below it were seen before and are replays. */
    replayUntil?: number | null
    /** A source partition upstream of a repartition topic: watermark state and dedup position, not an input. */
    origin?: boolean
    idle?: boolean
  }[]
  windows: WindowSnapshot[]
  /** A task with a watermark of its own (a repartition task of a staged engine): W, M and t. */
  clock?: { watermark: number | null; maxEventTime: number | null; lastEventWallTime: number | null }
}

/**
 * Everything needed to resume exactly: JSON-serialisable, per task.
 *
 * @example
 * const s = d.snapshot() // JSON round-tripped
 * d.restore(s) // a crash and a restart from it
 */
export type EngineSnapshot = {
  version: 1
  topology: string
  watermark: number | null
  maxEventTime: number | null
  lastEventWallTime: number | null
  tasks: TaskSnapshot[]
  counters: EngineCounters
}

/**
 * The runtime of one topology on one instance. Operations are serialised: each waits for the previous one.
 *
 * @example
 * const engine = createEngine(app.build(), { deadLetters: dlqSink })
 * await engine.process({ topic: 'clicks', partition: 0, records })
 * await source.commit(engine.committable())
 */
export interface Engine {
  /**
   * Decodes, judges each record against the watermark as it stands, aggregates, fires. Resolves once the outputs
   * it caused are handed to the sinks' writers (which write them in order, while the engine goes on); `flush()`
   * makes them durable.
   */
  process(batch: InputBatch): Promise<void>
  /** {@link Engine.process} for the batches of one poll, in order. */
  processAll(batches: readonly InputBatch[]): Promise<void>
  /** Resolves once every output of the operations so far is durable; rejects if a write failed. */
  flush(): Promise<void>
  /** Re-evaluates idleness and the all-idle advance; fires and purges windows. Call every ~200 ms. */
  tick(): Promise<void>
  /** Partitions that now count towards the watermark (their idle clock starts now). */
  assign(partitions: readonly TopicPartition[]): Promise<void>
  /** Partitions that no longer count; their tasks' state is dropped when no partition of the task is left. */
  revoke(partitions: readonly TopicPartition[]): Promise<void>
  /**
   * Per partition, the next offset such that everything before it is in the sinks or in purged state, as of the
   * last operation: durable once `flush()` has resolved.
   */
  committable(): TopicPartitionOffset[]
  /** State, watermarks and offsets; take it between operations (await them first). */
  snapshot(): EngineSnapshot
  /** Loads a snapshot (all its tasks); records below each partition's restored next offset are skipped. */
  restore(snapshot: EngineSnapshot): void
  status(): EngineStatus
  /**
   * The input is over (a bounded run reached its end offsets): the watermark jumps to the end of time, so every
   * window fires and is purged; resolves once their results are handed to the sinks. No record may follow.
   */
  endOfInput(): Promise<void>
  /** Waits for pending operations and flushes sinks; never fires a window early. */
  close(): Promise<void>
}
