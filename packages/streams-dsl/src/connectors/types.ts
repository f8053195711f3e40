/**
 * The seam between the runtime and the outside world.
 *
 * Sources deliver raw records in batches, one input partition per batch, in
 * offset order; the runtime decodes them with the source's serde, judges them
 * against the watermark and writes results to sinks. Connectors (Kafka, Redis,
 * in-memory) implement these interfaces; the runtime never imports a client
 * library.
 */

import type pino from 'pino'
import type { KafkaTransactions, MessageSender } from './kafka/transactions.js'
import type { ReadEvidenceStatus } from './read-evidence.js'

/**
 * One input partition of one topic.
 *
 * @example
 * const tp: TopicPartition = { topic: 'views', partition: 3 }
 */
export type TopicPartition = { readonly topic: string; readonly partition: number }

/**
 * A position to commit: `offset` is the next offset to read (Kafka convention).
 *
 * @example
 * await source.commit([{ topic: 'views', partition: 3, offset: 1042 }]) // 0..1041 are done
 */
export type TopicPartitionOffset = TopicPartition & { readonly offset: number }

/**
 * A record as it arrives from a source partition, not yet decoded; dead letters carry it unchanged.
 *
 * @example
 * const r: RawRecord = { topic: 'views', partition: 0, offset: 7, key: null, value: Buffer.from('{"page":"/a"}'), timestamp: Date.now() }
 */
export type RawRecord = {
  readonly topic: string
  readonly partition: number
  readonly offset: number
  readonly key: Buffer | null
  readonly value: Buffer | null
  /** The broker/producer record timestamp, epoch ms. Event time when the payload has none. */
  readonly timestamp: number
  /** Kafka record headers, if any. */
  readonly headers?: Readonly<Record<string, Buffer | string | undefined>>
}

/**
 * Records of one input partition, in offset order: what a source hands the runtime per partition and poll.
 *
 * @example
 * const batch: InputBatch = { topic: 'views', partition: 0, records: [r] }
 */
export type InputBatch = {
  readonly topic: string
  readonly partition: number
  readonly records: readonly RawRecord[]
}

/**
 * How a partition was taken away: handed over in a rebalance, or lost (another instance may own it already).
 *
 * @example
 * onRevoked: async (partitions, info) => { if (!info?.lost) await commitWhatTheyProduced(partitions) }
 */
export type RevokeInfo = {
  /**
   * True when the assignment was lost (session timeout, a long pause of the process, fenced by the group): the
   * partitions may be someone else's already, so nothing may be committed or checkpointed for them.
   */
  readonly lost: boolean
}

/**
 * Callbacks a source drives: the runner implements them; a custom {@link SourceConnector} calls them.
 *
 * @example
 * await source.start({
 *   onBatches: async (batches) => { for (const b of batches) console.log(b.topic, b.partition, b.records.length) },
 *   onAssigned: async () => undefined, // start at the committed offsets
 *   onRevoked: async () => {},
 * })
 */
export interface SourceHandlers {
  /**
   * Records of one poll, one batch per partition, each in offset order. The source may call again before the
   * returned promise resolves (it bounds what is in flight); calls must be processed in the order they are made.
   * Resolves once the records are processed.
   */
  onBatches(batches: readonly InputBatch[]): Promise<void>
  /**
   * Partitions newly assigned to this instance: restore their state before their first batch. May return where
   * to start reading some of them (e.g. a restored checkpoint's offsets); the others start at the committed offset.
   */
  // biome-ignore lint/suspicious/noConfusingVoidType: a handler that returns nothing (`async () => {}`) is fine
  onAssigned(partitions: readonly TopicPartition[]): Promise<readonly TopicPartitionOffset[] | undefined | void>
  /** Partitions about to be taken away: flush and commit what they produced (unless `info.lost`). */
  onRevoked(partitions: readonly TopicPartition[], info?: RevokeInfo): Promise<void>
  /**
   * Called at once, synchronously, when the source learns that its assignment was lost, before the batches in
   * flight finish and `onRevoked` runs: from here on nothing of these partitions may be written or checkpointed.
   */
  onLost?(partitions: readonly TopicPartition[]): void
}

/**
 * Where one partition a source owns stands, as {@link SourceConnector.partitions} and the runner's `/status` report it.
 *
 * @example
 * source.partitions().filter((p) => (p.lag ?? 0) > 10_000) // partitions far behind
 */
