import rdkafka from '@confluentinc/kafka-javascript'
import { ReadEvidence, type ReadEvidenceStatus } from '../read-evidence.js'
import type {
  InputBatch,
  Membership,
  PartitionPosition,
  RawRecord,
  SourceConnector,
  SourceHandlers,
  TopicPartition,
  TopicPartitionOffset,
} from '../types.js'
import { type Brokers, bootstrapServers, type ConnectorLogger, connectorLogger, warnOncePer30s } from './client.js'
import type { KafkaTransactions } from './transactions.js'

/**
 * Options of {@link KafkaSource}.
 *
 * @example
 * new KafkaSource({ topics: ['views'], groupId: 'views-audit', brokers: '127.0.0.1:9092', pollRecords: 500 })
 */
export type KafkaSourceOptions = {
  /** The topics to read. */
  readonly topics: readonly string[]
  /** Consumer group: the application id. A new group reads from the earliest offsets. */
  readonly groupId: string
  /** Bootstrap servers (default `KAFKA_BROKERS`, else `127.0.0.1:9092`). */
  readonly brokers?: Brokers
  /** The consumer's `client.id`. */
  readonly clientId?: string
  /** Records taken from the client per poll (default 1000: larger polls measured slower on this client). */
  readonly pollRecords?: number
  /**
   * Payload bytes handed to the handlers and not yet processed (default 8 MiB). Past it the source stops polling
   * for more data (the client's prefetch then fills up and its fetchers stop); after `stallMs` of that, the
   * partitions are paused so the consumer can keep polling (group membership, `max.poll.interval.ms`).
   */
  readonly maxInFlightBytes?: number
  /** librdkafka's prefetch bound for all partitions together, KiB (`queued.max.messages.kbytes`, default 8192). */
  readonly prefetchKiB?: number
  /** `partition.assignment.strategy` (default `cooperative-sticky`: a rebalance only moves the partitions that move). */
  readonly assignmentStrategy?: 'cooperative-sticky' | 'roundrobin' | 'range'
  /**
   * How often the log end of quiet partitions is asked of the brokers (default 1000 ms): the evidence a silent
   * partition needs to go idle. An answer older than three intervals no longer counts.
   */
  readonly probeIntervalMs?: number
  /** A partition is quiet, and probed, once nothing was delivered from it for this long (default 1000 ms). */
  readonly probeQuietMs?: number
  /** Extra librdkafka consumer properties; they win over the defaults. */
  readonly rdkafka?: Readonly<Record<string, string | number | boolean>>
  /** Where the client's warnings go (default pino). */
  readonly logger?: ConnectorLogger
}

/** The librdkafka-style consumer calls this source makes that the package's typings lack. */
type Consumer = rdkafka.KafkaConsumer & {
  incrementalAssign(assignments: (TopicPartition | TopicPartitionOffset)[]): void
  incrementalUnassign(assignments: TopicPartition[]): void
  assignmentLost(): boolean
  rebalanceProtocol(): 'NONE' | 'EAGER' | 'COOPERATIVE'
  commitCb(offsets: TopicPartitionOffset[], cb: (err: Error | null) => void): void
  setDefaultIsTimeoutOnlyForFirstMessage(v: boolean): void
}

type ClientMessage = RawRecord & { size: number; headers?: unknown }

/** One owned partition. */
type Part = {
  readonly topic: string
  readonly partition: number
  /** Next offset expected from the client; records below it are dropped (a duplicate after a seek). */
  next: number | null
  committed: number | null
  /** Why the client does not fetch it: 1 = the runner paused it (backpressure), 2 = too much in flight here. */
  pausedBy: number
  revoking: boolean
  readonly evidence: ReadEvidence
  /** Records of the current poll (filled and cleared while dispatching). */
  out: RawRecord[] | undefined
}

/** How long a rejoin waits for the client to revoke what the instance owns before it revokes it itself. */
const REJOIN_REVOKE_WAIT_MS = 10_000
const ASSIGN = -175 // ERR__ASSIGN_PARTITIONS
const REVOKE = -174 // ERR__REVOKE_PARTITIONS
const BY_RUNNER = 1
const BY_SOURCE = 2
/** What a record costs in memory besides its payload (objects, buffers): counted against `maxInFlightBytes`. */
const RECORD_OVERHEAD = 200

