import rdkafka from '@confluentinc/kafka-javascript'
import type { TopicPartitionOffset } from '../types.js'
import { type Brokers, bootstrapServers, type ConnectorLogger, connectorLogger, warnOncePer30s } from './client.js'
import { type ProducerMessage, produceAll } from './kafka-producer.js'

/**
 * What a Kafka sink sends through: its own idempotent producer, or, under the runner's exactly-once, the
 * instance's transaction (`SinkContext.transaction`, given to `Sink.open`).
 *
 * @example
 * const sink: Sink<View> = {
 *   name: 'views',
 *   open: (ctx) => { sender = ctx.transaction ?? new KafkaProducer({ brokers: ctx.kafkaBrokers }) },
 *   write: (views) => sender.send('views', views.map((v) => ({ key: v.page, value: JSON.stringify(v) }))),
 * }
 */
export type MessageSender = {
  /** Sends and waits until every message is acknowledged; rejects on a permanent delivery failure. */
  send(topic: string, messages: readonly ProducerMessage[]): Promise<void>
  flush(): Promise<void>
  close(): Promise<void>
}

/**
 * The transaction was aborted: every record sent in it is discarded (a read_committed consumer never sees them),
 * so state that produced them is ahead of what Kafka holds and must be rebuilt from the last committed checkpoint.
 * `fenced`: the consumer group moved on without this instance (its generation is stale: a zombie).
 */
export class TransactionAbortedError extends Error {
  override name = 'TransactionAbortedError'
  /** Read by the sink writers: a write that failed with it is dropped with the transaction, not a sink failure. */
  readonly transactionAborted = true
  constructor(
    message: string,
    readonly fenced: boolean,
  ) {
    super(message)
  }
}

/** Group errors that mean this member's generation is no longer the group's. */
const FENCING_CODES = new Set([
  22, // ILLEGAL_GENERATION
  25, // UNKNOWN_MEMBER_ID
  27, // REBALANCE_IN_PROGRESS
  82, // FENCED_INSTANCE_ID
])

/** True for a commit error meaning the group has moved on without this member (its assignment is gone). */
export const isFencingError = (e: unknown): boolean =>
  FENCING_CODES.has((e as { code?: number }).code ?? 0) ||
  /ILLEGAL_GENERATION|UNKNOWN_MEMBER_ID|REBALANCE_IN_PROGRESS|FENCED_INSTANCE_ID|generation|unknown member/i.test(
    (e as Error)?.message ?? '',
  )

/**
 * Delivery errors no abort and retry can fix: the record itself is refused (too large, invalid) or the producer may
 * not write the topic. Any other failure of a record in a transaction (a timeout while the brokers were out of
 * reach or the process was frozen, a lost leader) aborts the transaction, and the work is done again from the last
 * committed checkpoint.
 */
const PERMANENT_DELIVERY_CODES = new Set([
  -186, // _MSG_SIZE_TOO_LARGE
  2, // CORRUPT_MESSAGE
  10, // MSG_SIZE_TOO_LARGE
  18, // RECORD_LIST_TOO_LARGE
  29, // TOPIC_AUTHORIZATION_FAILED
  53, // TRANSACTIONAL_ID_AUTHORIZATION_FAILED
  87, // INVALID_RECORD
])

/** Renewals of the producer after fatal errors allowed within {@link RENEWAL_WINDOW_MS} before giving up. */
const MAX_RENEWALS = 3
const RENEWAL_WINDOW_MS = 60_000

type ClientError = {
  message: string
  code?: number
  isFatal?: boolean
  isRetriable?: boolean
  isTxnRequiresAbort?: boolean
}

/** Options of {@link KafkaTransactions}. */
export type KafkaTransactionsOptions = {
  readonly brokers?: Brokers
  /** `transactional.id`: unique per instance (a restart with the same id aborts what its predecessor left open). */
  readonly transactionalId: string
  /**
   * `transaction.timeout.ms` (default 10 s, as Kafka Streams under exactly-once): a transaction left open by a
   * crashed instance is aborted by the coordinator after this long; read_committed consumers wait for it.
   */
  readonly transactionTimeoutMs?: number
  /**
   * Replace the producer by a new one with the same id after a fatal error (default false). Kafka answers a
   * transaction the coordinator aborted for its timeout (the process was frozen) and a newer producer with the same
   * id alike (`_FENCED`), so turn it on only when no other producer can have this id: the runner does, for the
   * random id it gives an instance unless `TRANSACTIONAL_ID` is set. A renewed producer with a shared id would fence
   * the other one in turn.
   */
  readonly renewWhenFenced?: boolean
  /** Largest record, bytes (default 64 MiB: checkpoints go through this producer). */
  readonly maxMessageBytes?: number
  /** `batch.size`: at most the smallest `max.message.bytes` of the topics written to (default 1,000,000). */
  readonly batchBytes?: number
  readonly logger?: ConnectorLogger
}

