import rdkafka from '@confluentinc/kafka-javascript'
import { describeCluster, ensureTopics } from '../connectors/kafka/admin.js'
import { type Brokers, bootstrapServers, type ConnectorLogger } from '../connectors/kafka/client.js'
import { KafkaProducer } from '../connectors/kafka/kafka-sink.js'
import { describeTopicConfigs } from '../connectors/kafka/topic-configs.js'
import type { MessageSender } from '../connectors/kafka/transactions.js'
import type { RawRecord } from '../connectors/types.js'
import type { CheckpointReadOptions, CheckpointStore, InvalidCheckpoint, TaskCheckpoint } from './checkpoint.js'
import { encodeCheckpoint, isDeltaKey, newestUsable, recordKey, supersededKeys, taskOfKey } from './checkpoint-codec.js'

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
  /**
   * Write checkpoints through this instead of an own idempotent producer (the runner's Kafka transaction: a
   * checkpoint is then visible only once the transaction carrying its offsets commits).
   */
  readonly producer?: MessageSender
}

/** The changelog topic of a store (Kafka Streams' naming). */
export const changelogTopic = (applicationId: string, store = 'windows'): string =>
  `${applicationId}-${store}-changelog`

type Range = { partition: number; from: number; to: number; want: Set<string> }

/** A changelog topic whose settings cannot hold checkpoints (one line saying what to change). */
export class ChangelogConfigError extends Error {
  override name = 'ConfigError'
}

/** A checkpoint larger than the changelog topic accepts: the checkpoint fails, nothing is committed. */
export class CheckpointTooLargeError extends Error {
  override name = 'CheckpointTooLargeError'
}

/** Bytes a record takes in a batch of its own beyond its key and value (batch header, record framing). */
const RECORD_OVERHEAD = 128

