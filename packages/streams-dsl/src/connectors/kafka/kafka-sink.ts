import type { Sink } from '../types.js'
import { KafkaProducer, type KafkaProducerOptions, type ProducerMessage } from './kafka-producer.js'

export { KafkaProducer, type KafkaProducerOptions, type ProducerMessage }

/** Options of {@link kafkaSink}. */
export type KafkaSinkOptions<T> = KafkaProducerOptions & {
  readonly topic: string
  /** Record key (default: none). */
  readonly key?: (r: T) => Buffer | string | null
  /** Record value (default: `JSON.stringify`). */
  readonly value?: (r: T) => Buffer | string
  readonly headers?: (r: T) => Record<string, Buffer | string>
  readonly name?: string
}

/**
 * A Kafka sink: one message per record with a serializer; `write` resolves when all are acknowledged.
 *
 * @example
 * results.to(kafkaSink({ topic: 'ctr-results', key: (r) => r.product_id }))
 */
export function kafkaSink<T>(options: KafkaSinkOptions<T>): Sink<T> {
  const producer = new KafkaProducer(options)
  const value = options.value ?? ((r: T) => JSON.stringify(r))
  return {
    name: options.name ?? `kafka(${options.topic})`,
    write: (records) =>
      producer.send(
        options.topic,
        records.map((r) => {
          const m: ProducerMessage = { key: options.key ? options.key(r) : null, value: value(r) }
          if (options.headers) m.headers = options.headers(r)
          return m
        }),
      ),
    flush: () => producer.flush(),
    close: () => producer.close(),
  }
}
