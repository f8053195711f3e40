import type { RawRecord, RepartitionRecord, Sink } from '../connectors/types.js'
import { type BundleEntry, encodeBundles, readBundle } from '../runtime/repartition/codec.js'

/**
 * An in-memory repartition topic: what a staged engine writes is appended, as the bundles a Kafka topic would
 * hold, to its partition's log with the next offset; tests read the logs back into the engine.
 *
 * @example
 * const topic = new MemoryRepartitionTopic()
 * const engine = createStagedEngine(t, { topics, origins, sink: topic })
 * await engine.process({ topic: 'ctr-by-product-repartition', partition: 0, records: topic.log('ctr-by-product-repartition', 0) })
 */
export class MemoryRepartitionTopic implements Sink<RepartitionRecord> {
  readonly name = 'memory-repartition'
  /** Bundles by `topic:partition`, in offset order. */
  readonly logs = new Map<string, RawRecord[]>()

  async write(records: readonly RepartitionRecord[]): Promise<void> {
    for (const b of encodeBundles(records)) {
      const log = this.log(b.topic, b.partition)
      log.push({ topic: b.topic, partition: b.partition, offset: log.length, key: null, value: b.value, timestamp: 0 })
    }
  }

  /** A partition's bundles (the Kafka records), created empty when new. */
  log(topic: string, partition: number): RawRecord[] {
    const id = `${topic}:${partition}`
    let log = this.logs.get(id)
    if (!log) {
      log = []
      this.logs.set(id, log)
    }
    return log
  }

  /** A partition's entries (routed records and markers), decoded, in order. */
  entries(topic: string, partition: number): BundleEntry[] {
    return this.log(topic, partition).flatMap((r) => readBundle(r))
  }

  /** A partition's routed records (the originals), without the markers. */
  records(topic: string, partition: number): RawRecord[] {
    return this.entries(topic, partition).flatMap((e) => ('record' in e ? [e.record] : []))
  }
}