/**
 * A {@link SourceConnector} on a Kafka consumer group, on the librdkafka-style `KafkaConsumer` of
 * @confluentinc/kafka-javascript (`consume(n)` in a loop: a tenth of the memory of its KafkaJS-style API and
 * faster, measured by `pnpm bench kafka-source`).
 *
 * - Polls: each poll's records go to `onBatches` at once, one batch per partition in offset order; the next poll
 *   does not wait for them to be processed, but what is in flight is bounded by bytes (`maxInFlightBytes`), and
 *   the client's prefetch by `prefetchKiB`, so memory does not grow with the backlog.
 * - Offsets are never auto-committed: only {@link KafkaSource.commit} commits, with positions the runner knows to
 *   be durable.
 * - Rebalances (cooperative by default) are awaited: on revoke, what is in flight is processed, then `onRevoked`
 *   (flush and commit, or nothing when the assignment was lost) before the partitions are given up; on assign,
 *   `onAssigned` (restore) before they are fetched, from the offsets it returns where it returns some.
 * - Pause/resume loses nothing: records the client handed out are in flight already, and it fetches a resumed
 *   partition from the offset after the last one it handed out.
 * - Idleness evidence (docs/contract.md §2.3): every partition keeps a `ReadEvidence`: deliveries, end-of-partition
 *   events, and the log end of quiet partitions asked of the brokers every `probeIntervalMs`.
 *   {@link KafkaSource.readEvidence} says whether a partition is known to hold nothing unread right now.
 *
 * @example
 * const source = new KafkaSource({ topics: ['impressions', 'clicks'], groupId: 'ctr' })
 * await source.start({ onBatches: (bs) => engine.processAll(bs), onAssigned: async () => undefined, onRevoked: async () => {} })
 */
export class KafkaSource implements SourceConnector {
  readonly topics: readonly string[]
  readonly #options: KafkaSourceOptions
  readonly #logger: ConnectorLogger
  /** Owned partitions by topic, then partition number. */
  readonly #parts = new Map<string, Part[]>()
  readonly #inflight = new Set<Promise<void>>()
  /** The newest poll handed out, resolved once it is processed (and every poll before it). */
  #processed: Promise<void> = Promise.resolve()
  /** End-of-partition events of the current poll. */
  readonly #eofs: TopicPartitionOffset[] = []
  /**
   * Commits waiting for the coordinator's answer, oldest first. The client's `commitCb` only queues a commit
   * (librdkafka's commitAsync); its answer comes through `offset_commit_cb`, in the order the commits were sent.
   */
  readonly #commitAnswers: { resolve(): void; reject(e: Error): void }[] = []
  #inflightBytes = 0
  #consumer: Consumer | undefined
  #handlers: SourceHandlers | undefined
  #rebalance: Promise<void> | undefined
  #loop: Promise<void> | undefined
  #probeTimer: ReturnType<typeof setInterval> | undefined
  #probing = false
  /** No more polls (stopping, or a handler failed). */
  #halted = false
  #stopCalled = false
  #handedOver = false
  #throttled = false
  /** A rejoin is under way: left the group, waiting for the revocation before subscribing again. */
  #rejoining = false
  readonly #maxInFlight: number
  readonly #probeInterval: number
  readonly #maxAge: number
  readonly #quiet: number
  /** Writes a warning at most once per 30 s (the client repeats failing connections). */
  readonly #warnOnce: (message: string) => void

  constructor(options: KafkaSourceOptions) {
    this.topics = [...options.topics]
    this.#options = options
    this.#logger = options.logger ?? connectorLogger()
    this.#warnOnce = warnOncePer30s(this.#logger)
    this.#maxInFlight = options.maxInFlightBytes ?? 8 * 1024 * 1024
    this.#probeInterval = options.probeIntervalMs ?? 1000
    this.#maxAge = 3 * this.#probeInterval
    this.#quiet = options.probeQuietMs ?? 1000
  }

