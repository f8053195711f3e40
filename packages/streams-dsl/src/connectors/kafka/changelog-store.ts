import rdkafka from '@confluentinc/kafka-javascript'
import type { CheckpointStore, TaskCheckpoint } from '../../state/checkpoint.js'
import { decodeCheckpoint, encodeCheckpoint } from '../../state/checkpoint-codec.js'
import { describeCluster, ensureTopics } from './admin.js'
import { type Brokers, bootstrapServers, type ConnectorLogger } from './client.js'
import { KafkaProducer } from './kafka-sink.js'

/** Options of {@link KafkaChangelogStore.open}. */
export type KafkaChangelogOptions = {
  /** The application id: the topic is `<applicationId>-<store>-changelog`. */
  readonly applicationId: string
  /** Store name (default `windows`). */
  readonly store?: string
  /** Partitions when the topic is created (default 1); an existing topic keeps its count. Task `n` goes to `n % count`. */
  readonly partitions?: number
  /** Largest checkpoint record accepted, bytes (default 64 MiB; records are gzipped JSON). */
  readonly maxMessageBytes?: number
  readonly brokers?: Brokers
  readonly logger?: ConnectorLogger
}

/** The changelog topic of a store (Kafka Streams' naming). */
export const changelogTopic = (applicationId: string, store = 'windows'): string =>
  `${applicationId}-${store}-changelog`

type Range = { partition: number; from: number; to: number; want: Set<string> }

/**
 * Task checkpoints in a compacted Kafka topic, one record per checkpoint, key = task id, value = the gzipped
 * JSON checkpoint (see `checkpoint-codec.ts`). Written with the idempotent acks=all producer, so `write`
 * resolves only when the in-sync replicas have it. Compaction keeps the newest record per task.
 *
 * Reading is bounded whatever the topic's history: a task's records all go to one partition and it has one
 * writer at a time, so its newest checkpoint is among the last records of that partition; the reader fetches
 * the partition's end offset and scans only the tail (the whole partition only when the tail lacks the key).
 *
 * @example
 * const store = await KafkaChangelogStore.open({ applicationId: 'ctr', partitions: 6 })
 * await store.write([checkpoint]); const byTask = await store.read(['0', '1'])
 */
export class KafkaChangelogStore implements CheckpointStore {
  readonly #producer: KafkaProducer

  private constructor(
    readonly topic: string,
    readonly partitions: number,
    private readonly options: KafkaChangelogOptions,
  ) {
    const max = options.maxMessageBytes ?? 64 * 1024 * 1024
    this.#producer = new KafkaProducer({
      ...(options.brokers !== undefined && { brokers: options.brokers }),
      clientId: `${options.applicationId}-changelog`,
      rdkafka: { 'message.max.bytes': max, 'compression.type': 'none', 'linger.ms': 0 },
      ...(options.logger && { logger: options.logger }),
    })
  }

  /** Creates the compacted topic when missing and returns a store on it. */
  static async open(options: KafkaChangelogOptions): Promise<KafkaChangelogStore> {
    const topic = changelogTopic(options.applicationId, options.store)
    const max = options.maxMessageBytes ?? 64 * 1024 * 1024
    await ensureTopics(
      [
        {
          topic,
          partitions: options.partitions ?? 1,
          compacted: true,
          // small segments so compaction keeps up with frequent checkpoints of big tasks
          config: {
            'max.message.bytes': String(max),
            'segment.ms': '60000',
            'segment.bytes': String(Math.max(64 * 1024 * 1024, 2 * max)),
            'min.cleanable.dirty.ratio': '0.1',
          },
        },
      ],
      options.brokers,
    )
    const count = (await describeCluster(options.brokers)).topics.get(topic) ?? options.partitions ?? 1
    return new KafkaChangelogStore(topic, count, options)
  }

  /** The partition a task's records go to. */
  partitionOf(taskId: string): number {
    if (/^\d+$/.test(taskId)) return Number(taskId) % this.partitions
    let h = 0x811c9dc5 // FNV-1a
    for (let i = 0; i < taskId.length; i++) h = Math.imul(h ^ taskId.charCodeAt(i), 0x01000193)
    return (h >>> 0) % this.partitions
  }

  async write(checkpoints: readonly TaskCheckpoint[]): Promise<void> {
    if (checkpoints.length === 0) return
    await this.#producer.send(
      this.topic,
      checkpoints.map((cp) => ({
        key: cp.taskId,
        value: encodeCheckpoint(cp),
        partition: this.partitionOf(cp.taskId),
      })),
    )
  }

  async read(taskIds: readonly string[]): Promise<Map<string, TaskCheckpoint>> {
    const out = new Map<string, TaskCheckpoint>()
    if (taskIds.length === 0) return out
    const byPartition = new Map<number, Set<string>>()
    for (const id of taskIds) {
      const p = this.partitionOf(id)
      const set = byPartition.get(p) ?? new Set()
      set.add(id)
      byPartition.set(p, set)
    }
    const consumer = await this.#consumer()
    try {
      const ends = await Promise.all([...byPartition.keys()].map((p) => watermarks(consumer, this.topic, p)))
      // first the tail (a few records per task), then, for keys not found there, the whole partition
      let ranges: Range[] = ends
        .map(({ partition, low, high }) => {
          const want = byPartition.get(partition) as Set<string>
          return { partition, from: Math.max(low, high - 8 * want.size - 8), to: high, want, low }
        })
        .filter((r) => r.to > r.low)
      for (let pass = 0; pass < 2 && ranges.length > 0; pass++) {
        const found = await scan(consumer, this.topic, ranges)
        for (const [id, bytes] of found) out.set(id, decodeCheckpoint(bytes))
        ranges = ranges
          .map((r) => ({ ...r, want: new Set([...r.want].filter((id) => !out.has(id))) }))
          .filter((r) => r.want.size > 0 && r.from > (ends.find((e) => e.partition === r.partition)?.low ?? 0))
          .map((r) => ({ ...r, from: ends.find((e) => e.partition === r.partition)?.low ?? 0 }))
      }
    } finally {
      await new Promise<void>((resolve) => consumer.disconnect(() => resolve()))
    }
    return out
  }

  async close(): Promise<void> {
    await this.#producer.close()
  }

  async #consumer(): Promise<rdkafka.KafkaConsumer> {
    const consumer = new rdkafka.KafkaConsumer(
      {
        'bootstrap.servers': bootstrapServers(this.options.brokers),
        'group.id': `${this.options.applicationId}-changelog-reader`,
        'client.id': `${this.options.applicationId}-changelog-reader`,
        'enable.auto.commit': false,
        'fetch.message.max.bytes': this.options.maxMessageBytes ?? 64 * 1024 * 1024,
        'receive.message.max.bytes': 2 * (this.options.maxMessageBytes ?? 64 * 1024 * 1024) + 1_000_000,
        log_level: 0,
      },
      { 'auto.offset.reset': 'earliest' },
    )
    await new Promise<void>((resolve, reject) =>
      consumer.connect({ timeout: 10_000 }, (err) => (err ? reject(changelogError(this.topic, err)) : resolve())),
    )
    return consumer
  }
}

