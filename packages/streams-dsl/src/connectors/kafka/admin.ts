import rdkafka, { KafkaJS } from '@confluentinc/kafka-javascript'
import { type Brokers, bootstrapServers, clientConfig } from './client.js'

/**
 * A topic to create if it does not exist.
 *
 * @example
 * await ensureTopics([{ topic: 'views', partitions: 6 }, { topic: 'views-state', compacted: true }])
 */
export type TopicSpec = {
  /** The topic's name. */
  readonly topic: string
  /** Default 1 for compacted internal topics, 6 otherwise. */
  readonly partitions?: number
  /** Default min(3, number of brokers). */
  readonly replicationFactor?: number
  /** `cleanup.policy=compact` (changelogs, repartition state). */
  readonly compacted?: boolean
  /** More topic settings, e.g. `{ 'retention.ms': '86400000' }`. */
  readonly config?: Readonly<Record<string, string>>
}

/**
 * What the cluster looks like: broker count, partition count per topic, topics whose partitions all have a leader.
 *
 * @example
 * const { brokers, topics } = await describeCluster('127.0.0.1:9092')
 * topics.get('views') // 6, or undefined when the topic does not exist
 */
export type ClusterInfo = {
  /** Brokers that answered the metadata request. */
  readonly brokers: number
  /** Partition count per topic. */
  readonly topics: ReadonlyMap<string, number>
  /** Topics every partition of which has a leader (ready to read and write). */
  readonly withLeaders: ReadonlySet<string>
}

/**
 * No broker answered: the message is one line a user can act on (what was tried, how to fix it).
 *
 * @example
 * await describeCluster('127.0.0.1:1').catch((e) => e instanceof KafkaUnavailableError && console.error(e.message))
 * // 'Kafka not reachable at 127.0.0.1:1 (...); start the local cluster with `pnpm kafka:up` or set KAFKA_BROKERS'
 */
export class KafkaUnavailableError extends Error {
  override name = 'KafkaUnavailableError'
}

/**
 * Asks the cluster for its brokers and topics; rejects with a one-line {@link KafkaUnavailableError}
 * when no broker answers within `timeoutMs`.
 *
 * @example
 * const { brokers } = await describeCluster('127.0.0.1:9092')
 */
export async function describeCluster(brokers?: Brokers, timeoutMs = 5_000): Promise<ClusterInfo> {
  const servers = bootstrapServers(brokers)
  // The callback API's producer: its metadata call reports the broker count, which the KafkaJS admin lacks.
  const producer = new rdkafka.Producer({ 'bootstrap.servers': servers, 'socket.timeout.ms': timeoutMs, log_level: 0 })
  const fail = (why: string) =>
    new KafkaUnavailableError(
      `Kafka not reachable at ${servers} (${why}); start the local cluster with \`pnpm kafka:up\` or set KAFKA_BROKERS`,
    )
  try {
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(fail(`no answer within ${timeoutMs / 1000} s`)), timeoutMs + 1_000)
      producer.connect({ timeout: timeoutMs, allTopics: true }, (err) => {
        clearTimeout(timer)
        if (err) reject(fail(err.message))
        else resolve()
      })
    })
    const md = await new Promise<{ brokers: unknown[]; topics: { name: string; partitions: { leader: number }[] }[] }>(
      (resolve, reject) =>
        producer.getMetadata({ allTopics: true, timeout: timeoutMs }, (err, data) =>
          err ? reject(fail(err.message)) : resolve(data),
        ),
    )
    return {
      brokers: md.brokers.length,
      topics: new Map(md.topics.map((t) => [t.name, t.partitions.length])),
      withLeaders: new Set(
        md.topics.filter((t) => t.partitions.length > 0 && t.partitions.every((p) => p.leader >= 0)).map((t) => t.name),
      ),
    }
  } finally {
    await new Promise<void>((resolve) => producer.disconnect(() => resolve())).catch(() => {})
  }
}

/**
 * Creates the topics that do not exist yet (existing ones are left as they are, whatever their partition count).
 * Replication factor defaults to min(3, brokers); compacted topics get `cleanup.policy=compact`.
 *
 * @example
 * await ensureTopics([{ topic: 'page-views-dlq' }, { topic: 'page-views-state', compacted: true }])
 */
export async function ensureTopics(specs: readonly TopicSpec[], brokers?: Brokers): Promise<string[]> {
  const cluster = await describeCluster(brokers)
  const missing = specs.filter((s) => !cluster.topics.has(s.topic))
  if (missing.length === 0) return []
  const admin = new KafkaJS.Kafka({}).admin(clientConfig(brokers, 'streams-dsl-admin'))
  await admin.connect()
  try {
    await admin.createTopics({
      timeout: 30_000,
      topics: missing.map((s) => ({
        topic: s.topic,
        numPartitions: s.partitions ?? (s.compacted ? 1 : 6),
        replicationFactor: s.replicationFactor ?? Math.min(3, Math.max(1, cluster.brokers)),
        configEntries: Object.entries({ ...(s.compacted && { 'cleanup.policy': 'compact' }), ...s.config }).map(
          ([name, value]) => ({ name, value }),
        ),
      })),
    })
  } catch (e) {
    // Another instance may have created them between our look and our create.
    const again = await describeCluster(brokers)
    if (missing.some((s) => !again.topics.has(s.topic))) throw e
  } finally {
    await admin.disconnect()
  }
  // Metadata spreads to the brokers a moment after the create: return once every new partition has a leader.
  const deadline = Date.now() + 30_000
  for (;;) {
    const now = await describeCluster(brokers)
    if (missing.every((s) => now.withLeaders.has(s.topic))) break
    if (Date.now() > deadline)
      throw new Error(`topics ${missing.map((s) => s.topic).join(', ')} have no leader after 30 s`)
    await new Promise((r) => setTimeout(r, 200))
  }
  return missing.map((s) => s.topic)
}

/**
 * Low and high (log end) offsets of one partition of a topic.
 *
 * @example
 * const backlog = (await describePartitions('views')).reduce((n, p) => n + p.high - p.low, 0)
 */
export type PartitionOffsets = {
  readonly partition: number
  /** First offset still in the log. */
  readonly low: number
  /** Log end: the offset the next record gets. */
  readonly high: number
}

/**
 * Partitions of a topic with their low and high (log end) offsets.
 *
 * @example
 * const parts = await describePartitions('impressions')
 */
export async function describePartitions(topic: string, brokers?: Brokers): Promise<PartitionOffsets[]> {
  const admin = new KafkaJS.Kafka({}).admin(clientConfig(brokers, 'streams-dsl-admin'))
  await admin.connect()
  try {
    const offsets = await admin.fetchTopicOffsets(topic)
    return offsets
      .map((o) => ({ partition: o.partition, low: Number(o.low), high: Number(o.high) }))
      .sort((a, b) => a.partition - b.partition)
  } finally {
    await admin.disconnect()
  }
}
