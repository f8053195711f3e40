import { connect } from 'node:net'
import { KafkaJS, RdKafka } from '@confluentinc/kafka-javascript'
import { UserError } from './user-error.js'

/** What to create: partitions and replication factor of one topic. */
export type TopicSpec = {
  readonly topic: string
  readonly partitions: number
  readonly replicationFactor: number
  readonly config?: Readonly<Record<string, string>>
}

/** What {@link ensureTopics} did for one topic. */
export type TopicOutcome = {
  readonly topic: string
  readonly action: 'created' | 'exists'
  readonly partitions: number
  readonly replicationFactor: number
}

/** Splits `KAFKA_BROKERS`-style strings (`host:port,host:port`) into a list. */
export function brokerList(brokers: string | readonly string[]): string[] {
  const list = typeof brokers === 'string' ? brokers.split(',') : [...brokers]
  return list.map((b) => b.trim()).filter(Boolean)
}

/**
 * A KafkaJS-compatible client that logs nothing (librdkafka's connection
 * chatter would otherwise reach the terminal while brokers start or stop).
 *
 * @example
 * const producer = quietKafka('127.0.0.1:9092').producer({ kafkaJS: { acks: -1 } })
 */
export function quietKafka(brokers: string | readonly string[], clientId = 'ctr-scripts'): KafkaJS.Kafka {
  return new KafkaJS.Kafka({ kafkaJS: { brokers: brokerList(brokers), clientId, logLevel: KafkaJS.logLevel.NOTHING } })
}

/** Runs `fn` with a connected admin client and disconnects afterwards. */
export async function withAdmin<T>(
  brokers: string | readonly string[],
  fn: (admin: KafkaJS.Admin) => Promise<T>,
): Promise<T> {
  const admin = quietKafka(brokers).admin()
  await admin.connect()
  try {
    return await fn(admin)
  } finally {
    await admin.disconnect().catch(() => {})
  }
}

/**
 * The ids of the brokers the cluster reports (a metadata request). Rejects
 * when no broker answers within `timeoutMs`.
 */
export async function brokerIds(brokers: string | readonly string[], timeoutMs = 5000): Promise<number[]> {
  const client = new RdKafka.Producer({
    'bootstrap.servers': brokerList(brokers).join(','),
    'socket.connection.setup.timeout.ms': Math.max(1000, timeoutMs),
    log_level: 0,
  })
  try {
    const md = await new Promise<RdKafka.Metadata>((resolve, reject) =>
      client.connect({ timeout: timeoutMs }, (err, data) => (err ? reject(err) : resolve(data))),
    )
    return md.brokers.map((b) => b.id).sort((a, b) => a - b)
  } finally {
    if (client.isConnected()) await new Promise((r) => client.disconnect(r))
  }
}

/**
 * Checks that Kafka answers at `brokers`; throws a one-line {@link UserError}
 * that says how to start it otherwise. Returns the broker ids.
 */
export async function requireKafka(brokers: string | readonly string[], timeoutMs = 5000): Promise<number[]> {
  const list = brokerList(brokers)
  const unreachable = new UserError(`Kafka not reachable at ${list.join(',')}; start it with \`pnpm kafka:up\``)
  // A refused connection is known at once; the client would keep retrying until its timeout.
  const open = await Promise.all(list.map((b) => tcpOpen(b, Math.min(timeoutMs, 2000))))
  if (!open.includes(true)) throw unreachable
  try {
    return await brokerIds(list, timeoutMs)
  } catch {
    throw unreachable
  }
}

/** True when a TCP connection to `host:port` opens within `timeoutMs`. */
export function tcpOpen(hostPort: string, timeoutMs: number): Promise<boolean> {
  const i = hostPort.lastIndexOf(':')
  const host = hostPort.slice(0, i).replace(/^\[|\]$/g, '')
  const port = Number(hostPort.slice(i + 1))
  if (i < 0 || !Number.isInteger(port)) return Promise.resolve(false)
  return new Promise((resolve) => {
    const socket = connect({ host, port, timeout: timeoutMs })
    const done = (ok: boolean) => {
      socket.destroy()
      resolve(ok)
    }
    socket.once('connect', () => done(true))
    socket.once('timeout', () => done(false))
    socket.once('error', () => done(false))
  })
}

/**
 * Creates the topics that do not exist yet; leaves existing ones as they are
 * (idempotent) and reports their partitions and replication factor.
 *
 * @example
 * await ensureTopics('127.0.0.1:9092', [{ topic: 'impressions', partitions: 6, replicationFactor: 3 }])
 */
export async function ensureTopics(
  brokers: string | readonly string[],
  specs: readonly TopicSpec[],
  opts: { timeoutMs?: number } = {},
): Promise<TopicOutcome[]> {
  return withAdmin(brokers, async (admin) => {
    const outcomes: TopicOutcome[] = []
    for (const spec of specs) {
      const created = await admin.createTopics({
        timeout: opts.timeoutMs ?? 15_000,
        topics: [
          {
            topic: spec.topic,
            numPartitions: spec.partitions,
            replicationFactor: spec.replicationFactor,
            configEntries: Object.entries(spec.config ?? {}).map(([name, value]) => ({ name, value })),
          },
        ],
      })
      if (created) {
        outcomes.push({ ...spec, action: 'created' })
        continue
      }
      const [md] = await admin.fetchTopicMetadata({ topics: [spec.topic], timeout: opts.timeoutMs ?? 15_000 })
      outcomes.push({
        topic: spec.topic,
        action: 'exists',
        partitions: md?.partitions.length ?? 0,
        replicationFactor: md?.partitions[0]?.replicas.length ?? 0,
      })
    }
    return outcomes
  })
}