/** The command that changes a topic setting, for messages. */
export const alterTopicCommand = (brokers: string, topic: string, setting: string) =>
  `kafka-configs.sh --bootstrap-server ${brokers} --alter --entity-type topics --entity-name ${topic} --add-config ${setting}`

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
  readonly #producer: MessageSender

  private constructor(
    readonly topic: string,
    readonly partitions: number,
    /** The topic's `max.message.bytes` (what the brokers accept), read at open. */
    readonly maxMessageBytes: number,
    private readonly options: KafkaChangelogOptions,
  ) {
    this.#producer =
      options.producer ??
      new KafkaProducer({
        ...(options.brokers !== undefined && { brokers: options.brokers }),
        clientId: `${options.applicationId}-changelog`,
        rdkafka: {
          // the records are checked against the topic's limit before they are sent; batches stay within it too
          'message.max.bytes': Math.max(maxMessageBytes, 1_000_000) + 65_536,
          'batch.size': Math.max(1, Math.min(1_000_000, maxMessageBytes)),
          'compression.type': 'none',
          'linger.ms': 0,
        },
        ...(options.logger && { logger: options.logger }),
      })
  }

  /**
   * Creates the compacted topic when missing and returns a store on it. An existing topic's settings are checked:
   * a topic that is not compacted is refused with a {@link ChangelogConfigError} (retention would delete a task's
   * newest checkpoint, and restore would miss it); `compact,delete` and a `max.message.bytes` below the wanted
   * one are warnings (naming the command that fixes them).
   */
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
    const brokers = bootstrapServers(options.brokers)
    const settings = (
      await describeTopicConfigs([topic], options.brokers, ['cleanup.policy', 'max.message.bytes']).catch(
        (e: Error) => {
          options.logger?.warn({ err: e.message }, `${e.message}; the changelog's settings are not checked`)
          return new Map() as Awaited<ReturnType<typeof describeTopicConfigs>>
        },
      )
    ).get(topic)
    const policy = (settings?.get('cleanup.policy') ?? 'compact').split(',').map((p) => p.trim())
    if (!policy.includes('compact'))
      throw new ChangelogConfigError(
        `changelog topic ${topic} has cleanup.policy=${policy.join(',')}: checkpoints need a compacted topic (retention would delete a task's newest checkpoint, and a restore would miss it); run \`${alterTopicCommand(brokers, topic, 'cleanup.policy=compact')}\``,
      )
    if (policy.includes('delete'))
      options.logger?.warn(
        { topic, cleanupPolicy: policy.join(',') },
        `changelog topic ${topic} has cleanup.policy=compact,delete: retention deletes the checkpoint of a task that did not change for retention.ms; run \`${alterTopicCommand(brokers, topic, 'cleanup.policy=compact')}\``,
      )
    const limit = Number(settings?.get('max.message.bytes') ?? max)
    if (limit < max)
      options.logger?.warn(
        { topic, maxMessageBytes: limit, wanted: max },
        `changelog topic ${topic} accepts records of at most ${limit} bytes (max.message.bytes): a larger checkpoint fails and nothing is committed until one succeeds; run \`${alterTopicCommand(brokers, topic, `max.message.bytes=${max}`)}\``,
      )
    return new KafkaChangelogStore(topic, count, limit, options)
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
    const messages: { key: string; value: Buffer | null; partition: number }[] = []
    for (const cp of checkpoints) {
      const partition = this.partitionOf(cp.taskId)
      messages.push({ key: recordKey(cp), value: encodeCheckpoint(cp), partition })
      // the chain a base replaces: deleted once the base is (same partition, after it, in the same send)
      for (const key of supersededKeys(cp)) messages.push({ key, value: null, partition })
    }
    for (const m of messages) {
      if (m.value === null) continue
      const size = m.value.length + Buffer.byteLength(m.key) + RECORD_OVERHEAD
      if (size > this.maxMessageBytes) {
        const wanted = 2 ** Math.ceil(Math.log2(size))
        throw new CheckpointTooLargeError(
          `checkpoint ${m.key} of task ${taskOfKey(m.key)} is ${size} bytes, more than changelog topic ${this.topic} accepts (max.message.bytes=${this.maxMessageBytes}); run \`${alterTopicCommand(bootstrapServers(this.options.brokers), this.topic, `max.message.bytes=${wanted}`)}\``,
        )
      }
    }
    await this.#producer.send(this.topic, messages)
  }

  async read(taskIds: readonly string[], options?: CheckpointReadOptions): Promise<Map<string, TaskCheckpoint>> {
    const out = new Map<string, TaskCheckpoint>()
    if (taskIds.length === 0) return out
    const byPartition = new Map<number, Set<string>>()
    for (const id of taskIds) {
      const p = this.partitionOf(id)
      const set = byPartition.get(p) ?? new Set()
      set.add(id)
      byPartition.set(p, set)
    }
    // per task, the lowest offset tried so far: a later pass looks only below it
    const tried = new Map<string, number>()
    const consumer = await this.#consumer()
    try {
      const ends = await Promise.all([...byPartition.keys()].map((p) => watermarks(consumer, this.topic, p)))
      const lowOf = (partition: number) => ends.find((e) => e.partition === partition)?.low ?? 0
      // first the tail (a few records per task), then, for tasks with nothing usable there, the whole partition
      let ranges: Range[] = ends
        .map(({ partition, low, high }) => {
          const want = byPartition.get(partition) as Set<string>
          return { partition, from: Math.max(low, high - 8 * want.size - 8), to: high, want, low }
        })
        .filter((r) => r.to > r.low)
      // per task, the records found so far (a later pass adds older ones before them)
      const all = new Map<string, RawRecord[]>()
      /** Per task, the unusable records its last assembly met: reported once no further pass reads the task. */
      const pending = new Map<string, InvalidCheckpoint[]>()
      for (let pass = 0; pass < 2 && ranges.length > 0; pass++) {
        const candidates = await scan(consumer, this.topic, ranges, tried)
        const settled = new Set<string>()
        for (const [id, records] of candidates) {
          const known = [...records, ...(all.get(id) ?? [])]
          all.set(id, known)
          // a tail holding only deltas is no restore point yet: what it reports waits for the pass that decides
          const invalid: InvalidCheckpoint[] = []
          const cp = newestUsable(id, known, { ...options, onInvalid: (i) => invalid.push(i) })
          pending.set(id, invalid)
          if (cp !== undefined) settled.add(id)
          if (cp) out.set(id, cp)
          tried.set(id, Math.min(tried.get(id) ?? Number.POSITIVE_INFINITY, records[0]?.offset ?? 0))
        }
        ranges = ranges
          .map((r) => ({ ...r, want: new Set([...r.want].filter((id) => !settled.has(id))) }))
          .filter((r) => r.want.size > 0 && r.from > lowOf(r.partition))
          .map((r) => ({ ...r, from: lowOf(r.partition) }))
      }
      for (const invalid of pending.values()) for (const i of invalid) options?.onInvalid?.(i)
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
        // checkpoints written in a transaction count once it commits; an aborted one (a fenced zombie's) never
        'isolation.level': 'read_committed',
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

/**
 * Restore points kept per task by a scan: the newest few whole checkpoints or bases (older ones are needed only
 * when all of these are unusable), with every delta record after the oldest of them.
 */
const CANDIDATES = 4

/** Drops a task's records older than its {@link CANDIDATES} newest restore points (records oldest first). */
function keepNewest(list: RawRecord[]): void {
  let points = 0
  for (const r of list) if (r.value !== null && !isDeltaKey(r.key?.toString() ?? '')) points++
  while (points > CANDIDATES) {
    const r = list.shift() as RawRecord
    if (r.value !== null && !isDeltaKey(r.key?.toString() ?? '')) points--
  }
}

/**
 * Reads each range up to its end offset; returns, per wanted key, its newest records (oldest first) below the
 * offset already tried for it.
 */
async function scan(
  consumer: rdkafka.KafkaConsumer,
  topic: string,
  ranges: readonly Range[],
  tried: ReadonlyMap<string, number>,
  timeoutMs = 60_000,
): Promise<Map<string, RawRecord[]>> {
  const found = new Map<string, RawRecord[]>()
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
        const task = taskOfKey(key)
        if (r.want.has(task) && m.offset < (tried.get(task) ?? Number.POSITIVE_INFINITY)) {
          // a null value is a tombstone: the task's state was deleted
          const list = found.get(task) ?? []
          list.push({
            topic,
            partition: m.partition,
            offset: m.offset,
            key: Buffer.from(key),
            value: m.value ?? null,
            timestamp: m.timestamp ?? 0,
          })
          keepNewest(list)
          found.set(task, list)
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
