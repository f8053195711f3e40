import { KafkaJS } from '@confluentinc/kafka-javascript'
import type { OutRecord } from './generator.js'

/** Kafka cannot be used: unreachable, or a topic is missing. `message` is one line saying what to do. */
export class KafkaUnavailableError extends Error {
  override readonly name = 'KafkaUnavailableError'
}

/** Where generated records go. */
export interface RecordSink {
  /** Produces the records; resolves once Kafka acknowledged them all. */
  send(records: readonly OutRecord[]): Promise<void>
  close(): Promise<void>
}

/** The topics each stream goes to. */
export type Topics = { readonly impressions: string; readonly clicks: string }

const firstLine = (e: unknown) => String((e as Error)?.message ?? e).split('\n')[0]

/**
 * Connects a producer after checking that the brokers answer and both topics exist, so that a
 * missing cluster is one clear line instead of a 30 s hang.
 *
 * @example
 * const sink = await connectKafka(['127.0.0.1:9092'], { impressions: 'impressions', clicks: 'clicks' })
 */
export async function connectKafka(brokers: readonly string[], topics: Topics): Promise<RecordSink> {
  const kafka = new KafkaJS.Kafka({
    kafkaJS: { brokers: [...brokers], clientId: 'ctr-producers', logLevel: KafkaJS.logLevel.NOTHING },
  })
  const admin = kafka.admin()
  await admin.connect()
  let existing: string[]
  try {
    existing = await admin.listTopics({ timeout: 5000 })
  } catch (e) {
    throw new KafkaUnavailableError(
      `cannot reach Kafka at ${brokers.join(',')} (${firstLine(e)}); start the local cluster with: pnpm kafka:up`,
    )
  } finally {
    await admin.disconnect().catch(() => {})
  }
  const missing = [topics.impressions, topics.clicks].filter((t) => !existing.includes(t))
  if (missing.length > 0) {
    throw new KafkaUnavailableError(
      `topic${missing.length > 1 ? 's' : ''} ${missing.join(', ')} missing on ${brokers.join(',')}; create them with: pnpm topics:create`,
    )
  }
  const producer = kafka.producer({
    'linger.ms': 10,
    kafkaJS: { allowAutoTopicCreation: false, logLevel: KafkaJS.logLevel.NOTHING },
  })
  await producer.connect()
  return {
    async send(records) {
      const byStream = { impressions: [] as KafkaJS.Message[], clicks: [] as KafkaJS.Message[] }
      for (const r of records) byStream[r.stream].push({ key: r.key, value: r.value })
      await Promise.all(
        (['impressions', 'clicks'] as const)
          .filter((s) => byStream[s].length > 0)
          .map((s) => producer.send({ topic: topics[s], messages: byStream[s] })),
      )
    },
    async close() {
      await producer.flush({ timeout: 10_000 }).catch(() => {})
      await producer.disconnect()
    },
  }
}
