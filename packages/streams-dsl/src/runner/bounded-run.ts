import { describePartitions } from '../connectors/kafka/admin.js'
import type { Brokers } from '../connectors/kafka/client.js'
import type { InputBatch, PartitionPosition } from '../connectors/types.js'

const key = (topic: string, partition: number) => `${topic}\u0000${partition}`

/**
 * A bounded run (`untilEnd`, `pnpm job --until-end`): the end offsets of every source partition are read at
 * start; records at or past them are not processed; once every source partition is read up to its end (and,
 * with repartitioning, every repartition partition up to the end of what was routed), the run is over. For
 * backfills and reprocessing, and the way to time the job against a bounded source (Flink's).
 *
 * @example
 * const bounded = await BoundedRun.start({ sources: ['clicks'], repartitionTopics: [], brokers })
 * batches = bounded.clip(batches)
 * if (await bounded.reached(source.partitions(), () => engine.flush())) await finish()
 */
export class BoundedRun {
  /** End offset per source partition, as seen at start. */
  readonly #ends = new Map<string, number>()
  #routedEnds: Map<string, number> | undefined
  #sourcesDone = false

  private constructor(
    readonly sources: readonly string[],
    readonly repartitionTopics: readonly string[],
    private readonly brokers: Brokers,
  ) {}

  /** Reads the end offsets of every partition of the source topics. */
  static async start(o: {
    sources: readonly string[]
    repartitionTopics: readonly string[]
    brokers: Brokers
  }): Promise<BoundedRun> {
    const run = new BoundedRun(o.sources, o.repartitionTopics, o.brokers)
    for (const topic of o.sources)
      for (const p of await describePartitions(topic, o.brokers)) run.#ends.set(key(topic, p.partition), p.high)
    return run
  }

  /** Records to read in all: the sum over source partitions of end offset (the log start is not subtracted). */
  get endOffsets(): ReadonlyMap<string, number> {
    return this.#ends
  }

  /** The batches without the records at or past their partition's end offset. */
  clip(batches: readonly InputBatch[]): readonly InputBatch[] {
    let out: InputBatch[] | undefined
    for (let i = 0; i < batches.length; i++) {
      const b = batches[i] as InputBatch
      const end = this.#ends.get(key(b.topic, b.partition))
      const last = b.records[b.records.length - 1]
      if (end === undefined || last === undefined || last.offset < end) {
        out?.push(b)
        continue
      }
      out ??= batches.slice(0, i)
      const keep = b.records.filter((r) => r.offset < end)
      if (keep.length > 0) out.push({ ...b, records: keep })
    }
    return out ?? batches
  }

  /**
   * True once everything up to the end offsets is read: every source partition's position at or past its end
   * (all of them must be owned here); then, with repartitioning, `flush` (what was routed is durable), the
   * repartition topics' end offsets are read, and every repartition partition must be read up to them.
   */
  async reached(positions: readonly PartitionPosition[], flush: () => Promise<void>): Promise<boolean> {
    const at = new Map(positions.map((p) => [key(p.topic, p.partition), p.position]))
    const done = (ends: ReadonlyMap<string, number>) =>
      [...ends].every(([k, end]) => {
        const p = at.get(k)
        return p !== undefined && p !== null && p >= end
      })
    if (!this.#sourcesDone) {
      if (!done(this.#ends)) return false
      this.#sourcesDone = true
      if (this.repartitionTopics.length === 0) return true
      await flush()
      const ends = new Map<string, number>()
      for (const topic of this.repartitionTopics)
        for (const p of await describePartitions(topic, this.brokers)) ends.set(key(topic, p.partition), p.high)
      this.#routedEnds = ends
    }
    return this.#routedEnds === undefined || done(this.#routedEnds)
  }

  /** Source partitions not read up to their end yet (for the status line). */
  remaining(positions: readonly PartitionPosition[]): number {
    const at = new Map(positions.map((p) => [key(p.topic, p.partition), p.position]))
    let n = 0
    for (const [k, end] of this.#ends) n += Math.max(0, end - (at.get(k) ?? 0))
    return n
  }
}