  async start(handlers: SourceHandlers): Promise<void> {
    if (this.#consumer) throw new Error('KafkaSource already started')
    this.#handlers = handlers
    const o = this.#options
    const prefetchKiB = o.prefetchKiB ?? 8192
    const consumer = new rdkafka.KafkaConsumer(
      {
        'bootstrap.servers': bootstrapServers(o.brokers),
        'client.id': o.clientId ?? `${o.groupId}-source`,
        'group.id': o.groupId,
        'enable.auto.commit': false,
        'enable.auto.offset.store': false,
        'enable.partition.eof': true,
        'partition.assignment.strategy': o.assignmentStrategy ?? 'cooperative-sticky',
        'fetch.wait.max.ms': 100,
        // The prefetch bound. Not queued.min.messages: a per-partition minimum of 10k halved the raw consume rate
        // here (fetches stopped while the queue ran dry); the client's default (100k) is bounded by the bytes.
        'queued.max.messages.kbytes': prefetchKiB,
        // a fetch response is held whole until parsed, per broker: a quarter of the prefetch each
        'fetch.max.bytes': Math.max(1024 * 1024, (prefetchKiB * 1024) / 4),
        'max.partition.fetch.bytes': 512 * 1024,
        'socket.keepalive.enable': true,
        event_cb: true,
        log_level: 4,
        rebalance_cb: (err: { code: number }, assignment: TopicPartition[]) => this.#onRebalance(err.code, assignment),
        offset_commit_cb: true,
        ...o.rdkafka,
      } as rdkafka.ConsumerGlobalConfig,
      { 'auto.offset.reset': 'earliest' },
    ) as Consumer
    consumer.on('event.log', (l: { severity: number; fac: string; message: string }) => {
      if (l.severity <= 4) this.#warnOnce(`kafka: ${l.fac}: ${l.message}`)
    })
    consumer.on('event.error', (e) => this.#clientError(e))
    // emitted during the poll that reached the end, before its records are processed: applied after them
    consumer.on('partition.eof', (e: TopicPartitionOffset) => this.#eofs.push(e))
    consumer.on('offset.commit', (err, offsets) => {
      const waiter = this.#commitAnswers.shift()
      const failed = err ?? (offsets as { error?: rdkafka.LibrdKafkaError }[] | undefined)?.find((o) => o.error)?.error
      if (failed) waiter?.reject(Object.assign(new Error(failed.message), { code: failed.code }))
      else waiter?.resolve()
    })
    await new Promise<void>((resolve, reject) =>
      consumer.connect({ timeout: 10_000 }, (err) => (err ? reject(err) : resolve())),
    )
    this.#consumer = consumer
    consumer.setDefaultConsumeTimeout(100)
    consumer.setDefaultIsTimeoutOnlyForFirstMessage(true)
    consumer.subscribe([...this.topics])
    this.#probeTimer = setInterval(() => this.#probe(), this.#probeInterval)
    this.#loop = this.#poll()
  }

  /** The poll loop: one `consume` at a time, never during a rebalance callback. */
  async #poll(): Promise<void> {
    const consumer = this.#consumer as Consumer
    const n = this.#options.pollRecords ?? 1000
    while (!this.#halted) {
      if (this.#rebalance) {
        await this.#rebalance
        continue
      }
      if (this.#inflightBytes > this.#maxInFlight) {
        await this.#relief()
        if (this.#halted) break
      }
      const messages = await new Promise<ClientMessage[]>((resolve) =>
        consumer.consume(n, (err, ms) => {
          if (err) {
            this.#clientError(err)
            resolve([])
          } else resolve(ms as unknown as ClientMessage[])
        }),
      )
      // a rebalance callback that came during the poll runs first: it decides what is still ours
      if (this.#rebalance) await this.#rebalance
      if (messages.length > 0 && !this.#halted) this.#dispatch(messages)
      if (this.#eofs.length > 0) {
        // the end of a partition counts once the records before it are processed
        const eofs = this.#eofs.splice(0)
        void this.#processed.then(() => {
          for (const e of eofs) this.#part(e.topic, e.partition)?.evidence.reachedEnd(e.offset)
        })
      }
    }
  }

  /** Hands one poll's records to the handlers, grouped by partition, in offset order. */
  #dispatch(messages: ClientMessage[]): void {
    const touched: Part[] = []
    let bytes = 0
    // consecutive messages mostly come from one partition: look it up once per run of them
    let p: Part | undefined
    let lastTopic = ''
    let lastPartition = -1
    for (let i = 0; i < messages.length; i++) {
      const m = messages[i] as ClientMessage
      if (m.partition !== lastPartition || m.topic !== lastTopic) {
        p = this.#part(m.topic, m.partition)
        lastTopic = m.topic
        lastPartition = m.partition
      }
      if (p === undefined || p.revoking) continue
      if (p.next !== null && m.offset < p.next) continue
      p.next = m.offset + 1
      if (m.headers !== undefined) (m as { headers?: unknown }).headers = headerRecord(m.headers)
      bytes += m.size + RECORD_OVERHEAD
      if (p.out === undefined) {
        p.out = []
        touched.push(p)
      }
      p.out.push(m)
    }
    if (touched.length === 0) return
    const batches: InputBatch[] = new Array(touched.length)
    for (let i = 0; i < touched.length; i++) {
      const p = touched[i] as Part
      const records = p.out as RawRecord[]
      p.out = undefined
      batches[i] = { topic: p.topic, partition: p.partition, records }
    }
    this.#inflightBytes += bytes
    const done = (this.#handlers as SourceHandlers).onBatches(batches).then(
      () => {
        this.#inflightBytes -= bytes
        this.#inflight.delete(done)
        // Positions move once the records are processed, not when handed out: a tick queued before these
        // records, or a bounded run's end check, must not count them as read while they wait in the queue.
        const now = Date.now()
        for (const b of batches) {
          const p = this.#part(b.topic, b.partition)
          p?.evidence.delivered((b.records[b.records.length - 1] as RawRecord).offset, now)
        }
        if (this.#throttled && this.#inflightBytes <= this.#maxInFlight / 2) this.#throttle(false)
      },
      () => {
        // the handler failed (a sink error the runner reports and stops on): poll nothing more
        this.#halted = true
        this.#inflightBytes -= bytes
        this.#inflight.delete(done)
      },
    )
    this.#inflight.add(done)
    this.#processed = done
  }

  /**
   * Too much in flight: waits for some of it to be processed. Past `stallMs` the partitions are paused, so the
   * loop can poll again (the group needs polls) without taking more records.
   */
  async #relief(): Promise<void> {
    const stallMs = 500
    const timer = new Promise<'stalled' | 'done'>((r) => setTimeout(() => r('stalled'), stallMs))
    const outcome = await Promise.race([timer, ...[...this.#inflight].map((p) => p.then(() => 'done' as const))])
    if (outcome === 'stalled' && this.#inflightBytes > this.#maxInFlight && !this.#throttled) this.#throttle(true)
  }

  /** Pauses (or resumes) every owned partition because of what is in flight here. */
  #throttle(on: boolean): void {
    this.#throttled = on
    const now = Date.now()
    const changed: TopicPartition[] = []
    for (const p of this.#owned()) {
      const before = p.pausedBy
      p.pausedBy = on ? before | BY_SOURCE : before & ~BY_SOURCE
      if ((before === 0) !== (p.pausedBy === 0)) changed.push(p)
      if (p.pausedBy !== 0) p.evidence.pause()
      else if (before !== 0) p.evidence.resume(now)
    }
    this.#clientPause(on, changed)
  }

  #clientPause(pause: boolean, tps: readonly TopicPartition[]): void {
    const consumer = this.#consumer
    if (!consumer || this.#stopCalled || tps.length === 0) return
    const list = tps.map((p) => ({ topic: p.topic, partition: p.partition }))
    try {
      if (pause) consumer.pause(list)
      else consumer.resume(list)
    } catch (e) {
      this.#logger.warn({ err: (e as Error).message }, `${pause ? 'pause' : 'resume'} failed: ${(e as Error).message}`)
    }
  }

  // Called by the client during a poll; the loop polls again only once the returned work is done.
  #onRebalance(code: number, assignment: TopicPartition[]): void {
    const consumer = this.#consumer
    const tps = assignment.map((a) => ({ topic: a.topic, partition: a.partition }))
    const cooperative = consumer?.rebalanceProtocol() === 'COOPERATIVE'
    const lost = code === REVOKE && (consumer?.assignmentLost() ?? false)
    // told at once: the batches in flight must not write or checkpoint anything more for what is gone
    if (lost && !this.#handedOver) this.#handlers?.onLost?.(tps)
    const work = async () => {
      if (!consumer) return
      if (code === ASSIGN) {
        const now = Date.now()
        for (const tp of tps) this.#add(tp, now)
        this.#logger.info({ partitions: tps.map(label) }, `assigned ${tps.length} partition(s)`)
        let starts: Awaited<ReturnType<SourceHandlers['onAssigned']>>
        try {
          if (!this.#handedOver) starts = await this.#handlers?.onAssigned(tps)
        } catch (e) {
          this.#logger.error({ err: (e as Error).message }, `assignment handler failed: ${(e as Error).message}`)
        }
        const at = new Map((starts ?? []).map((s) => [`${s.topic}\u0000${s.partition}`, s.offset]))
        const list = tps.map((tp) => {
          const offset = at.get(`${tp.topic}\u0000${tp.partition}`)
          if (offset === undefined) return tp
          const p = this.#part(tp.topic, tp.partition)
          p?.evidence.startsAt(offset)
          if (p) p.next = offset
          return { ...tp, offset }
        })
        if (cooperative) consumer.incrementalAssign(list)
        else consumer.assign(list)
        // assigned while too much is in flight: they start paused too
        if (this.#throttled) {
          for (const tp of tps) this.#part(tp.topic, tp.partition)?.evidence.pause()
          this.#clientPause(true, tps)
        }
      } else if (code === REVOKE) {
        await this.#revoke(consumer, tps, lost, cooperative)
      } else {
        this.#logger.warn({ code }, `rebalance error ${code}: giving up the assignment`)
        for (const p of this.#owned()) this.#remove(p)
        consumer.unassign()
      }
    }
    this.#queueRebalance(work)
  }

  /** Runs `work` after the rebalance work queued before it; the poll loop waits for it. */
  #queueRebalance(work: () => Promise<void>): void {
    const previous = this.#rebalance ?? Promise.resolve()
    const run: Promise<void> = previous
      .then(work)
      .catch((e: unknown) => {
        this.#logger.error({ err: (e as Error).message }, `rebalance failed: ${(e as Error).message}`)
      })
      .finally(() => {
        if (this.#rebalance === run) this.#rebalance = undefined
      })
    this.#rebalance = run
  }
  /** Gives partitions up: what is in flight is processed, then `onRevoked`, then the client lets them go. */
  async #revoke(consumer: Consumer, tps: TopicPartition[], lost: boolean, cooperative: boolean): Promise<void> {
    this.#logger.info({ partitions: tps.map(label), lost }, `${lost ? 'lost' : 'revoking'} ${tps.length} partition(s)`)
    for (const tp of tps) {
      const p = this.#part(tp.topic, tp.partition)
      if (p) p.revoking = true
    }
    await Promise.allSettled([...this.#inflight])
    try {
      if (!this.#handedOver) await this.#handlers?.onRevoked(tps, { lost })
    } catch (e) {
      this.#logger.error({ err: (e as Error).message }, `revocation handler failed: ${(e as Error).message}`)
    }
    for (const tp of tps) this.#remove(tp)
    if (cooperative) consumer.incrementalUnassign(tps)
    else consumer.unassign()
  }

  async commit(offsets: readonly TopicPartitionOffset[]): Promise<void> {
    const consumer = this.#consumer
    if (!consumer) return
    const todo = offsets.filter((o) => {
      const p = this.#part(o.topic, o.partition)
      return p !== undefined && (p.committed === null || o.offset > p.committed)
    })
    if (todo.length === 0) return
    const list = todo.map((o) => ({ topic: o.topic, partition: o.partition, offset: o.offset }))
    // queued, not answered yet (as before); its answer takes its place in the order of answers
    const placeholder = { resolve: () => {}, reject: () => {} }
    this.#commitAnswers.push(placeholder)
    await new Promise<void>((resolve, reject) =>
      consumer.commitCb(list, (err) => {
        if (!err) return resolve()
        const i = this.#commitAnswers.indexOf(placeholder)
        if (i >= 0) this.#commitAnswers.splice(i, 1)
        reject(err)
      }),
    )
    for (const o of todo) {
      const p = this.#part(o.topic, o.partition)
      if (p) p.committed = o.offset
    }
  }

  /**
   * Commits `offsets` (every owned partition's, even unchanged) in the open transaction of `tx` with this
   * consumer's group metadata, so a member of a stale generation is refused, and commits the transaction.
   *
   * @internal the runner's, under exactly-once
   */
  async commitTransaction(tx: KafkaTransactions, offsets: readonly TopicPartitionOffset[]): Promise<void> {
    const consumer = this.#consumer
    if (!consumer) return
    const todo = offsets.filter((o) => this.#part(o.topic, o.partition) !== undefined)
    await tx.commit(todo, consumer)
    for (const o of todo) {
      const p = this.#part(o.topic, o.partition)
      if (p) p.committed = o.offset
    }
  }

  /**
   * Asks the group coordinator whether this instance is still a member of the group's current generation, by
   * committing again the offsets it committed last (or, with none, the group's committed offsets): a member
   * whose session expired or whose generation is stale is refused (`fenced`: a zombie). `unknown`: nothing to
   * commit yet, or no answer (the coordinator unreachable).
   *
   * @internal the runner's zombie check
   */
  async checkMembership(): Promise<Membership> {
    const consumer = this.#consumer
    if (!consumer || this.#stopCalled) return 'unknown'
    let list = this.#owned()
      .filter((p) => p.committed !== null)
      .map((p) => ({ topic: p.topic, partition: p.partition, offset: p.committed as number }))
    try {
      if (list.length === 0) {
        const owned = this.#owned().map((p) => ({ topic: p.topic, partition: p.partition }))
        if (owned.length === 0) return 'unknown'
        const committed = await new Promise<TopicPartitionOffset[]>((resolve, reject) =>
          consumer.committed(owned, 10_000, (err, tps) => (err ? reject(err) : resolve(tps as TopicPartitionOffset[]))),
        )
        list = committed.filter((o) => o.offset >= 0).map((o) => ({ ...o }))
        if (list.length === 0) return 'unknown'
      }
      await this.#committed(consumer, list, 5000)
      return 'member'
    } catch (e) {
      const code = (e as { code?: number }).code
      const message = (e as Error).message ?? ''
      // UNKNOWN_MEMBER_ID, FENCED_INSTANCE_ID
      if (code === 25 || code === 82 || /unknown member|fenced/i.test(message)) return 'fenced'
      // ILLEGAL_GENERATION, REBALANCE_IN_PROGRESS
      if (code === 22 || code === 27 || /generation id is not valid|rebalanc/i.test(message)) return 'rebalancing'
      this.#logger.warn({ err: (e as Error).message }, `group membership check failed: ${(e as Error).message}`)
      return 'unreachable'
    }
  }

  /** Commits and waits for the coordinator's answer (at most `timeoutMs`). */
  #committed(consumer: Consumer, list: TopicPartitionOffset[], timeoutMs: number): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => {
        const i = this.#commitAnswers.indexOf(waiter)
        // the answer may still come: leave a placeholder so later answers still match their commits
        if (i >= 0) this.#commitAnswers[i] = { resolve: () => {}, reject: () => {} }
        reject(new Error(`no answer to an offset commit within ${timeoutMs} ms`))
      }, timeoutMs)
      const waiter = {
        resolve: () => {
          clearTimeout(timer)
          resolve()
        },
        reject: (e: Error) => {
          clearTimeout(timer)
          reject(e)
        },
      }
      this.#commitAnswers.push(waiter)
      consumer.commitCb(list, (err) => {
        if (!err) return
        // not even queued: no answer will come for it
        const i = this.#commitAnswers.indexOf(waiter)
        if (i >= 0) this.#commitAnswers.splice(i, 1)
        waiter.reject(err)
      })
    })
  }

  /**
   * Leaves the group and joins it again: every owned partition is revoked (through `onRevoked`), then assigned
   * anew (through `onAssigned`, which restores them). For state that went ahead of what Kafka holds (an aborted
   * transaction, a fenced zombie): Kafka Streams' "close the tasks dirty and rejoin".
   *
   * @internal the runner's, for a fenced or aborted instance
   */
  rejoin(): void {
    const consumer = this.#consumer
    if (!consumer || this.#stopCalled || this.#rejoining) return
    this.#rejoining = true
    this.#logger.warn(
      {},
      'leaving the consumer group and joining it again: its tasks are restored from their checkpoints',
    )
    void this.#leaveAndJoin(consumer).finally(() => {
      this.#rejoining = false
    })
  }

  /**
   * Unsubscribes, waits until every owned partition went through `onRevoked`, subscribes again. Subscribing again
   * at once can keep the partitions (cooperative-sticky: the new subscription is the old one), so that they are
   * never revoked and their tasks, dropped by nobody, stay ahead of what Kafka holds: seen as a job stalled for
   * good after a fenced transaction. Without the client's revocation within `REJOIN_REVOKE_WAIT_MS`, they are
   * revoked here, as lost.
   */
  async #leaveAndJoin(consumer: Consumer): Promise<void> {
    try {
      consumer.unsubscribe()
      const deadline = Date.now() + REJOIN_REVOKE_WAIT_MS
      // the poll loop serves the rebalance callback of the unsubscribe
      while (!this.#stopCalled && (this.#owned().length > 0 || this.#rebalance) && Date.now() < deadline)
        await new Promise((r) => setTimeout(r, 50))
      if (this.#stopCalled) return
      const left = this.#owned().map((p) => ({ topic: p.topic, partition: p.partition }))
      if (left.length > 0) {
        this.#logger.warn(
          { partitions: left.map(label) },
          `no revocation of ${left.length} partition(s) within ${REJOIN_REVOKE_WAIT_MS} ms of leaving the group: revoking them here, as lost`,
        )
        this.#handlers?.onLost?.(left)
        const cooperative = consumer.rebalanceProtocol() === 'COOPERATIVE'
        this.#queueRebalance(() => this.#revoke(consumer, left, true, cooperative))
        await this.#rebalance
      }
      if (!this.#stopCalled) consumer.subscribe([...this.topics])
    } catch (e) {
      this.#logger.error({ err: (e as Error).message }, `rejoining the group failed: ${(e as Error).message}`)
    }
  }

  /** Stops fetching these partitions (backpressure); what was handed out already is processed as usual. */
  pause(partitions: readonly TopicPartition[]): void {
    this.#runnerPause(true, partitions)
  }

  /** Fetches these partitions again, from the offset after the last record handed out. */
  resume(partitions: readonly TopicPartition[]): void {
    this.#runnerPause(false, partitions)
  }

  #runnerPause(on: boolean, partitions: readonly TopicPartition[]): void {
    if (!this.#consumer || this.#stopCalled) return
    const now = Date.now()
    const changed: Part[] = []
    for (const tp of partitions) {
      const p = this.#part(tp.topic, tp.partition)
      if (!p) continue
      const before = p.pausedBy
      p.pausedBy = on ? before | BY_RUNNER : before & ~BY_RUNNER
      if ((before === 0) !== (p.pausedBy === 0)) changed.push(p)
      if (p.pausedBy !== 0) p.evidence.pause()
      else if (before !== 0) p.evidence.resume(now)
    }
    this.#clientPause(on, changed)
  }

  /** The idleness evidence of an owned partition at `now` (undefined if not owned). */
  readEvidence(tp: TopicPartition, now: number): ReadEvidenceStatus | undefined {
    return this.#part(tp.topic, tp.partition)?.evidence.status(now, this.#maxAge)
  }

  /** True when an owned partition is known to hold nothing unread at `now` (cheaper than {@link readEvidence}). */
  caughtUp(tp: TopicPartition, now: number): boolean {
    return this.#part(tp.topic, tp.partition)?.evidence.caughtUp(now, this.#maxAge) ?? false
  }

  /** Asks the brokers for the log end of every quiet partition in one request (one at a time). */
  #probe(): void {
    const consumer = this.#consumer
    if (!consumer || this.#probing || this.#halted) return
    const now = Date.now()
    const due = this.#owned().filter((p) => !p.revoking && p.evidence.wantsProbe(now, this.#quiet, this.#maxAge))
    if (due.length === 0) return
    this.#probing = true
    const sentAt = now
    consumer.offsetsForTimes(
      due.map((p) => ({ topic: p.topic, partition: p.partition, offset: -1 })),
      2 * this.#probeInterval,
      (err, offsets) => {
        this.#probing = false
        if (err) {
          for (const p of due) p.evidence.probeFailed(err.message)
          return
        }
        for (const o of offsets ?? []) {
          const p = this.#part(o.topic, o.partition)
          if (!p) continue
          const error = (o as { error?: { message?: string } }).error
          if (error || o.offset < 0) p.evidence.probeFailed(error?.message ?? `no log end offset (${o.offset})`)
          else p.evidence.probed(o.offset, sentAt)
        }
      },
    )
  }

  /** The partitions this instance owns, with position, committed offset, log end, lag and idleness evidence. */
  partitions(): PartitionPosition[] {
    const now = Date.now()
    return this.#owned().map((p) => {
      const e = p.evidence.status(now, this.#maxAge)
      const position = e.position
      const lag = e.logEnd !== null && position !== null ? Math.max(0, e.logEnd - position) : null
      return {
        topic: p.topic,
        partition: p.partition,
        position,
        committed: p.committed,
        highWatermark: e.logEnd,
        lag,
        evidence: e,
      }
    })
  }

  /**
   * Stops polling, lets what is in flight be processed, hands every owned partition over through `onRevoked`
   * (flush and commit, while still a group member), then leaves the group.
   */
  async stop(): Promise<void> {
    const consumer = this.#consumer
    if (!consumer || this.#stopCalled) return
    this.#stopCalled = true
    this.#halted = true
    clearInterval(this.#probeTimer)
    await this.#loop
    await Promise.allSettled([...this.#inflight])
    await this.#rebalance
    const owned = this.#owned().map((p) => ({ topic: p.topic, partition: p.partition }))
    try {
      if (owned.length && this.#handlers) await this.#handlers.onRevoked(owned, { lost: false })
    } finally {
      this.#handedOver = true
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, 15_000) // a cluster that is down: leave without the LeaveGroup answer
        consumer.disconnect(() => {
          clearTimeout(timer)
          resolve()
        })
      })
      this.#parts.clear()
    }
  }

  #clientError(e: { message: string }): void {
    // A fetch or connection failure: evidence from before it no longer counts (docs/contract.md §2.3: a partition the
    // job cannot read is never idle). The client retries by itself; the message is logged once per 30 s.
    const now = Date.now()
    for (const p of this.#owned()) {
      p.evidence.since = now
      p.evidence.probeFailed(e.message)
    }
    this.#warnOnce(`kafka: ${e.message}`)
  }

  #part(topic: string, partition: number): Part | undefined {
    return this.#parts.get(topic)?.[partition]
  }

  #add(tp: TopicPartition, now: number): void {
    let list = this.#parts.get(tp.topic)
    if (!list) {
      list = []
      this.#parts.set(tp.topic, list)
    }
    list[tp.partition] = {
      topic: tp.topic,
      partition: tp.partition,
      next: null,
      committed: null,
      pausedBy: this.#throttled ? BY_SOURCE : 0,
      revoking: false,
      evidence: new ReadEvidence(now),
      out: undefined,
    }
  }

  #remove(tp: TopicPartition): void {
    const list = this.#parts.get(tp.topic)
    if (list) delete list[tp.partition]
  }

  #owned(): Part[] {
    const out: Part[] = []
    for (const list of this.#parts.values()) for (const p of list) if (p !== undefined) out.push(p)
    return out
  }
}

const label = (tp: TopicPartition) => `${tp.topic}-${tp.partition}`

/** The client's headers (a list of one-key objects, a key may repeat) as one record; the last value wins. */
export function headerRecord(headers: unknown): Record<string, Buffer | string | undefined> {
  const out: Record<string, Buffer | string | undefined> = Object.create(null)
  for (const h of headers as Record<string, Buffer | string>[]) for (const k in h) out[k] = h[k]
  return out
}
