import type { DeadLetter, Sink } from '../types.js'
import { KafkaProducer, type KafkaProducerOptions, type ProducerMessage } from './kafka-sink.js'

/** The DLQ topic of an application: `<application-id>-dlq` (CONTRACTS.md §1). */
export const deadLetterTopic = (applicationId: string) => `${applicationId}-dlq`

/**
 * The DLQ message for a dead letter: the original key and value bytes and timestamp, the original headers,
 * plus `error.reason`, `error.message`, `source.topic`, `source.partition`, `source.offset`.
 *
 * @example
 * deadLetterMessage({ reason: 'invalid_json', message: 'Unexpected token', record })
 */
export function deadLetterMessage(dl: DeadLetter): ProducerMessage {
  const r = dl.record
  const headers: Record<string, Buffer | string> = {}
  if (r.headers) for (const [k, v] of Object.entries(r.headers)) if (v !== undefined) headers[k] = v
  headers['error.reason'] = dl.reason
  headers['error.message'] = dl.message
  headers['source.topic'] = r.topic
  headers['source.partition'] = String(r.partition)
  headers['source.offset'] = String(r.offset)
  const m: ProducerMessage = { key: r.key, value: r.value, headers }
  if (r.timestamp > 0) m.timestamp = r.timestamp
  return m
}

/** Options of {@link kafkaDeadLetterSink}. */
export type DeadLetterSinkOptions = KafkaProducerOptions & {
  readonly applicationId: string
  /** Default `<applicationId>-dlq`. */
  readonly topic?: string
  /** Called after each acknowledged write, e.g. to count by reason. */
  readonly onWritten?: (letters: readonly DeadLetter[]) => void
}

/**
 * The dead-letter sink: bad and late records to `<application-id>-dlq`, acknowledged before `write` resolves,
 * so their offsets are committed only once they are safely in the DLQ.
 *
 * @example
 * const dlq = kafkaDeadLetterSink({ applicationId: 'ctr' })
 */
export function kafkaDeadLetterSink(options: DeadLetterSinkOptions): Sink<DeadLetter> {
  const topic = options.topic ?? deadLetterTopic(options.applicationId)
  const producer = new KafkaProducer({ clientId: `${options.applicationId}-dlq`, ...options })
  return {
    name: `kafka-dlq(${topic})`,
    async write(letters) {
      await producer.send(topic, letters.map(deadLetterMessage))
      options.onWritten?.(letters)
    },
    flush: () => producer.flush(),
    close: () => producer.close(),
  }
}