export type PartitionPosition = TopicPartition & {
  /** Next offset to read: one past the last record processed (or where the end was reached), null before known. */
  readonly position: number | null
  /** Last offset committed by this instance, null if none yet. */
  readonly committed: number | null
  /** Log end offset as of the last answer of the source (a broker's), null before one. */
  readonly highWatermark: number | null
  /** Records behind the log end: `highWatermark - position`. */
  readonly lag: number | null
  /** What the source knows of the partition's unread records (the idleness evidence, docs/contract.md §2.3). */
  readonly evidence?: ReadEvidenceStatus
}

/**
 * What {@link SourceConnector.checkMembership} found: `member` of the group's current generation; `fenced`: no
 * longer a member at all (the session expired: a zombie); `rebalancing`: a generation the group has left or is
 * leaving (wait for the rebalance); `unreachable`: no answer; `unknown`: nothing to ask with yet.
 *
 * @example
 * if ((await source.checkMembership?.()) === 'fenced') dropEveryTask()
 */
export type Membership = 'member' | 'fenced' | 'rebalancing' | 'unreachable' | 'unknown'

/**
 * Where raw records come from: a Kafka consumer group (`KafkaSource`), memory in tests (`MemorySource`), or a
 * source of your own given to the runner (`createRunner(t, { source: (spec) => mySource(spec) })`).
 *
 * The first eight members are what every source does. The optional ones are a consumer group's, for a source
 * shared by several instances: without them the runner treats the instance as the only reader (it is never a
 * zombie), and refuses `exactly-once`, which commits the offsets in the instance's Kafka transaction (only the
 * Kafka source can).
 *
 * @example
 * const source: SourceConnector = new MemorySource({ views: 2 })
 * await source.start(handlers)
 */
export interface SourceConnector {
  /** The topics it reads. */
  readonly topics: readonly string[]
  /** Starts delivering: assignments through `onAssigned`, then records through `onBatches`. */
  start(handlers: SourceHandlers): Promise<void>
  /** Commits positions; each offset is the next one to read. */
  commit(offsets: readonly TopicPartitionOffset[]): Promise<void>
  /** Stops fetching these partitions (backpressure); what was fetched already is still delivered. */
  pause(partitions: readonly TopicPartition[]): void
  /** Fetches these partitions again. */
  resume(partitions: readonly TopicPartition[]): void
  /**
   * What the source knows of a partition's unread records at `now` (docs/contract.md §2.3): a silent partition goes idle
   * only while `caughtUp`. Undefined for a partition it does not own.
   */
  readEvidence(tp: TopicPartition, now: number): ReadEvidenceStatus | undefined
  /** The partitions it owns now and where it stands in each (`/status`, the lag metrics, backpressure). */
  partitions(): readonly PartitionPosition[]
  /** Stops fetching, leaves the group. Pending `onBatches` calls finish first. */
  stop(): Promise<void>
  /** `readEvidence(tp, now)?.caughtUp`, where the source has a cheaper way to say it (asked every tick). */
  caughtUp?(tp: TopicPartition, now: number): boolean
  /**
   * Asks the group whether this instance is still a member of its current generation (after a freeze, before a
   * checkpoint): a `fenced` instance drops its tasks and rejoins.
   */
  checkMembership?(): Promise<Membership>
  /**
   * Leaves the group and joins it again: every owned partition is revoked (`onRevoked`, lost) and assigned anew
   * (`onAssigned`, which restores it from its checkpoint). How a fenced instance gets its tasks back.
   */
  rejoin?(): void
  /**
   * Exactly-once: commits `offsets` in the open transaction of `tx` with the group's metadata (a member of a stale
   * generation is refused) and commits the transaction. Only `KafkaSource` has it: exactly-once reads Kafka.
   *
   * @internal the runner's transaction is not part of the public API
   */
  commitTransaction?(tx: KafkaTransactions, offsets: readonly TopicPartitionOffset[]): Promise<void>
}

/**
 * The structured logger connectors and sinks write to (pino's shape; a pino logger is one).
 *
 * @example
 * const logger: Logger = pino({ name: 'my-job' })
 * logger.warn({ sink: 'audit' }, 'audit sink slow')
 */
export type Logger = Pick<pino.Logger, 'info' | 'warn' | 'error' | 'debug'>

