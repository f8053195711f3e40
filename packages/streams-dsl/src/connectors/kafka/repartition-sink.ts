import type { RepartitionRecord, Sink } from '../types.js'
import { KafkaProducer, type KafkaProducerOptions, type ProducerMessage } from './kafka-producer.js'

/** Options of {@link kafkaRepartitionSink}. */
export type RepartitionSinkOptions = KafkaProducerOptions

/**
 * Writes routed records and watermark markers to repartition topics with the idempotent acks=all producer;
 * `write` resolves once every record is acknowledged. The engine does not wait for it: its sink writer keeps
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
      const byTopic = new Map<string, RepartitionRecord[]>()
      for (const r of records) {
        const list = byTopic.get(r.topic)
        if (list) list.push(r)
        else byTopic.set(r.topic, [r])
      }
      await Promise.all(
        [...byTopic].map(([topic, rs]) =>
          producer.send(
            topic,
            rs.map((r) => {
              const m: ProducerMessage = { key: r.key, value: r.value, partition: r.partition, timestamp: r.timestamp }
              if (r.headers) m.headers = r.headers
              return m
            }),
          ),
        ),
      )
    },
    flush: () => producer.flush(),
    close: () => producer.close(),
  }
}
