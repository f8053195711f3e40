import type {
  DeadLetter,
  InputBatch,
  RepartitionRecord,
  Sink,
  TopicPartition,
  TopicPartitionOffset,
} from '../connectors/types.js'
import type { EngineCounters } from './context.js'
import type { SinkWriters } from './sink-writer.js'

/** Wall clock of the engine (processing time); a manual one makes tests deterministic. */
export type Clock = { now(): number }

/** How input partitions are grouped into tasks, the unit of window state that moves between instances. */
export type TaskGrouping =
  /** One task for every partition: correct for any keying, but state moves as a whole (default). */
  | 'single'
  /** One task per partition number across topics, as Kafka Streams does for co-partitioned inputs. */
  | 'partition'
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
   * True while the source has evidence that a partition holds nothing unread (CONTRACTS §2: a broker answer
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
  /** Shared writers of the sinks (set by the staged engine, so its tasks share one writer per sink). Internal. */
  writers?: SinkWriters
  /** Set by the staged engine: this engine's side of one or more repartition topics. Internal. */
  repartition?: RepartitionWiring
}

/** Where a keyBy's records are repartitioned to. */
export type RepartitionTopic = { readonly keyBy: string; readonly topic: string; readonly partitions: number }

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
      /** Every source partition: the watermark is the least over them (CONTRACTS.md §2), not over this input. */
      readonly origins: readonly TopicPartition[]
    }

/** One input partition in {@link EngineStatus}. Times in epoch ms. */
export type PartitionStatus = {
  topic: string
  partition: number
  task: string
  nextOffset: number | null
  watermark: number | null
  maxEventTime: number | null
  idle: boolean
  lastEventWallTime: number | null
}

/** The oldest window that has not fired, and what holds it. */
export type OldestWindowStatus = {
  key?: string | number
  start: number
  end: number
  firesAtWatermark: number
  waitingFor: { topic: string; partition: number; watermark: number | null }[]
  reason: string
}

/** JSON answer to "why hasn't my window closed?". */
export type EngineStatus = {
  watermark: number | null
  allIdle: boolean
  partitions: PartitionStatus[]
  windows: { open: number; oldest: OldestWindowStatus | null }
  counters: EngineCounters
}

/** Window state of one window of one operator in a snapshot. */
export type WindowSnapshot = {
  operator: string
  start: number
  end: number
  fired: boolean
  minOffsets: TopicPartitionOffset[]
  entries: [string | number, unknown][]
}

/** One task's partitions and window state. */
export type TaskSnapshot = {
  id: string
  partitions: {
    topic: string
    partition: number
    nextOffset: number | null
    maxEventTime: number | null
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

/** Everything needed to resume exactly: JSON-serialisable, per task. */
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
