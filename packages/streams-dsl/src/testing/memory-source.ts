import type {
  RawRecord,
  SourceConnector,
  SourceHandlers,
  TopicPartition,
  TopicPartitionOffset,
} from '../connectors/types.js'

/**
 * An in-memory {@link SourceConnector}: topics with a fixed partition count; `push` appends records and
 * delivers them (one batch per call) once started, in order, awaiting each batch. Commits are recorded.
 *
 * @example
 * const src = new MemorySource({ clicks: 2 }); await src.start(handlers); await src.push('clicks', 0, [{ value: Buffer.from('{}') }])
 */
export class MemorySource implements SourceConnector {
  readonly topics: readonly string[]
  /** Last committed offset per `topic:partition`. */
  readonly committed = new Map<string, number>()
  private readonly logs = new Map<string, RawRecord[]>()
  private readonly paused = new Set<string>()
  private handlers: SourceHandlers | undefined
  private delivery: Promise<void> = Promise.resolve()

  constructor(readonly partitionCounts: Readonly<Record<string, number>>) {
    this.topics = Object.keys(partitionCounts)
    for (const [topic, n] of Object.entries(partitionCounts))
      for (let p = 0; p < n; p++) this.logs.set(`${topic}:${p}`, [])
  }

  /** Every partition of every topic. */
  partitions(): TopicPartition[] {
    return [...this.logs.keys()].map((id) => {
      const [topic, partition] = id.split(':') as [string, string]
      return { topic, partition: Number(partition) }
    })
  }

  async start(handlers: SourceHandlers): Promise<void> {
    this.handlers = handlers
    await handlers.onAssigned(this.partitions())
  }

  /** Appends records (offsets assigned in order) and, when started and not paused, delivers them as one batch. */
  push(
    topic: string,
    partition: number,
    records: readonly Partial<Omit<RawRecord, 'topic' | 'partition' | 'offset'>>[],
  ): Promise<void> {
    const log = this.logs.get(`${topic}:${partition}`)
    if (!log) throw new Error(`memory source has no partition ${topic}-${partition}`)
    const batch = records.map((r, i) => ({
      topic,
      partition,
      offset: log.length + i,
      key: r.key ?? null,
      value: r.value ?? null,
      timestamp: r.timestamp ?? Date.now(),
      ...(r.headers ? { headers: r.headers } : {}),
    }))
    log.push(...batch)
    const handlers = this.handlers
    if (!handlers || this.paused.has(`${topic}:${partition}`)) return Promise.resolve()
    this.delivery = this.delivery.then(() => handlers.onBatch({ topic, partition, records: batch }))
    return this.delivery
  }

  async commit(offsets: readonly TopicPartitionOffset[]): Promise<void> {
    for (const o of offsets) this.committed.set(`${o.topic}:${o.partition}`, o.offset)
  }

  pause(partitions: readonly TopicPartition[]): void {
    for (const p of partitions) this.paused.add(`${p.topic}:${p.partition}`)
  }

  resume(partitions: readonly TopicPartition[]): void {
    for (const p of partitions) this.paused.delete(`${p.topic}:${p.partition}`)
  }

  async stop(): Promise<void> {
    await this.delivery
    if (this.handlers) await this.handlers.onRevoked(this.partitions())
    this.handlers = undefined
  }
}
