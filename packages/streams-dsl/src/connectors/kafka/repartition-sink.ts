import { DEFAULT_MAX_MESSAGE_BYTES, encodeBundles, maxValueBytes } from '../../runtime/repartition/codec.js'
import type { RepartitionRecord, Sink } from '../types.js'
import {
  KafkaProducer,
  type KafkaProducerOptions,
  type ProducerMessage,
  producerSizeSettings,
} from './kafka-producer.js'
import type { MessageSender } from './transactions.js'

/** Options of {@link kafkaRepartitionSink}. */
export type RepartitionSinkOptions = KafkaProducerOptions & {
  /** `max.message.bytes` of each repartition topic (default: the broker default, 1048588). */
  readonly maxMessageBytes?: Readonly<Record<string, number>>
  /** Send through this instead of an own idempotent producer (the runner's Kafka transaction). */
  readonly producer?: MessageSender
}

/**
 * Writes routed records and watermark markers to repartition topics with the idempotent acks=all producer, as
 * bundles (many routed records per Kafka record, see `runtime/repartition.ts`); `write` resolves once every
 * bundle is acknowledged. The engine does not wait for it: its sink writer keeps
 * one write in flight and coalesces what comes meanwhile (as Kafka Streams' producer batches), and a
 * checkpoint flushes the writer before it commits source offsets. The idempotent producer keeps each partition
 * in send order, which markers rely on (a marker follows the data it covers).
 *
 * @example
 * const engine = createStagedEngine(topology, { topics, origins, sink: kafkaRepartitionSink({ clientId: 'ctr' }) })
 */
export function kafkaRepartitionSink(
  options: RepartitionSinkOptions = {},
): Sink<RepartitionRecord> & { close(): Promise<void> } {
  const limits = options.maxMessageBytes ?? {}
  const limitOf = (topic: string) => limits[topic] ?? DEFAULT_MAX_MESSAGE_BYTES
  const producer =
    options.producer ??
    new KafkaProducer({
      clientId: 'streams-dsl-repartition',
      ...options,
      rdkafka: { ...producerSizeSettings(Object.values(limits)), ...options.rdkafka },
    })
  return {
    name: 'repartition',
    async write(records) {
      const byTopicRecords = new Map<string, RepartitionRecord[]>()
      for (const r of records) {
        const list = byTopicRecords.get(r.topic)
        if (list) list.push(r)
        else byTopicRecords.set(r.topic, [r])
      }
      const bundles = [...byTopicRecords].flatMap(([topic, list]) => encodeBundles(list, maxValueBytes(limitOf(topic))))
      const now = Date.now()
      const byTopic = new Map<string, ProducerMessage[]>()
      for (const b of bundles) {
        const m: ProducerMessage = { key: null, value: b.value, partition: b.partition, timestamp: now }
        const list = byTopic.get(b.topic)
        if (list) list.push(m)
        else byTopic.set(b.topic, [m])
      }
      await Promise.all([...byTopic].map(([topic, ms]) => producer.send(topic, ms)))
    },
    flush: () => producer.flush(),
    close: () => producer.close(),
  }
}
