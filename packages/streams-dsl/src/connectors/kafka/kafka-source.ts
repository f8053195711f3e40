import { KafkaJS } from '@confluentinc/kafka-javascript'
import type {
  InputBatch,
  RawRecord,
  SourceConnector,
  SourceHandlers,
  TopicPartition,
  TopicPartitionOffset,
} from '../types.js'
import { describePartitions } from './admin.js'
import { type Brokers, type ConnectorLogger, clientConfig, connectorLogger } from './client.js'

/** Options of {@link KafkaSource}. */
export type KafkaSourceOptions = {
  readonly topics: readonly string[]
  /** Consumer group: the application id. A new group reads from the earliest offsets. */
  readonly groupId: string
  readonly brokers?: Brokers
  readonly clientId?: string
  /**
   * Most records handed to `onBatch` at once (`js.consumer.max.batch.size`). Default 0 = no limit: each call gets
   * everything fetched for the partition, which measured 4-10x faster than capped batches (the client's default
   * is 32; 2000 and 20000 were both far slower; see bench/kafka-passthrough.bench.ts).
   */
  readonly maxBatchSize?: number
  /** Partitions processed at the same time (`partitionsConsumedConcurrently`, default 3); order within one is kept. */
  readonly concurrency?: number
  /** `partition.assignment.strategy` (default `cooperative-sticky`: a rebalance only moves the partitions that move). */
  readonly assignmentStrategy?: 'cooperative-sticky' | 'roundrobin' | 'range'
  /** Extra librdkafka consumer properties; they win over the defaults. */
  readonly rdkafka?: Readonly<Record<string, string | number | boolean>>
  readonly logger?: ConnectorLogger
}

/** Where one assigned partition stands. */
export type PartitionPosition = TopicPartition & {
  /** Next offset to hand to `onBatch` (last delivered + 1), null before the first batch. */
  readonly position: number | null
  /** Last offset committed by this instance, null if none yet. */
  readonly committed: number | null
  /** Log end offset as of the last fetch, null before the first batch. */
  readonly highWatermark: number | null
  /** Records behind the log end: `highWatermark - position`. */
  readonly lag: number | null
}

type State = { position: number | null; committed: number | null; highWatermark: number | null }

const key = (topic: string, partition: number) => `${topic}\u0000${partition}`
const ERR = KafkaJS.ErrorCodes as unknown as Record<string, number>

/**
 * A {@link SourceConnector} on a Kafka consumer group (@confluentinc/kafka-javascript, KafkaJS-style API).
 *
 * - Batches: one partition per `onBatch` call, in offset order; the next batch of a partition waits for the
 *   previous one's promise, so a slow sink holds the partition (backpressure) while librdkafka's bounded
 *   prefetch queue stops fetching.
 * - Offsets are never auto-committed: only {@link KafkaSource.commit} commits, with positions the runner
 *   knows to be durable. Batches are resolved by hand so a pause never re-delivers a processed batch.
 * - Rebalance: on revoke, in-flight batches of those partitions finish, then `onRevoked` is awaited (flush and
 *   commit) before the partitions are given up; on assign, `onAssigned` is awaited before the first batch.
 *
 * Throughput settings (defaults, overridable through `rdkafka`): `js.consumer.max.batch.size` unlimited,
 * `fetch.wait.max.ms` 100 (bounds latency on quiet partitions), `max.partition.fetch.bytes` 4 MiB and
 * `queued.min.messages` 100000 (large prefetch while catching up).
 *
 * @example
 * const source = new KafkaSource({ topics: ['impressions', 'clicks'], groupId: 'ctr' })
 * await source.start({ onBatch: async (b) => engine.process(b), onAssigned: async () => {}, onRevoked: async () => {} })
 */