/**
 * What the runner hands every sink of the topology before its first write ({@link Sink.open}): the job's
 * settings, so a sink built without connection settings of its own writes to the job's Kafka and Redis.
 *
 * @example
 * const audit: Sink<string> = {
 *   name: 'audit',
 *   open: (ctx) => ctx.logger.info({ redis: ctx.redisUrl }, `audit sink of ${ctx.applicationId} opened`),
 *   write: async (lines) => lines.forEach((l) => console.log(l)),
 * }
 */
export type SinkContext = {
  /** The job's application id (`APPLICATION_ID`; by default the topology's name). */
  readonly applicationId: string
  /** The job's Kafka bootstrap servers (`KAFKA_BROKERS`), comma-separated `host:port`. */
  readonly kafkaBrokers: string
  /** The job's Redis (`REDIS_URL`), e.g. `redis://127.0.0.1:6379/0`. */
  readonly redisUrl: string
  /** The job's logger. */
  readonly logger: Logger
  /**
   * Under the runner's `guarantee: 'exactly-once'`: the instance's Kafka transaction. A Kafka sink that sends
   * through it has its records committed with the input offsets and the checkpoints, all or nothing (`kafkaSink`
   * and `kafkaDeadLetterSink` do); absent under at-least-once.
   */
  readonly transaction?: MessageSender
}

/**
 * Where results go. `write` resolves once the records are durable (acknowledged
 * by Kafka, applied in Redis); it rejects on failure and the runtime retries or
 * stops, never skips. Sinks should be idempotent: a replay after a crash writes
 * the same records again.
 *
 * @example
 * const logSink: Sink<{ id: string }> = { name: 'log', write: async (rs) => rs.forEach((r) => console.log(r.id)) }
 */
export interface Sink<T> {
  /** Names the sink in logs, metrics (`sink` label) and the test driver's outputs; unique within a topology. */
  readonly name: string
  /**
   * Called once by the runner before the first write, with the job's settings; a sink given no connection
   * settings of its own takes them from here. Without a runner (the test driver, an engine used directly) it is
   * not called, and the connectors fall back to `KAFKA_BROKERS` / `REDIS_URL`.
   */
  open?(context: SinkContext): Promise<void> | void
  /**
   * Writes records in order; resolves once they are durable, rejects if they cannot be written. A sink that
   * writes what readers query before secondary data (an index, a history) calls `readable` once the former is
   * applied: the result latency metric (`streams_result_latency_seconds`) stops there, not when the rest lands.
   */
  write(records: readonly T[], readable?: () => void): Promise<void>
  /** The most records one write takes (default 5000); what arrives meanwhile waits for the next write. */
  readonly maxBatch?: number
  /** Waits for everything written so far to be durable. */
  flush?(): Promise<void>
  /** Releases what the sink opened; the runner calls it once the job has stopped. */
  close?(): Promise<void>
  /**
   * The end (epoch ms, exclusive) of the window a record is the result of, for the runner's emit-latency metric
   * (`streams_emit_latency_seconds`: wall clock at the write minus it). Without it, `Windowed` records are
   * timed by `window.end` and other records not at all.
   */
  windowEnd?(record: T): number | undefined
}

/**
 * Why a record went to the dead-letter output (docs/contract.md §1.3 `error.reason`): bad bytes, an invalid event, a
 * timestamp too far in the future, a late event, or `processing_error` when user code threw.
 *
 * @example
 * const bad = d.deadLetters().filter((l) => l.reason !== 'late_event')
 */
export type DeadLetterReason = 'invalid_json' | 'invalid_event' | 'future_timestamp' | 'late_event' | (string & {})

/**
 * A record that did not make it into the results, with the reason: what the dead-letter sinks receive.
 *
 * @example
 * app.deadLetters().to(collectingSink<DeadLetter>('dlq'))
 * // { reason: 'invalid_event', message: 'page: Required', record: { topic: 'views', partition: 0, offset: 7, ... } }
 */
export type DeadLetter = {
  readonly reason: DeadLetterReason
  /** What was wrong, one line, e.g. `page: Required`. */
  readonly message: string
  /** The original record, untouched. */
  readonly record: RawRecord
}

/**
 * What the upstream side of a repartition topic writes to a partition of it: a source record (the original,
 * untouched) with `before`, the greatest valid event time of its partition before it — or a watermark marker
 * (its JSON). The repartition sink encodes them as bundles (see `runtime/repartition.ts`).
 */
export type RepartitionRecord =
  | { readonly topic: string; readonly partition: number; readonly record: RawRecord; readonly before: number }
  | { readonly topic: string; readonly partition: number; readonly marker: Buffer }
