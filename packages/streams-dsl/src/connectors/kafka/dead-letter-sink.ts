import { DEFAULT_MAX_MESSAGE_BYTES, maxValueBytes } from '../../runtime/repartition/codec.js'
import type { DeadLetter, Sink, SinkContext } from '../types.js'
import { producerSizeSettings } from './kafka-producer.js'
import { KafkaProducer, type KafkaProducerOptions, type ProducerMessage } from './kafka-sink.js'
import type { MessageSender } from './transactions.js'

/**
 * The DLQ topic of an application: `<application-id>-dlq` (docs/contract.md §1.1).
 *
 * @example
 * deadLetterTopic('views') // 'views-dlq'
 */
export const deadLetterTopic = (applicationId: string): string => `${applicationId}-dlq`

/**
 * The DLQ message for a dead letter: the original key and value bytes and timestamp, the original headers,
 * plus `error.reason`, `error.message`, `source.topic`, `source.partition`, `source.offset`.
 *
 * @example
 * deadLetterMessage({ reason: 'invalid_json', message: 'Unexpected token', record })
 */
export function deadLetterMessage(dl: DeadLetter, maxMessageBytes?: number): ProducerMessage {
  const r = dl.record
  const original: Record<string, Buffer | string> = {}
  if (r.headers) for (const [k, v] of Object.entries(r.headers)) if (v !== undefined) original[k] = v
  const errorHeaders = (message: string): Record<string, string> => ({
    'error.reason': dl.reason,
    'error.message': message,
    'source.topic': r.topic,
    'source.partition': String(r.partition),
    'source.offset': String(r.offset),
  })
  const m: ProducerMessage = { key: r.key, value: r.value, headers: { ...original, ...errorHeaders(dl.message) } }
  if (r.timestamp > 0) m.timestamp = r.timestamp
  if (maxMessageBytes === undefined) return m
  const max = maxValueBytes(maxMessageBytes)
  const valueBytes = r.value?.length ?? 0
  if (messageBytes(m.key, m.value, m.headers) <= max) return m
  // Too large for the DLQ topic: keep the key, the headers and as much of the value as fits, and say so. The
  // original stays in its topic (source.topic/partition/offset) until retention removes it.
  let key = r.key
  let headers: Record<string, Buffer | string> = { ...original }
  const note = (kept: number, dropped: boolean) =>
    `${dl.message} (value truncated to its first ${kept} of ${valueBytes} bytes${dropped ? ', key and original headers dropped' : ''}: the DLQ topic accepts records of at most ${maxMessageBytes} bytes)`
  const framing = (kept: number, dropped: boolean) => ({
    ...errorHeaders(note(kept, dropped)),
    'error.value.bytes': String(valueBytes),
    'error.value.truncated': 'true',
  })
  let room = max - messageBytes(key, null, { ...headers, ...framing(valueBytes, false) })
  let dropped = false
  if (room < 0) {
    // the key or the original headers alone are too large: keep only what says where the record is
    key = null
    headers = {}
    dropped = true
    room = max - messageBytes(null, null, framing(valueBytes, true))
  }
  const kept = Math.max(0, Math.min(valueBytes, room))
  return {
    key,
    value: r.value ? r.value.subarray(0, kept) : null,
    headers: { ...headers, ...framing(kept, dropped) },
    ...(m.timestamp !== undefined && { timestamp: m.timestamp }),
  }
}

/** Bytes of a record's key, value and headers (with their framing), as a topic's limit counts them. */
function messageBytes(
  key: Buffer | string | null,
  value: Buffer | string | null,
  headers: Record<string, Buffer | string> | undefined,
): number {
  const len = (v: Buffer | string | null) => (v === null ? 0 : typeof v === 'string' ? Buffer.byteLength(v) : v.length)
  let n = len(key) + len(value)
  if (headers) for (const [k, v] of Object.entries(headers)) n += 10 + Buffer.byteLength(k) + len(v)
  return n
}

/**
 * Options of {@link kafkaDeadLetterSink}.
 *
 * @example
 * kafkaDeadLetterSink({ applicationId: 'views', topic: 'views-rejected', onWritten: (ls) => (rejected += ls.length) })
 */
export type DeadLetterSinkOptions = KafkaProducerOptions & {
  /** Names the default topic and the producer's client id. */
  readonly applicationId: string
  /** Default `<applicationId>-dlq`. */
  readonly topic?: string
  /** Called after each acknowledged write, e.g. to count by reason. */
  readonly onWritten?: (letters: readonly DeadLetter[]) => void
  /**
   * The DLQ topic's `max.message.bytes` (default: the broker default, 1048588): a dead letter that does not fit
   * is written with its value truncated (headers `error.value.bytes`, `error.value.truncated`).
   */
  readonly maxMessageBytes?: number
  /** Send through this instead of an own idempotent producer (the runner's Kafka transaction). */
  readonly producer?: MessageSender
}

/**
 * The dead-letter sink: bad and late records to `<application-id>-dlq`, acknowledged before `write` resolves,
 * so their offsets are committed only once they are safely in the DLQ. The runner writes what a topology does not
 * route itself to one of these; route them yourself to send them elsewhere. Without `brokers`, on the runner it
 * writes to the job's Kafka.
 *
 * @example
 * app.deadLetters().to(kafkaDeadLetterSink({ applicationId: 'views', topic: 'views-rejected' }))
 */
export function kafkaDeadLetterSink(options: DeadLetterSinkOptions): Sink<DeadLetter> {
  const topic = options.topic ?? deadLetterTopic(options.applicationId)
  const limit = options.maxMessageBytes ?? DEFAULT_MAX_MESSAGE_BYTES
  let context: SinkContext | undefined
  let producer: KafkaProducer | undefined
  const connected = (): MessageSender => {
    const through = options.producer ?? context?.transaction
    if (through) return through
    producer ??= new KafkaProducer({
      clientId: `${options.applicationId}-dlq`,
      ...options,
      ...(options.brokers === undefined && context && { brokers: context.kafkaBrokers }),
      ...(options.logger === undefined && context && { logger: context.logger }),
      rdkafka: { ...producerSizeSettings([limit]), ...options.rdkafka },
    })
    return producer
  }
  return {
    name: `kafka-dlq(${topic})`,
    open(ctx) {
      context = ctx
    },
    async write(letters) {
      await connected().send(
        topic,
        letters.map((l) => deadLetterMessage(l, limit)),
      )
      options.onWritten?.(letters)
    },
    flush: async () => {
      await (options.producer ?? context?.transaction ?? producer)?.flush()
    },
    async close() {
      const p = producer
      producer = undefined // a later open() and write (a restarted runner) connects again
      await p?.close()
    },
  }
}