export class KafkaSource implements SourceConnector {
  readonly topics: readonly string[]
  readonly #options: KafkaSourceOptions
  readonly #logger: ConnectorLogger
  readonly #state = new Map<string, State>()
  readonly #inflight = new Map<string, Promise<unknown>>()
  /** Partitions paused through {@link KafkaSource.pause}. */
  readonly #paused = new Set<string>()
  /** Per partition, the offset after the last record handed out since it was assigned. */
  readonly #next = new Map<string, number>()
  /** Records waiting at assignment (committed offset to log end), until the first batch tells; with its time. */
  readonly #initialBacklog = new Map<string, { records: number; at: number }>()
  /** Lets go of the worker holding a partition's batch (see `#eachBatch`). */
  readonly #releasers = new Map<string, () => void>()
  #consumer: KafkaJS.Consumer | undefined
  #handlers: SourceHandlers | undefined
  /** No more batches are handed out (stopping, or a handler failed). */
  #halted = false
  #stopCalled = false
  /** Holds the client's workers while halted (no fetch, no busy re-delivery) until the group is left. */
  #release!: () => void
  readonly #released = new Promise<void>((resolve) => {
    this.#release = resolve
  })
  #handedOver = false

  constructor(options: KafkaSourceOptions) {
    this.topics = [...options.topics]
    this.#options = options
    this.#logger = options.logger ?? connectorLogger()
  }

  async start(handlers: SourceHandlers): Promise<void> {
    if (this.#consumer) throw new Error('KafkaSource already started')
    this.#handlers = handlers
    const o = this.#options
    const consumer = new KafkaJS.Kafka({}).consumer({
      ...clientConfig(o.brokers, o.clientId ?? `${o.groupId}-source`, this.#logger),
      'group.id': o.groupId,
      'enable.auto.commit': false,
      'auto.offset.reset': 'earliest',
      'partition.assignment.strategy': o.assignmentStrategy ?? 'cooperative-sticky',
      'js.consumer.max.batch.size': o.maxBatchSize ? o.maxBatchSize : -1,
      'fetch.wait.max.ms': 100,
      'max.partition.fetch.bytes': 4 * 1024 * 1024,
      'queued.min.messages': 100_000,
      rebalance_cb: (err: { code: number }, assignment: TopicPartition[]) => this.#rebalance(err, assignment),
      ...o.rdkafka,
    } as unknown as KafkaJS.ConsumerConstructorConfig)
    this.#consumer = consumer
    await consumer.connect()
    await consumer.subscribe({ topics: [...this.topics] })
    await consumer.run({
      eachBatchAutoResolve: false,
      partitionsConsumedConcurrently: o.concurrency ?? 3,
      eachBatch: (payload) => this.#eachBatch(payload),
    })
  }

  async #eachBatch({ batch, resolveOffset }: KafkaJS.EachBatchPayload): Promise<void> {
    // A batch we do not process is still resolved: that only records a position inside this client
    // (auto-commit is off, commits are explicit, so it is never committed and the next owner reads it again).
    // Left unresolved, the client would queue a seek that may run after disconnect began and reject unhandled.
    const skip = () => {
      const lastMessage = batch.messages[batch.messages.length - 1]
      if (lastMessage) resolveOffset(lastMessage.offset)
    }
    if (this.#halted || !this.#handlers) {
      // Hold this worker (no fetch, no busy loop) until we leave the group.
      await this.#released
      return skip()
    }
    const k = key(batch.topic, batch.partition)
    const records = toRawRecords(batch)
    const last = records[records.length - 1]
    if (last) this.#next.set(k, last.offset + 1)
    const done = this.#handlers.onBatch({ topic: batch.topic, partition: batch.partition, records } as InputBatch).then(
      () => {
        if (!last) return
        const s = this.#partition(batch.topic, batch.partition)
        s.position = last.offset + 1
        const hw = Number(batch.highWatermark)
        if (hw >= 0) s.highWatermark = hw
      },
      () => {
        // The handler failed (a sink error the runner reports and stops on): deliver nothing more.
        this.#halted = true
      },
    )
    // Batches of one partition are handled in order, so the newest promise covers the ones before it.
    this.#inflight.set(k, done)
    void done.finally(() => {
      if (this.#inflight.get(k) === done) this.#inflight.delete(k)
    })
    // Paused (backpressure: the sinks fall behind), the batch keeps going in the handler but this worker is let
    // go, so the client can apply the pause and keep polling (heartbeats, max.poll.interval.ms) meanwhile.
    const released = new Promise<'released'>((resolve) => {
      if (this.#paused.has(k)) resolve('released')
      else this.#releasers.set(k, () => resolve('released'))
    })
    const outcome = await Promise.race([done.then(() => 'done' as const), released])
    this.#releasers.delete(k)
    if (this.#halted && outcome === 'done') return skip()
    if (!last) return
    // Resolve by hand: with auto-resolve, a pause() during the batch would make the client re-deliver it. A batch
    // let go while still in the handler is resolved too: that only sets the client's fetch position; commits are
    // explicit and cover only what the handler made durable.
    resolveOffset(String(last.offset))
  }

  // Called by the client during a fetch; it awaits the returned promise before applying the change.
  async #rebalance(err: { code: number }, assignment: TopicPartition[]): Promise<undefined> {
    const tps = assignment.map((a) => ({ topic: a.topic, partition: a.partition }))
    const handlers = this.#handlers
    if (!handlers || tps.length === 0) return undefined
    try {
      if (err.code === ERR.ERR__ASSIGN_PARTITIONS) {
        for (const tp of tps) this.#state.set(key(tp.topic, tp.partition), blank())
        this.#logger.info({ partitions: tps.map(label) }, `assigned ${tps.length} partition(s)`)
        await handlers.onAssigned(tps)
        this.#measureBacklog(tps)
      } else if (err.code === ERR.ERR__REVOKE_PARTITIONS) {
        this.#logger.info({ partitions: tps.map(label) }, `revoking ${tps.length} partition(s)`)
        await Promise.allSettled(tps.map((tp) => this.#inflight.get(key(tp.topic, tp.partition))))
        if (!this.#handedOver) await handlers.onRevoked(tps)
        for (const tp of tps) {
          this.#state.delete(key(tp.topic, tp.partition))
          this.#paused.delete(key(tp.topic, tp.partition))
          this.#next.delete(key(tp.topic, tp.partition))
          this.#initialBacklog.delete(key(tp.topic, tp.partition))
        }
      }
    } catch (e) {
      this.#logger.error({ err: e }, `rebalance handler failed: ${e instanceof Error ? e.message : String(e)}`)
    }
    return undefined
  }

  async commit(offsets: readonly TopicPartitionOffset[]): Promise<void> {
    const consumer = this.#consumer
    if (!consumer) return
    const todo = offsets.filter((o) => {
      const s = this.#state.get(key(o.topic, o.partition))
      return s !== undefined && (s.committed === null || o.offset > s.committed)
    })
    if (todo.length === 0) return
    await consumer.commitOffsets(
      todo.map((o) => ({ topic: o.topic, partition: o.partition, offset: String(o.offset) })),
    )
    for (const o of todo) {
      const s = this.#state.get(key(o.topic, o.partition))
      if (s) s.committed = o.offset
    }
  }

  /**
   * Stops fetching these partitions (the client applies it asynchronously, once its workers are free). A batch of
   * theirs still in `onBatch` keeps going, but its worker is let go so the client keeps polling meanwhile.
   * A no-op once `stop` was called: a pause queued while the client disconnects would be rejected unhandled.
   */
  pause(partitions: readonly TopicPartition[]): void {
    if (!this.#consumer || this.#stopCalled) return
    // The client drops what it prefetched for a paused partition and seeks back only to an offset that was
    // resolved: a partition whose first batch is still in the handler, or that handed out nothing yet, lost its
    // prefetched records (seen with @confluentinc/kafka-javascript 1.10.1). So we seek each paused partition to
    // the offset after the last record handed out ourselves. A partition that handed out nothing has no known
    // offset: it is left running; its first batch then holds a worker until the handler is done, which
    // throttles it as well, and the next pause includes it.
    partitions = partitions.filter((tp) => this.#next.has(key(tp.topic, tp.partition)))
    if (partitions.length === 0) return
    this.#consumer.pause(groupByTopic(partitions))
    for (const tp of partitions) {
      const next = this.#next.get(key(tp.topic, tp.partition)) as number
      this.#consumer.seek({ topic: tp.topic, partition: tp.partition, offset: String(next) })
    }
    for (const tp of partitions) {
      const k = key(tp.topic, tp.partition)
      this.#paused.add(k)
      this.#releasers.get(k)?.()
    }
  }

  /** Fetches these partitions again (a no-op once `stop` was called). */
  resume(partitions: readonly TopicPartition[]): void {
    if (!this.#consumer || this.#stopCalled || partitions.length === 0) return
    for (const tp of partitions) this.#paused.delete(key(tp.topic, tp.partition))
    this.#consumer.resume(groupByTopic(partitions))
  }

  /**
   * Records known to wait in a partition: log end (as of the last batch) minus position; before the first batch,
   * log end minus the committed offset as measured at assignment (trusted for 2 minutes); null when unknown.
   */
  backlog(tp: TopicPartition): number | null {
    const k = key(tp.topic, tp.partition)
    const s = this.#state.get(k)
    if (!s) return null
    if (s.position !== null && s.highWatermark !== null) return s.highWatermark - s.position
    const initial = this.#initialBacklog.get(k)
    return initial && Date.now() - initial.at < 120_000 ? initial.records : null
  }

  /** Measures, in the background, how many records wait in newly assigned partitions (a hint for idleness). */
  #measureBacklog(tps: readonly TopicPartition[]): void {
    const consumer = this.#consumer
    if (!consumer || tps.length === 0) return
    const at = Date.now()
    void (async () => {
      const committed = new Map(
        (
          await consumer.committed(
            tps.map((tp) => ({ topic: tp.topic, partition: tp.partition })),
            5_000,
          )
        ).map((c) => [key(c.topic, c.partition), Number(c.offset)]),
      )
      for (const topic of new Set(tps.map((tp) => tp.topic))) {
        for (const o of await describePartitions(topic, this.#options.brokers)) {
          const k = key(topic, o.partition)
          if (!this.#state.has(k)) continue
          const c = committed.get(k)
          const start = c !== undefined && c >= 0 ? Math.max(c, o.low) : o.low
          this.#initialBacklog.set(k, { records: o.high - start, at })
        }
      }
    })().catch(() => {}) // only a hint: without it such a partition goes idle after the idle timeout as usual
  }

  /** The partitions this instance owns, with position, committed offset, log end and lag. */
  partitions(): PartitionPosition[] {
    return [...this.#state.entries()].map(([k, s]) => {
      const [topic, p] = k.split('\u0000') as [string, string]
      const lag = s.highWatermark !== null && s.position !== null ? Math.max(0, s.highWatermark - s.position) : null
      return { topic, partition: Number(p), ...s, lag }
    })
  }

  /**
   * Stops handing out batches, lets in-flight ones finish, hands every owned partition over through `onRevoked`
   * (flush and commit, while still a group member), then leaves the group.
   */
  async stop(): Promise<void> {
    const consumer = this.#consumer
    if (!consumer || this.#stopCalled) return
    this.#stopCalled = true
    // No client-level pause here: it runs later as a pending operation of the client's loop and throws
    // (unhandled) if that is after the consumer started closing. Halting holds the workers instead.
    this.#halted = true
    const owned = this.partitions().map(({ topic, partition }) => ({ topic, partition }))
    await Promise.allSettled([...this.#inflight.values()])
    try {
      if (owned.length && this.#handlers) await this.#handlers.onRevoked(owned)
    } finally {
      this.#handedOver = true
      this.#release()
      await consumer.disconnect()
      this.#state.clear()
    }
  }

  #partition(topic: string, partition: number): State {
    const k = key(topic, partition)
    let s = this.#state.get(k)
    if (!s) {
      s = blank()
      this.#state.set(k, s)
    }
    return s
  }
}

const blank = (): State => ({ position: null, committed: null, highWatermark: null })
const label = (tp: TopicPartition) => `${tp.topic}-${tp.partition}`

function groupByTopic(partitions: readonly TopicPartition[]): { topic: string; partitions: number[] }[] {
  const by = new Map<string, number[]>()
  for (const tp of partitions) {
    const list = by.get(tp.topic)
    if (list) list.push(tp.partition)
    else by.set(tp.topic, [tp.partition])
  }
  return [...by].map(([topic, ps]) => ({ topic, partitions: ps }))
}

/** Converts the client's messages (string offsets and timestamps, multi-valued headers) to {@link RawRecord}s. */
export function toRawRecords(batch: Pick<KafkaJS.Batch, 'topic' | 'partition' | 'messages'>): RawRecord[] {
  const { topic, partition, messages } = batch
  const out: RawRecord[] = new Array(messages.length)
  for (let i = 0; i < messages.length; i++) {
    const m = messages[i]!
    const record: {
      -readonly [K in keyof RawRecord]: RawRecord[K]
    } = {
      topic,
      partition,
      offset: Number(m.offset),
      key: m.key,
      value: m.value,
      timestamp: Number(m.timestamp) || 0,
    }
    if (m.headers) {
      const headers: Record<string, Buffer | string | undefined> = {}
      for (const [k, v] of Object.entries(m.headers)) headers[k] = Array.isArray(v) ? v[v.length - 1] : v
      record.headers = headers
    }
    out[i] = record
  }
  return out
}
