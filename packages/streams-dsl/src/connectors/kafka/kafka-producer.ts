import rdkafka from '@confluentinc/kafka-javascript'
import { type Brokers, bootstrapServers, type ConnectorLogger, connectorLogger, warnOncePer30s } from './client.js'

/**
 * A record as the producer sends it (what `deadLetterMessage` returns).
 *
 * @example
 * const m: ProducerMessage = { key: '/a', value: JSON.stringify({ views: 3 }), headers: { source: 'views' } }
 */
export type ProducerMessage = {
  /** Record key (the partitioner's input); null for none. */
  key: Buffer | string | null
  /** Record value; null is a tombstone. */
  value: Buffer | string | null
  headers?: Record<string, Buffer | string>
  /** Record timestamp, epoch ms (default: now). */
  timestamp?: number
  /** Explicit partition (default: the partitioner on the key, murmur2 as the Java client's). */
  partition?: number
}

/**
 * Hands `messages` to the producer's local queue, waiting for acknowledgements to make room while it is full. Any
 * other refusal of a message rejects, with `refused(e)` if given (else `e` itself); the messages before it are
 * queued. What both senders do, the idempotent producer and the transaction.
 *
 * @example
 * await produceAll(producer, 'views', [{ key: '/a', value: '3' }])
 */
export async function produceAll(
  producer: rdkafka.Producer,
  topic: string,
  messages: readonly ProducerMessage[],
  refused: (e: unknown) => unknown = (e) => e,
): Promise<void> {
  for (const m of messages) {
    const value = m.value === null || Buffer.isBuffer(m.value) ? m.value : Buffer.from(m.value)
    const headers = m.headers ? Object.entries(m.headers).map(([k, v]) => ({ [k]: v })) : undefined
    for (;;) {
      try {
        producer.produce(topic, m.partition ?? -1, value, m.key, m.timestamp ?? Date.now(), undefined, headers)
        break
      } catch (e) {
        if ((e as { code?: number }).code !== -184) throw refused(e)
        // the local queue is full: wait for acknowledgements to make room
        await new Promise((r) => setTimeout(r, 5))
      }
    }
  }
}

/**
 * Producer settings for writing to topics whose `max.message.bytes` are `limits`: librdkafka's own
 * `message.max.bytes` (1,000,000 by default, below the brokers' 1,048,588) must not refuse what the topics accept,
 * and a batch of many records must not exceed the smallest topic limit (the brokers check whole batches). The
 * callers check each record against its topic's limit before sending it.
 *
 * @example
 * new KafkaProducer({ rdkafka: producerSizeSettings([3_145_728]) })
 */
export function producerSizeSettings(limits: readonly number[]): Record<string, number> {
  const largest = Math.max(1_000_000, ...limits)
  const smallest = Math.min(...limits, 1_000_000)
  return { 'message.max.bytes': largest + 65_536, 'batch.size': Math.max(1, smallest - 1024) }
}

/**
 * Options shared by the Kafka sinks.
 *
 * @example
 * kafkaSink({ topic: 'out', brokers: ['127.0.0.1:9092', '127.0.0.1:9094'], clientId: 'views-out', rdkafka: { 'linger.ms': 20 } })
 */
export type KafkaProducerOptions = {
  /** Bootstrap servers (default: the job's `KAFKA_BROKERS` on the runner, else `KAFKA_BROKERS` / `127.0.0.1:9092`). */
  readonly brokers?: Brokers
  /** The producer's `client.id`. */
  readonly clientId?: string
  /** Extra librdkafka producer properties; they win over the defaults. */
  readonly rdkafka?: Readonly<Record<string, string | number | boolean>>
  /** Where the client's warnings go (default: the job's logger on the runner, else pino). */
  readonly logger?: ConnectorLogger
}

/**
 * An idempotent producer (`enable.idempotence`, `acks=all`, lz4) on the librdkafka-style `Producer` of
 * @confluentinc/kafka-javascript, connected on first use. `send` resolves once every message it queued is
 * acknowledged by the in-sync replicas (a flush of the producer: each producer has one caller that sends one
 * batch at a time, a sink writer or the checkpointer) and rejects on a permanent delivery error (a record too large, an authorisation error: librdkafka
 * reports only failures here, `delivery.report.only.error`). While the brokers are unreachable it waits,
 * however long (`message.timeout.ms` 0), so a Kafka outage holds the job instead of failing it. Memory is
 * bounded by librdkafka's queue (32 MiB); a full queue makes `send` wait for room.
 *
 * @example
 * const p = new KafkaProducer({ clientId: 'dlq' })
 * await p.send('page-views', [{ key: '/a', value: '{"page":"/a","at":1735732800000}' }])
 */
