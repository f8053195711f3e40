import { encodeBundles } from '../../runtime/repartition.js'
import type { RepartitionRecord, Sink } from '../types.js'
import { KafkaProducer, type KafkaProducerOptions, type ProducerMessage } from './kafka-producer.js'

/** Options of {@link kafkaRepartitionSink}. */
export type RepartitionSinkOptions = KafkaProducerOptions

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
  const producer = new KafkaProducer({ clientId: 'streams-dsl-repartition', ...options })
  return {
    name: 'repartition',
    async write(records) {
      const bundles = encodeBundles(records)
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
