import type { RepartitionRecord, Sink } from '../types.js'
import { KafkaProducer, type KafkaProducerOptions } from './kafka-sink.js'

/** Options of {@link kafkaRepartitionSink}. */
export type RepartitionSinkOptions = KafkaProducerOptions & {
  /** Records sent but not yet acknowledged before `write` waits (default 50,000). */
  readonly maxPending?: number
}

/**
 * Writes routed records and watermark markers to repartition topics with the idempotent acks=all producer. As in
 * Kafka Streams, `write` does not wait for the acknowledgements (the upstream side goes on reading while they
 * come), only when more than `maxPending` records are unacknowledged; `flush` waits for all of them and must be
 * called before a checkpoint commits source offsets. A failed delivery makes the next `write` and `flush` reject.
 * The idempotent producer keeps each partition in send order, which markers rely on (a marker follows the data
 * it covers).
 *
 * @example
 * const engine = createStagedEngine(topology, { topics, origins, sink: kafkaRepartitionSink({ clientId: 'ctr' }) })
 */
export function kafkaRepartitionSink(
  options: RepartitionSinkOptions = {},
): Sink<RepartitionRecord> & { flush(): Promise<void>; close(): Promise<void> } {
  const producer = new KafkaProducer({ clientId: 'streams-dsl-repartition', ...options })
  const maxPending = options.maxPending ?? 50_000
  const pending: { done: Promise<void>; records: number }[] = []
  let unacked = 0
  let failure: Error | undefined
  const send = (records: readonly RepartitionRecord[]): Promise<void> => {
    const byTopic = new Map<string, RepartitionRecord[]>()
    for (const r of records) {
      const list = byTopic.get(r.topic)
      if (list) list.push(r)
      else byTopic.set(r.topic, [r])
    }
    return Promise.all(
      [...byTopic].map(([topic, rs]) =>
        producer.send(
          topic,
          rs.map((r) => ({
            key: r.key,
            value: r.value,
            partition: r.partition,
            headers: r.headers,
            timestamp: String(r.timestamp),
          })),
        ),
      ),
    ).then(() => {})
  }
  const settle = async (until: number) => {
    while (pending.length > 0 && unacked > until) {
      const first = pending.shift() as { done: Promise<void>; records: number }
      await first.done
    }
  }
  return {
    name: 'repartition',
    async write(records) {
      if (failure) throw failure
      if (records.length === 0) return
      const entry = { records: records.length, done: Promise.resolve() }
      entry.done = send(records).then(
        () => {
          unacked -= entry.records
        },
        (e: unknown) => {
          unacked -= entry.records
          failure ??= e instanceof Error ? e : new Error(String(e))
        },
      )
      pending.push(entry)
      unacked += records.length
      await settle(maxPending)
      if (failure) throw failure
    },
    async flush() {
      await settle(0)
      await Promise.all(pending.splice(0).map((p) => p.done))
      if (failure) throw failure
    },
    close: async () => {
      await Promise.all(pending.splice(0).map((p) => p.done))
      await producer.close()
    },
  }
}
