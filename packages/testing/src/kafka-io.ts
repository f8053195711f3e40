import { randomBytes } from 'node:crypto'
import type { KafkaJS } from '@confluentinc/kafka-javascript'
import { quietKafka } from '../../../scripts/lib/kafka-admin.js'
import { kafkaBrokers } from './context.js'

/** A record to produce: value as string/Buffer (objects are JSON-encoded). */
export type TestMessage = {
  readonly key?: string | Buffer | null
  readonly value: string | Buffer | object | null
  readonly partition?: number
  readonly headers?: Record<string, string | Buffer>
  /** Record timestamp, epoch ms. */
  readonly timestamp?: number
}

/** A consumed record, key and value decoded as UTF-8. */
export type ConsumedMessage = {
  readonly topic: string
  readonly partition: number
  readonly offset: number
  readonly key: string | null
  readonly value: string | null
  readonly timestamp: number
  readonly headers: Record<string, string>
}

/**
 * A KafkaJS-compatible client (@confluentinc/kafka-javascript) for the test
 * Kafka, with client logging off.
 *
 * @example
 * const producer = testKafka().producer({ kafkaJS: { acks: -1, idempotent: true } })
 */
export function testKafka(clientId = 'ctr-test'): KafkaJS.Kafka {
  return quietKafka(kafkaBrokers(), clientId)
}

function encode(value: TestMessage['value']): string | Buffer | null {
  if (value === null || typeof value === 'string' || Buffer.isBuffer(value)) return value
  return JSON.stringify(value)
}

/**
 * Produces messages with acks=all (idempotent producer) and resolves once
 * every one is acknowledged. Returns the delivery reports.
 *
 * @example
 * await produce(topic, [{ key: 'p-1', value: { product_id: 'p-1', timestamp: 0 } }])
 */
export async function produce(
  topic: string,
  messages: readonly TestMessage[],
  opts: { acks?: number } = {},
): Promise<KafkaJS.RecordMetadata[]> {
  const producer = testKafka().producer({ kafkaJS: { acks: opts.acks ?? -1, idempotent: (opts.acks ?? -1) === -1 } })
  await producer.connect()
  try {
    return await producer.send({
      topic,
      messages: messages.map((m) => ({
        key: m.key ?? null,
        value: encode(m.value),
        ...(m.partition !== undefined ? { partition: m.partition } : {}),
        ...(m.headers ? { headers: m.headers } : {}),
        ...(m.timestamp !== undefined ? { timestamp: String(m.timestamp) } : {}),
      })),
    })
  } finally {
    await producer.disconnect()
  }
}

/** Options of {@link consume}. */
export type ConsumeOptions = {
  /** Stop once this many messages arrived (default: wait for `timeoutMs` and return what came). */
  count?: number
  /** Give up after this long (default 30 s); with `count`, fewer messages is an error. */
  timeoutMs?: number
  /** Consumer group (default: a fresh one, reading from the beginning). */
  groupId?: string
}

/**
 * Reads a topic from the beginning with a fresh consumer group until `count`
 * messages arrived, and returns them in arrival order.
 *
 * @example
 * const got = await consume(topic, { count: 100 })
 */
export async function consume(topic: string, opts: ConsumeOptions = {}): Promise<ConsumedMessage[]> {
  const groupId = opts.groupId ?? `test-${randomBytes(6).toString('hex')}`
  const consumer = testKafka().consumer({ kafkaJS: { groupId, fromBeginning: true } })
  const got: ConsumedMessage[] = []
  await consumer.connect()
  try {
    await consumer.subscribe({ topics: [topic] })
    const timeoutMs = opts.timeoutMs ?? 30_000
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => {
        if (opts.count === undefined) resolve()
        else reject(new Error(`consume(${topic}): ${got.length} of ${opts.count} messages within ${timeoutMs} ms`))
      }, timeoutMs)
      consumer
        .run({
          eachMessage: async ({ topic: t, partition, message }) => {
            const headers: Record<string, string> = {}
            for (const [k, v] of Object.entries(message.headers ?? {})) {
              if (v !== undefined) headers[k] = Array.isArray(v) ? v.map(String).join(',') : v.toString()
            }
            got.push({
              topic: t,
              partition,
              offset: Number(message.offset),
              key: message.key ? message.key.toString() : null,
              value: message.value ? message.value.toString() : null,
              timestamp: Number(message.timestamp),
              headers,
            })
            if (opts.count !== undefined && got.length >= opts.count) {
              clearTimeout(timer)
              resolve()
            }
          },
        })
        .catch((err: unknown) => {
          clearTimeout(timer)
          reject(err)
        })
    })
  } finally {
    await consumer.disconnect()
  }
  return got
}
