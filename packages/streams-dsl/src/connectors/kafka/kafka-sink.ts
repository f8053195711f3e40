import type { Sink, SinkContext } from '../types.js'
import { KafkaProducer, type KafkaProducerOptions, type ProducerMessage } from './kafka-producer.js'
import type { MessageSender } from './transactions.js'

export { KafkaProducer, type KafkaProducerOptions, type ProducerMessage }

/**
 * Options of {@link kafkaSink}.
 *
 * @example
 * kafkaSink<PageViews>({ topic: 'views-per-minute', key: (r) => r.page, value: (r) => String(r.views), name: 'per-minute' })
 */
export type KafkaSinkOptions<T> = KafkaProducerOptions & {
  /** The topic written to. */
  readonly topic: string
  /** Record key (default: none). */
  readonly key?: (r: T) => Buffer | string | null
  /** Record value (default: `JSON.stringify`). */
  readonly value?: (r: T) => Buffer | string
  /** Record headers (default: none). */
  readonly headers?: (r: T) => Record<string, Buffer | string>
  /** Default `kafka(<topic>)`. */
  readonly name?: string
}

/**
 * A Kafka sink: one message per record with a serializer; `write` resolves when all are acknowledged (idempotent
 * producer, `acks=all`). Without `brokers` it writes to the job's Kafka (the runner's `KAFKA_BROKERS`, handed over by
 * {@link Sink.open}), else to `KAFKA_BROKERS` / `127.0.0.1:9092`. The producer connects on the first write.
 * Under the runner's `guarantee: 'exactly-once'` (a `transaction` in the {@link SinkContext}) its records go into the
 * instance's Kafka transaction instead, committed with the input offsets and the checkpoints: a `read_committed`
 * consumer sees each exactly once, across crashes.
 *
 * @example
 * results.to(kafkaSink({ topic: 'page-views-per-minute', key: (r) => r.page }))
 */
export function kafkaSink<T>(options: KafkaSinkOptions<T>): Sink<T> {
  const value = options.value ?? ((r: T) => JSON.stringify(r))
  let context: SinkContext | undefined
  let producer: KafkaProducer | undefined
  const connected = (): MessageSender => {
    if (context?.transaction) return context.transaction
    producer ??= new KafkaProducer({
      ...options,
      ...(options.brokers === undefined && context && { brokers: context.kafkaBrokers }),
      ...(options.logger === undefined && context && { logger: context.logger }),
    })
    return producer
  }
  return {
    name: options.name ?? `kafka(${options.topic})`,
    open(ctx) {
      context = ctx
    },
    write: (records) =>
      connected().send(
        options.topic,
        records.map((r) => {
          const m: ProducerMessage = { key: options.key ? options.key(r) : null, value: value(r) }
          if (options.headers) m.headers = options.headers(r)
          return m
        }),
      ),
    flush: async () => {
      await (context?.transaction ?? producer)?.flush()
    },
    async close() {
      const p = producer
      producer = undefined // a later open() and write (a restarted runner) connects again
      await p?.close()
    },
  }
}
