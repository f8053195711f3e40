/**
 * The seam between the runtime and the outside world.
 *
 * Sources deliver raw records in batches, one input partition per batch, in
 * offset order; the runtime decodes them with the source's serde, judges them
 * against the watermark and writes results to sinks. Connectors (Kafka, Redis,
 * in-memory) implement these interfaces; the runtime never imports a client
 * library.
 */

import type { ReadEvidenceStatus } from './read-evidence.js'

/** One input partition of one topic. */
export type TopicPartition = { readonly topic: string; readonly partition: number }

/** A position to commit: `offset` is the next offset to read (Kafka convention). */
export type TopicPartitionOffset = TopicPartition & { readonly offset: number }

/** A record as it arrives from a source partition, not yet decoded. */
export type RawRecord = {
  readonly topic: string
  readonly partition: number
  readonly offset: number
  readonly key: Buffer | null
  readonly value: Buffer | null
  /** The broker/producer record timestamp, epoch ms. Event time when the payload has none. */
  readonly timestamp: number
  readonly headers?: Readonly<Record<string, Buffer | string | undefined>>
}

/** Records of one input partition, in offset order. */
export type InputBatch = {
  readonly topic: string
  readonly partition: number
  readonly records: readonly RawRecord[]
}

/** How a partition was taken away: handed over in a rebalance, or lost (another instance may own it already). */
export type RevokeInfo = {
  /**
   * True when the assignment was lost (session timeout, a long pause of the process, fenced by the group): the
   * partitions may be someone else's already, so nothing may be committed or checkpointed for them.
   */
  readonly lost: boolean
}

/** Callbacks a source drives. */
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
}

/** Where raw records come from: a Kafka consumer group, or memory in tests. */
export interface SourceConnector {
  readonly topics: readonly string[]
  start(handlers: SourceHandlers): Promise<void>
  /** Commits positions; each offset is the next one to read. */
  commit(offsets: readonly TopicPartitionOffset[]): Promise<void>
  pause(partitions: readonly TopicPartition[]): void
  resume(partitions: readonly TopicPartition[]): void
  /**
   * What the source knows of a partition's unread records at `now` (CONTRACTS §2): a silent partition goes idle
   * only while `caughtUp`. Undefined for a partition it does not own.
   */
  readEvidence(tp: TopicPartition, now: number): ReadEvidenceStatus | undefined
  /** Stops fetching, leaves the group. Pending `onBatches` calls finish first. */
  stop(): Promise<void>
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
  readonly name: string
  write(records: readonly T[]): Promise<void>
  /** Waits for everything written so far to be durable. */
  flush?(): Promise<void>
  close?(): Promise<void>
}

/** Why a record went to the dead-letter output (CONTRACTS.md §1 `error.reason`). */
export type DeadLetterReason = 'invalid_json' | 'invalid_event' | 'future_timestamp' | 'late_event' | (string & {})

/** A record that did not make it into the results, with the reason. */
export type DeadLetter = {
  readonly reason: DeadLetterReason
  readonly message: string
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