function changelogError(topic: string, err: { message: string }): Error {
  return new Error(`cannot read changelog ${topic}: ${err.message}`)
}

function watermarks(
  consumer: rdkafka.KafkaConsumer,
  topic: string,
  partition: number,
): Promise<{ partition: number; low: number; high: number }> {
  return new Promise((resolve, reject) =>
    consumer.queryWatermarkOffsets(topic, partition, 10_000, (err, o) =>
      err ? reject(changelogError(topic, err)) : resolve({ partition, low: o.lowOffset, high: o.highOffset }),
    ),
  )
}

/** Reads each range up to its end offset; returns the newest value per wanted key. */
async function scan(
  consumer: rdkafka.KafkaConsumer,
  topic: string,
  ranges: readonly Range[],
  timeoutMs = 60_000,
): Promise<Map<string, Buffer>> {
  const found = new Map<string, Buffer>()
  const pending = new Map(ranges.map((r) => [r.partition, r]))
  consumer.assign(ranges.map((r) => ({ topic, partition: r.partition, offset: r.from })))
  // A batch consume waits until it has `count` messages or the timeout passes: ask for what is left.
  consumer.setDefaultConsumeTimeout(200)
  const next = new Map(ranges.map((r) => [r.partition, r.from]))
  const deadline = Date.now() + timeoutMs
  try {
    while (pending.size > 0) {
      if (Date.now() > deadline) throw new Error(`reading changelog ${topic} took more than ${timeoutMs / 1000} s`)
      let left = 0
      for (const r of pending.values()) left += r.to - (next.get(r.partition) ?? r.from)
      const messages = await new Promise<rdkafka.Message[]>((resolve, reject) =>
        consumer.consume(Math.max(1, Math.min(100, left)), (err, ms) =>
          err ? reject(changelogError(topic, err)) : resolve(ms),
        ),
      )
      for (const m of messages) {
        const r = pending.get(m.partition)
        if (!r) continue
        const key = m.key === undefined || m.key === null ? '' : m.key.toString()
        if (r.want.has(key)) {
          if (m.value) found.set(key, m.value)
          else found.delete(key) // a tombstone: the task's state was deleted
        }
        next.set(m.partition, m.offset + 1)
        if (m.offset >= r.to - 1) pending.delete(m.partition)
      }
      // compaction may have removed the last offsets of a range: the position tells us we are past them
      if (messages.length === 0) {
        for (const pos of consumer.position()) {
          const r = pending.get(pos.partition)
          if (r && pos.offset >= r.to) pending.delete(pos.partition)
        }
      }
    }
  } finally {
    consumer.unassign()
  }
  return found
}
