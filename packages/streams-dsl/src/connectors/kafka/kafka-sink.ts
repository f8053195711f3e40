import { KafkaJS } from '@confluentinc/kafka-javascript'
import type { Sink } from '../types.js'
import { type Brokers, type ConnectorLogger, clientConfig } from './client.js'

/** A record as the producer sends it. */
export type ProducerMessage = {
  key: Buffer | string | null
  value: Buffer | string | null
  headers?: Record<string, Buffer | string>
  timestamp?: string
  /** Explicit partition (default: the producer's partitioner on the key). */
  partition?: number
}

/** Options shared by the Kafka sinks. */
export type KafkaProducerOptions = {
  readonly brokers?: Brokers
  readonly clientId?: string
  /** Extra librdkafka producer properties; they win over the defaults. */
  readonly rdkafka?: Readonly<Record<string, string | number | boolean>>
  readonly logger?: ConnectorLogger
}

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
 * An idempotent producer (`enable.idempotence`, `acks=all`) that connects on first use. `send` resolves when
 * every message is acknowledged by the in-sync replicas and rejects on a permanent delivery error (a record
 * too large, an authorisation error); while the brokers are unreachable it waits, however long
 * (`message.timeout.ms` 0), so a Kafka outage holds the job instead of failing it.
 */
export class KafkaProducer {
  readonly #options: KafkaProducerOptions
  #producer: KafkaJS.Producer | undefined
  #connecting: Promise<KafkaJS.Producer> | undefined

  constructor(options: KafkaProducerOptions = {}) {
    this.#options = options
  }

  #connect(): Promise<KafkaJS.Producer> {
    this.#connecting ??= (async () => {
      const o = this.#options
      const producer = new KafkaJS.Kafka({}).producer({
        ...clientConfig(o.brokers, o.clientId ?? 'streams-dsl-producer', o.logger),
        'enable.idempotence': true,
        acks: -1,
        'linger.ms': 5,
        'compression.type': 'lz4',
        // an outage of any length is waited out (the writes stay pending, the input pauses), never a failed write
        'message.timeout.ms': 0,
        ...o.rdkafka,
      } as unknown as KafkaJS.ProducerConstructorConfig)
      await producer.connect()
      this.#producer = producer
      return producer
    })()
    return this.#connecting
  }

  /** Sends and waits for every delivery report; rejects on the first failure. */
  async send(topic: string, messages: ProducerMessage[]): Promise<void> {
    if (messages.length === 0) return
    const producer = await this.#connect()
    await producer.send({ topic, messages: messages as KafkaJS.Message[] })
  }

  async flush(): Promise<void> {
    await this.#producer?.flush({ timeout: 30_000 })
  }

  async close(): Promise<void> {
    const p = this.#producer
    this.#producer = undefined
    this.#connecting = undefined
    if (p) {
      await p.flush({ timeout: 30_000 }).catch(() => {})
      await p.disconnect()
    }
  }
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