export class KafkaProducer {
  readonly #options: KafkaProducerOptions
  readonly #logger: ConnectorLogger
  #producer: rdkafka.Producer | undefined
  /** Delivery failures reported so far, and the last one (a send fails if one is reported while it waits). */
  #failures = 0
  #lastFailure: Error | undefined
  #connecting: Promise<rdkafka.Producer> | undefined
  readonly #warnOnce: (message: string) => void

  constructor(options: KafkaProducerOptions = {}) {
    this.#options = options
    this.#logger = options.logger ?? connectorLogger()
    this.#warnOnce = warnOncePer30s(this.#logger)
  }

  #connect(): Promise<rdkafka.Producer> {
    this.#connecting ??= (async () => {
      const o = this.#options
      const producer = new rdkafka.Producer({
        'bootstrap.servers': bootstrapServers(o.brokers),
        'client.id': o.clientId ?? 'streams-dsl-producer',
        'enable.idempotence': true,
        acks: -1,
        'linger.ms': 5,
        'compression.type': 'lz4',
        partitioner: 'murmur2_random',
        // an outage of any length is waited out (the writes stay pending, the input pauses), never a failed write
        'message.timeout.ms': 0,
        'queue.buffering.max.kbytes': 32 * 1024,
        'delivery.report.only.error': true,
        dr_cb: true,
        event_cb: true,
        log_level: 4,
        ...o.rdkafka,
      } as rdkafka.ProducerGlobalConfig)
      // No opaque per message: the binding keeps a persistent handle for each until its report, which never comes
      // for a success here (only failures are reported) — a leak that made GC slower and slower.
      producer.on('delivery-report', (err, report) => {
        if (!err) return
        this.#failures++
        this.#lastFailure = new Error(`delivery to ${report?.topic ?? 'Kafka'} failed: ${err.message}`)
      })
      producer.on('event.log', (l: { severity: number; fac: string; message: string }) => {
        if (l.severity <= 4) this.#warnOnce(`kafka producer: ${l.fac}: ${l.message}`)
      })
      producer.on('event.error', (e) => this.#warnOnce(`kafka producer: ${e.message}`))
      await new Promise<void>((resolve, reject) =>
        producer.connect({ timeout: 10_000 }, (err) => (err ? reject(err) : resolve())),
      )
      producer.setPollInBackground(true)
      this.#producer = producer
      return producer
    })()
    return this.#connecting
  }

  /** Sends and waits until every message is acknowledged; rejects on a permanent delivery failure. */
  async send(topic: string, messages: readonly ProducerMessage[]): Promise<void> {
    if (messages.length === 0) return
    const producer = await this.#connect()
    const failures = this.#failures
    await produceAll(producer, topic, messages)
    await this.#flushed(producer)
    // one send at a time per producer (a sink writer's): a failure reported meanwhile is this send's
    if (this.#failures !== failures) throw this.#lastFailure as Error
  }

  /** Waits until everything sent so far is acknowledged (or failed). */
  async flush(): Promise<void> {
    if (this.#producer) await this.#flushed(this.#producer)
  }

  async #flushed(producer: rdkafka.Producer): Promise<void> {
    // flush in slices: during an outage it times out, and is asked again, without holding a thread for long
    for (;;) {
      const timedOut = await new Promise<boolean>((resolve, reject) =>
        producer.flush(1000, (err) => {
          if (!err) resolve(false)
          else if ((err as { code?: number }).code === -185)
            resolve(true) // ERR__TIMED_OUT
          else reject(err)
        }),
      )
      if (!timedOut) break
    }
    // failure reports are dispatched to JS as events: let those of this flush arrive first
    await new Promise((r) => setImmediate(r))
  }

  /** Waits for what was sent, then disconnects; a later `send` connects again. */
  async close(): Promise<void> {
    const p = this.#producer
    this.#producer = undefined
    this.#connecting = undefined
    if (!p) return
    await new Promise<void>((resolve) => p.flush(30_000, () => resolve()))
    await new Promise<void>((resolve) => p.disconnect(10_000, () => resolve()))
  }
}
