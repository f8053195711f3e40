import type { ReadEvidenceStatus } from '../connectors/read-evidence.js'
import type {
  PartitionPosition,
  RawRecord,
  SourceConnector,
  SourceHandlers,
  TopicPartition,
  TopicPartitionOffset,
} from '../connectors/types.js'

/**
 * An in-memory {@link SourceConnector}: topics with a fixed partition count; `push` appends records and
 * delivers what is not delivered yet as one batch (once started, unless paused or cut off by an outage), in
 * order, awaiting each batch. Commits are recorded. Its idleness evidence is exact: a partition is caught up
 * when it is readable (not paused, no outage) and everything in it was processed (its batches' `onBatches`
 * resolved).
 *
 * @example
 * const src = new MemorySource({ clicks: 2 }); await src.start(handlers); await src.push('clicks', 0, [{ value: Buffer.from('{}') }])
 */
export class MemorySource implements SourceConnector {
  readonly #topics = new Set<string>()
  /** Last committed offset per `topic:partition`. */
  readonly committed = new Map<string, number>()
  private readonly logs = new Map<string, RawRecord[]>()
  private readonly paused = new Set<string>()
  /** Partitions that cannot be read (a simulated broker outage or failing fetches). */
  private readonly unreachable = new Set<string>()
  /** Next offset to deliver per `topic:partition`. */
  private readonly delivered = new Map<string, number>()
  /**
   * Next offset not yet processed per `topic:partition` (its batch's `onBatches` resolved): the position of the
   * idleness evidence, as in `KafkaSource`. Records handed out but still waiting in the runner's queue are unread:
   * a tick queued before them must not find their partition caught up, and let it go idle, ahead of them.
   */
  private readonly processed = new Map<string, number>()
  private handlers: SourceHandlers | undefined
  private delivery: Promise<void> = Promise.resolve()

  constructor(
    partitionCounts: Readonly<Record<string, number>>,
    /** The wall clock of its evidence (default `Date.now`). */
    private readonly clock: { now(): number } = Date,
  ) {
    for (const [topic, n] of Object.entries(partitionCounts)) {
      this.#topics.add(topic)
      for (let p = 0; p < n; p++) this.logs.set(`${topic}:${p}`, [])
    }
  }

  /** The topics it holds. */
  get topics(): readonly string[] {
    return [...this.#topics]
  }

  /**
   * Adds partitions (and their topics) that are new; once started, they are assigned (`onAssigned`, awaited) and
   * read from where it says, else from their committed offset, else from the start: a partition added to a topic,
   * as a consumer group assigns it.
   */
  async addPartitions(partitions: readonly TopicPartition[]): Promise<void> {
    const fresh = partitions.filter((tp) => !this.logs.has(`${tp.topic}:${tp.partition}`))
    if (fresh.length === 0) return
    for (const tp of fresh) {
      this.#topics.add(tp.topic)
      this.logs.set(`${tp.topic}:${tp.partition}`, [])
    }
    const handlers = this.handlers
    if (!handlers) return
    // assigned in the delivery order: after every batch handed out before
    const assigned = this.delivery.then(() => handlers.onAssigned(fresh))
    this.delivery = assigned.then(() => {})
    this.#positionAt(fresh, (await assigned) ?? [])
  }

  /** Where each partition is read from: `starts`, else its committed offset, else 0. */
  #positionAt(partitions: readonly TopicPartition[], starts: readonly TopicPartitionOffset[]): void {
    const at = new Map(starts.map((o) => [`${o.topic}:${o.partition}`, o.offset]))
    for (const tp of partitions) {
      const id = `${tp.topic}:${tp.partition}`
      const from = at.get(id) ?? this.committed.get(id) ?? 0
      this.delivered.set(id, from)
      this.processed.set(id, from)
    }
  }

  /** True while records are waiting to be handed out or processed (readable ones: not paused, no outage). */
  get busy(): boolean {
    for (const [id, log] of this.logs) {
      if (this.paused.has(id) || this.unreachable.has(id)) continue
      if ((this.processed.get(id) ?? 0) < log.length) return true
    }
    return false
  }

  /** Resolves once every batch handed out so far was processed (its `onBatches` resolved). */
  async settled(): Promise<void> {
    let last: Promise<void> | undefined
    while (last !== this.delivery) {
      last = this.delivery
      await last
    }
  }

  /**
   * A crash of the reader: the handlers are dropped without a revocation (nothing is committed); started again,
   * it reads from where `onAssigned` says, else from the committed offsets.
   */
  detach(): void {
    this.handlers = undefined
  }