/**
 * One transactional producer per instance, as Kafka Streams' exactly-once v2 (KIP-447): every Kafka write of every
 * task (repartition records, dead letters, Kafka sink outputs, changelog checkpoints) goes into the open
 * transaction, and {@link KafkaTransactions.commit} adds the input offsets (`sendOffsetsToTransaction` with the
 * consumer's group metadata, so a member of a stale generation is refused) and commits, all or nothing. A
 * transaction begins with the first write after a commit.
 *
 * Errors: a retriable commit error is retried; one that needs an abort aborts and throws a
 * {@link TransactionAbortedError} (`fenced` when the group has moved on), and so does a record of the transaction
 * that could not be delivered for a reason other than the record itself (a timeout: the brokers were unreachable
 * or the process was frozen past `transaction.timeout.ms`). A fatal error (the coordinator aborted the transaction
 * and bumped the producer's epoch while the process was frozen, so the producer can do nothing more) fails for
 * good, or with `renewWhenFenced` renews the producer: a new one with the same transactional id, initialised
 * (which fences the old epoch), then a {@link TransactionAbortedError}; more than 3 renewals within a minute fail
 * for good.
 *
 * @example
 * const tx = new KafkaTransactions({ transactionalId: 'ctr-1' }); await tx.start()
 * await tx.send('out', [{ key: 'k', value: 'v' }])
 * await tx.commit([{ topic: 'in', partition: 0, offset: 42 }], consumer)
 */
export class KafkaTransactions implements MessageSender {
  readonly #options: KafkaTransactionsOptions
  readonly #logger: ConnectorLogger
  readonly #warnOnce: (message: string) => void
  #producer: rdkafka.Producer | undefined
  /** The open transaction's begin (resolved once begun); undefined when none is open. */
  #begun: Promise<void> | undefined
  /** A commit or abort in progress: sends wait for it. */
  #ending: Promise<unknown> | undefined
  /** Delivery failures reported in the open transaction (it can only be aborted then). */
  #failure: Error | undefined
  #closed = false
  /** When the producer was renewed after fatal errors, recent ones (`performance.now()`). */
  #renewals: number[] = []
  /** Transactions committed and aborted so far, and producers renewed (for logs and tests). */
  committed = 0
  aborted = 0
  renewed = 0

  constructor(options: KafkaTransactionsOptions) {
    this.#options = options
    this.#logger = options.logger ?? connectorLogger()
    this.#warnOnce = warnOncePer30s(this.#logger)
  }

  get transactionalId(): string {
    return this.#options.transactionalId
  }

  /** True while a transaction is open (something was sent since the last commit). */
  get open(): boolean {
    return this.#begun !== undefined
  }

  /** Connects and initialises the transactional id (fencing an older producer with the same id, aborting its open transaction). */
  async start(): Promise<void> {
    this.#producer = await this.#create()
  }

  async #create(): Promise<rdkafka.Producer> {
    const o = this.#options
    const producer = new rdkafka.Producer({
      'bootstrap.servers': bootstrapServers(o.brokers),
      'client.id': `${o.transactionalId}-tx`,
      'transactional.id': o.transactionalId,
      'transaction.timeout.ms': o.transactionTimeoutMs ?? 10_000,
      'enable.idempotence': true,
      acks: -1,
      'linger.ms': 5,
      'compression.type': 'lz4',
      partitioner: 'murmur2_random',
      'message.max.bytes': o.maxMessageBytes ?? 64 * 1024 * 1024,
      'batch.size': o.batchBytes ?? 1_000_000,
      'queue.buffering.max.kbytes': 64 * 1024,
      'delivery.report.only.error': true,
      dr_cb: true,
      event_cb: true,
      log_level: 4,
    } as rdkafka.ProducerGlobalConfig)
    producer.on('delivery-report', (err, report) => {
      if (err && producer === this.#producer) this.#failure ??= deliveryFailure(err, report?.topic)
    })
    producer.on('event.log', (l: { severity: number; fac: string; message: string }) => {
      if (l.severity <= 4) this.#warnOnce(`kafka transactional producer: ${l.fac}: ${l.message}`)
    })
    producer.on('event.error', (e) => this.#warnOnce(`kafka transactional producer: ${e.message}`))
    await new Promise<void>((resolve, reject) =>
      producer.connect({ timeout: 10_000 }, (err) => (err ? reject(err) : resolve())),
    )
    producer.setPollInBackground(true)
    await call((cb) => producer.initTransactions(30_000, cb), 'initialising transactions')
    return producer
  }

  /**
   * Replaces a producer that hit a fatal error by a new one with the same transactional id (its initialisation
   * fences the old epoch and aborts whatever it left open). Throws when renewals come too often.
   */
  async #renew(cause: ClientError): Promise<void> {
    if (!this.#options.renewWhenFenced) throw new Error(`Kafka transaction failed for good: ${cause.message}`)
    const now = performance.now()
    this.#renewals = this.#renewals.filter((t) => now - t < RENEWAL_WINDOW_MS)
    if (this.#renewals.length >= MAX_RENEWALS)
      throw new Error(
        `Kafka transaction failed for good: the producer of transactional id "${this.#options.transactionalId}" hit ${MAX_RENEWALS + 1} fatal errors within a minute (the last: ${cause.message}); is another instance running with the same TRANSACTIONAL_ID?`,
      )
    this.#renewals.push(now)
    const old = this.#producer
    this.#producer = undefined
    this.#begun = undefined
    this.#failure = undefined
    this.#logger.warn(
      { transactionalId: this.#options.transactionalId, err: cause.message },
      `the transactional producer hit a fatal error (${cause.message}): replacing it by a new one with the same transactional id`,
    )
    if (old) await new Promise<void>((resolve) => old.disconnect(5_000, () => resolve()))
    this.#producer = await this.#create()
    this.renewed++
  }

  #ensureBegun(producer: rdkafka.Producer): Promise<void> {
    this.#begun ??= call((cb) => producer.beginTransaction(cb), 'beginning a transaction')
    return this.#begun
  }

  /** Sends within the open transaction (beginning one), and waits until every message is acknowledged. */
  async send(topic: string, messages: readonly ProducerMessage[]): Promise<void> {
    if (messages.length === 0) return
    while (this.#ending) await this.#ending.catch(() => {})
    const producer = this.#ready()
    await this.#ensureBegun(producer)
    await produceAll(producer, topic, messages, (e) => {
      if (PERMANENT_DELIVERY_CODES.has((e as { code?: number }).code ?? 0)) return e
      // the producer is in a state that needs an abort (or a renewal): the runner drops the tasks and aborts
      return new TransactionAbortedError(`sending to ${topic} failed: ${(e as Error).message}`, false)
    })
    await this.flush()
    if (this.#failure) throw this.#failure
  }

  /** Waits until everything sent so far is acknowledged (or failed). */
  async flush(): Promise<void> {
    const producer = this.#producer
    if (!producer) return
    for (;;) {
      const timedOut = await new Promise<boolean>((resolve, reject) =>
        producer.flush(1000, (err) => {
          if (!err) resolve(false)
          else if ((err as { code?: number }).code === -185) resolve(true)
          else reject(err)
        }),
      )
      if (!timedOut) break
    }
    await new Promise((r) => setImmediate(r))
  }

  /**
   * Adds `offsets` (the next offsets to read, of the consumer's partitions) to the open transaction and commits
   * it; with nothing sent and no offsets, does nothing. Call it only once every write of the transaction resolved.
   */
  commit(offsets: readonly TopicPartitionOffset[], consumer?: rdkafka.KafkaConsumer): Promise<void> {
    return this.#exclusive(() => this.#commit(offsets, consumer))
  }

  /** Runs a commit or an abort once the previous one ended; sends wait for it. */
  #exclusive(fn: () => Promise<void>): Promise<void> {
    const previous = this.#ending ?? Promise.resolve()
    const run = previous.catch(() => {}).then(fn)
    const ending: Promise<unknown> = run
      .catch(() => {})
      .finally(() => {
        if (this.#ending === ending) this.#ending = undefined
      })
    this.#ending = ending
    return run
  }

  async #commit(offsets: readonly TopicPartitionOffset[], consumer?: rdkafka.KafkaConsumer): Promise<void> {
    const producer = this.#ready()
    if (offsets.length === 0 && !this.#begun) return
    await this.#ensureBegun(producer).catch((e) => this.#abortAfter(e, 'beginning a transaction'))
    await this.flush()
    if (this.#failure) await this.#abortAfter(this.#failure, 'a write of the transaction')
    if (offsets.length > 0) {
      if (!consumer) throw new Error('committing offsets in a transaction needs the consumer')
      const list = offsets.map((o) => ({ topic: o.topic, partition: o.partition, offset: o.offset }))
      await retrying(
        (cb) => producer.sendOffsetsToTransaction(list, consumer, 30_000, cb),
        'sending the offsets to the transaction',
      ).catch((e) => this.#abortAfter(e, 'sending the offsets to the transaction'))
    }
    await retrying((cb) => producer.commitTransaction(30_000, cb), 'committing the transaction').catch((e) =>
      this.#abortAfter(e, 'committing the transaction'),
    )
    this.#begun = undefined
    this.committed++
  }

  /**
   * Aborts after `e` (renewing the producer when the error is fatal) and throws a {@link TransactionAbortedError};
   * rethrows what it cannot recover (a permanent delivery error, renewals too often).
   */
  async #abortAfter(e: unknown, what: string): Promise<never> {
    const err = e as ClientError
    if (PERMANENT_DELIVERY_CODES.has(err.code ?? 0))
      throw new Error(`Kafka transaction failed for good while ${what}: ${err.message}`)
    if (err.isFatal) await this.#renew(err)
    else await this.#abort()
    throw new TransactionAbortedError(`transaction aborted after ${what} failed: ${err.message}`, isFencingError(err))
  }

  async #abort(): Promise<void> {
    const producer = this.#producer
    this.#failure = undefined
    if (!producer || !this.#begun) return
    const begun = this.#begun
    this.#begun = undefined
    if (!(await begun.then(() => true).catch(() => false))) return
    try {
      await retrying((cb) => producer.abortTransaction(30_000, cb), 'aborting the transaction')
    } catch (e) {
      // e.g. INVALID_TXN_STATE: the coordinator aborted the transaction itself (it outlived transaction.timeout.ms
      // while the process was frozen) and bumped the epoch; this producer can do nothing more
      if ((e as ClientError).isFatal) await this.#renew(e as ClientError)
      else throw e
    }
    this.aborted++
  }

  /** Aborts the open transaction, if any: nothing sent since the last commit is ever read by a read_committed consumer. */
  abort(): Promise<void> {
    return this.#exclusive(() => this.#abort())
  }

  /** A sender for one sink: its `close` leaves the shared producer open (the runner closes it). */
  sender(): MessageSender {
    return { send: (t, m) => this.send(t, m), flush: () => this.flush(), close: async () => {} }
  }

  /** Aborts what is open (an unfinished transaction is never committed by a close) and disconnects. */
  async close(): Promise<void> {
    if (this.#closed) return
    this.#closed = true
    const p = this.#producer
    if (!p) return
    await this.abort().catch((e) =>
      this.#logger.warn({ err: (e as Error).message }, `abort at close failed: ${(e as Error).message}`),
    )
    this.#producer = undefined
    await new Promise<void>((resolve) => p.disconnect(10_000, () => resolve()))
  }

  #ready(): rdkafka.Producer {
    if (!this.#producer) throw new Error(this.#closed ? 'Kafka transactions closed' : 'Kafka transactions not started')
    return this.#producer
  }
}

/**
 * A record of the transaction that was not delivered: a {@link TransactionAbortedError} (the transaction is aborted
 * and its work done again) unless the record itself is refused.
 */
function deliveryFailure(err: rdkafka.LibrdKafkaError, topic: string | undefined): Error {
  const message = `delivery to ${topic ?? 'Kafka'} failed: ${err.message}`
  return PERMANENT_DELIVERY_CODES.has(err.code)
    ? Object.assign(new Error(message), { code: err.code })
    : new TransactionAbortedError(message, false)
}

/** One client call with a callback, as a promise; the error keeps the client's flags. */
function call(fn: (cb: (err: rdkafka.LibrdKafkaError) => void) => void, what: string): Promise<void> {
  return new Promise((resolve, reject) =>
    fn((err) => {
      if (!err) resolve()
      else reject(Object.assign(new Error(`${what}: ${err.message}`), err, { message: `${what}: ${err.message}` }))
    }),
  )
}

/** {@link call}, repeated while the client says the error is retriable (at most 10 times). */
async function retrying(fn: (cb: (err: rdkafka.LibrdKafkaError) => void) => void, what: string): Promise<void> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await call(fn, what)
    } catch (e) {
      const err = e as ClientError
      if (!err.isRetriable || err.isTxnRequiresAbort || err.isFatal || attempt >= 10) throw e
      await new Promise((r) => setTimeout(r, Math.min(1000, 100 * attempt)))
    }
  }
}