  /** Every partition of every topic. */
  all(): TopicPartition[] {
    return [...this.logs.keys()].map((id) => {
      const [topic, partition] = id.split(':') as [string, string]
      return { topic, partition: Number(partition) }
    })
  }

  /** Every partition, once started: what was delivered, committed and pushed (its log end). */
  partitions(): PartitionPosition[] {
    if (!this.handlers) return []
    const now = this.clock.now()
    return this.all().map((tp) => {
      const id = `${tp.topic}:${tp.partition}`
      const evidence = this.readEvidence(tp, now) as ReadEvidenceStatus
      const position = this.processed.get(id) ?? 0
      return {
        ...tp,
        position,
        committed: this.committed.get(id) ?? null,
        highWatermark: evidence.logEnd,
        lag: evidence.logEnd === null ? null : evidence.logEnd - position,
        evidence,
      }
    })
  }

  /**
   * Assigns every partition, then delivers what it holds: from where `onAssigned` says (a restored checkpoint's
   * offsets), else from the last committed offset, else from the start. Started again after `stop`, it goes on
   * like a restarted consumer of the same group.
   */
  async start(handlers: SourceHandlers): Promise<void> {
    this.handlers = handlers
    this.#positionAt(this.all(), (await handlers.onAssigned(this.all())) ?? [])
    for (const tp of this.all()) void this.deliver(tp.topic, tp.partition)
    await this.delivery
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
      timestamp: r.timestamp ?? this.clock.now(),
      ...(r.headers ? { headers: r.headers } : {}),
    }))
    log.push(...batch)
    return this.deliver(topic, partition)
  }

  /** Hands every record not yet delivered to the handlers as one batch, unless paused or not started. */
  private deliver(topic: string, partition: number): Promise<void> {
    const id = `${topic}:${partition}`
    const handlers = this.handlers
    const log = this.logs.get(id) ?? []
    const from = this.delivered.get(id) ?? 0
    if (!handlers || this.paused.has(id) || this.unreachable.has(id) || from >= log.length) return this.delivery
    const to = log.length
    this.delivered.set(id, to)
    const records = log.slice(from)
    this.delivery = this.delivery
      .then(() => handlers.onBatches([{ topic, partition, records }]))
      .then(() => void this.processed.set(id, Math.max(to, this.processed.get(id) ?? 0)))
    return this.delivery
  }

  /** Cuts partitions off (default: all), as a broker outage would: nothing is delivered, nothing is caught up. */
  outage(partitions: readonly TopicPartition[] = this.all()): void {
    for (const p of partitions) this.unreachable.add(`${p.topic}:${p.partition}`)
  }

  /** Ends an outage; what was pushed meanwhile follows as one batch per partition. */
  recover(partitions: readonly TopicPartition[] = this.all()): Promise<void> {
    for (const p of partitions) {
      this.unreachable.delete(`${p.topic}:${p.partition}`)
      void this.deliver(p.topic, p.partition)
    }
    return this.delivery
  }

  readEvidence(tp: TopicPartition, now: number): ReadEvidenceStatus | undefined {
    const id = `${tp.topic}:${tp.partition}`
    const log = this.logs.get(id)
    if (!log || !this.handlers) return undefined
    const position = this.processed.get(id) ?? 0
    const paused = this.paused.has(id)
    const cut = this.unreachable.has(id)
    const unread = log.length - position
    const caughtUp = !paused && !cut && unread === 0
    const reason = paused
      ? 'paused'
      : cut
        ? 'unreachable (outage)'
        : unread > 0
          ? `${unread} record(s) unread`
          : 'everything processed'
    return {
      position,
      logEnd: cut ? null : log.length,
      logEndCheckedAt: cut ? null : now,
      paused,
      caughtUp,
      reason,
    }
  }

  async commit(offsets: readonly TopicPartitionOffset[]): Promise<void> {
    for (const o of offsets) this.committed.set(`${o.topic}:${o.partition}`, o.offset)
  }

  pause(partitions: readonly TopicPartition[]): void {
    for (const p of partitions) this.paused.add(`${p.topic}:${p.partition}`)
  }

  /** Resumes delivery; records pushed while paused follow as one batch. */
  resume(partitions: readonly TopicPartition[]): void {
    for (const p of partitions) {
      this.paused.delete(`${p.topic}:${p.partition}`)
      void this.deliver(p.topic, p.partition)
    }
  }

  async stop(): Promise<void> {
    await this.delivery
    if (this.handlers) await this.handlers.onRevoked(this.all(), { lost: false })
    this.handlers = undefined
  }
}
