import { randomUUID } from 'node:crypto'
import pino from 'pino'
import type { SchedulerLike } from 'rxjs'
import type { CheckpointStore } from '../checkpoint/checkpoint.js'
import { type CheckpointConfig, loadCheckpointConfig } from '../checkpoint/checkpoint-config.js'
import { CheckpointSkipped } from '../checkpoint/checkpointer.js'
import type { KafkaTransactions } from '../connectors/kafka/transactions.js'
import { sinkHealthOf } from '../connectors/sink-health.js'
import type {
  DeadLetter,
  RepartitionRecord,
  Sink,
  SinkContext,
  SourceConnector,
  TopicPartition,
  TopicPartitionOffset,
} from '../connectors/types.js'
import type { Topology } from '../graph/topology.js'
import { type Work, WorkPipeline } from '../runtime/pipeline.js'
import { DEFAULT_MAX_MESSAGE_BYTES } from '../runtime/repartition/codec.js'
import type { SinkWriters } from '../runtime/sink-writer.js'
import type { Clock, Engine } from '../runtime/types.js'
import type { StateBackend } from '../state/state-backend.js'
import { Backpressure, pauseAfterMsFromEnv } from './backpressure.js'
import type { BoundedRun } from './bounded-run.js'
import { CheckpointHealth } from './checkpoint-health.js'
import { type Guarantee, loadConfig, type RunnerConfig } from './config.js'
import { type EngineSetup, setupEngine, type TaskCheckpointer, type TaskMode } from './engine-setup.js'
import { ConfigError, safeUrl } from './env-parse.js'
import { type StatusServer, startStatusServer } from './http-server.js'
import type { KafkaPlatform } from './kafka-platform.js'
import { createRunnerMetrics, type RunnerMetrics } from './metrics.js'
import { EXIT_OUTPUT_NOT_FLUSHED, OutputNotFlushedError } from './shutdown.js'
import { type RunnerStatus, runnerStatus } from './status.js'

/**
 * Options of {@link createRunner}; everything but the topology is optional.
 *
 * @example
 * createRunner(t, { tasks: 'auto', config: { port: 0 }, checkpoints: { intervalMs: 2000 }, untilEnd: true })
 */
export type RunnerOptions = {
  /** Settings; missing ones come from the environment (see `loadConfig`). */
  readonly config?: Partial<RunnerConfig>
  /** The environment settings are read from (default `process.env`). */
  readonly env?: Readonly<Record<string, string | undefined>>
  /**
   * How partitions group into tasks (default `'single'`): `'auto'` repartitions each keyBy's input through an
   * internal topic unless it is declared co-partitioned, so several instances share any input exactly;
   * `'partition'` for co-partitioned input; `'single'` for one instance and any input.
   */
  readonly tasks?: TaskMode
  /** Check that Redis answers before starting (default true: most topologies write to it). */
  readonly requireRedis?: boolean
  /** The wall clock (default `Date.now`). */
  readonly clock?: Clock
  /** The runner's logger, also handed to the sinks (default: pino at `LOG_LEVEL`). */
  readonly logger?: pino.Logger
  /** Checkpoint settings; missing ones come from the environment (see `loadCheckpointConfig`). */
  readonly checkpoints?: Partial<CheckpointConfig>
  /** Pause the input once a batch's writes have been pending this long (default `PAUSE_AFTER_MS`, else 1000). */
  readonly pauseAfterMs?: number
  /**
   * A bounded run (`pnpm job --until-end`): read every source partition up to the end offset it had at start,
   * then close every window as if the watermark reached the end of time, write, and stop (exit 0). Offsets and
   * checkpoints are committed as of the end offsets, before the windows are closed, so a later streaming run of
   * the same application id goes on from there with its windows still open. One instance only.
   */
  readonly untilEnd?: boolean
  /**
   * `'exactly-once'`: each instance's Kafka writes (repartition records, dead letters, Kafka sink outputs, the
   * changelog checkpoints) and its input offsets commit in one Kafka transaction, fenced by the consumer group's
   * generation (Kafka Streams' exactly_once_v2); needs checkpoints. Default `GUARANTEE`, else `'at-least-once'`.
   */
  readonly guarantee?: Guarantee
  /**
   * Where the input comes from (default: a `KafkaSource` (`@ctr/streams-dsl/kafka`) on the job's brokers, the consumer group named by
   * the application id). Any {@link SourceConnector} will do with `tasks` `'single'` or `'partition'` in a
   * streaming run (`'auto'` and `untilEnd` read Kafka topics of their own); dead letters and checkpoints still go
   * to the job's Kafka unless `deadLetters` and `checkpointStore` say otherwise. `exactly-once` needs a source that commits in the
   * transaction and rejoins its group (`commitTransaction`, `rejoin`).
   */
  readonly source?: (spec: SourceSpec) => SourceConnector
  /** Where dead letters go instead of the Kafka topic `<application-id>-dlq` (not created then). */
  readonly deadLetters?: Sink<DeadLetter>
  /** Where checkpoints go instead of the Kafka changelog `<application-id>-windows-changelog`. */
  readonly checkpointStore?: CheckpointStore
  /**
   * Where operators keep their state (default: the heap, `memoryStateBackend`). `sqliteStateBackend` of
   * `@ctr/streams-dsl/state` keeps it in an embedded file with a bounded heap cache, for state larger than the heap.
   */
  readonly state?: StateBackend
  /** @internal How the test driver embeds the runner (see {@link RunnerHarness}). */
  readonly harness?: RunnerHarness
}

/**
 * @internal How the test driver embeds the real runner: its ticks and commits on a virtual-time scheduler, the
 * results captured, no `/status` port.
 */
export type RunnerHarness = {
  /** Where the tick and commit timers run (the driver's virtual time). */
  readonly scheduler: SchedulerLike
  /** Wraps each sink of the topology (the driver records what it is given); the sinks are not opened or closed. */
  readonly wrapSink: (sink: Sink<unknown>) => Sink<unknown>
  /** The source topics' partition counts (the partitions the watermark is the least over when repartitioning). */
  readonly partitionCounts?: ReadonlyMap<string, number>
  /** Every keyBy repartitioned through in-memory topics of this many partitions, written to `sink`. */
  readonly repartition?: { readonly partitions: number; readonly sink: Sink<RepartitionRecord> }
}

/**
 * What the runner asks of the source it builds with {@link RunnerOptions.source}.
 *
 * @example
 * createRunner(t, { source: ({ topics }) => new MemorySource(Object.fromEntries(topics.map((t) => [t, 2]))) })
 */
export type SourceSpec = {
  /** The topics to read: the topology's source topics. */
  readonly topics: readonly string[]
  /** The application id: the consumer group of a source shared by several instances. */
  readonly groupId: string
  /** The runner's logger. */
  readonly logger: pino.Logger
}

/**
 * Lifecycle of a runner: `created` → `starting` → `running` → `stopping` → `stopped` (or `failed`).
 *
 * @example
 * if (runner.state === 'running') await runner.stop()
 */
export type RunnerState = 'created' | 'starting' | 'running' | 'stopping' | 'stopped' | 'failed'

/**
 * Runs a topology against Kafka: a consumer group named by the application id feeds the engine; results go to
 * the topology's sinks, bad and late records to `<application-id>-dlq`. Offsets are committed every
 * `commitIntervalMs` (and on revoke and at shutdown) from `engine.committable()`, i.e. never past a record
 * whose effect is not durable. Batches, ticks, commits and rebalances run one at a time through an RxJS
 * `concatMap`, so a slow sink holds everything behind it (backpressure).
 *
 * @example
 * const runner = createRunner(app.build(), { config: { port: 0 } })
 * await runner.start()
 * process.once('SIGTERM', () => runner.stop())
 * process.exitCode = await runner.finished
 */
export class Runner {
  /** The settings in effect: the environment overridden by `options.config`. */
  readonly config: RunnerConfig
  /** Checkpointing and group settings (`CHECKPOINTS`, `CHECKPOINT_INTERVAL_MS`, `KAFKA_SESSION_TIMEOUT_MS`). */
  readonly checkpoints: CheckpointConfig
  /** The runner's logger. */
  readonly logger: pino.Logger
  /** Resolves with the exit code once the runner has stopped (0 after a clean stop). */
  readonly finished: Promise<number>
  #finish!: (code: number) => void
  #state: RunnerState = 'created'
  #startedAt = 0
  #engine: Engine | undefined
  #checkpointer: TaskCheckpointer | undefined
  #setup: EngineSetup | undefined
  #source: SourceConnector | undefined
  #backpressure: Backpressure | undefined
  #dlq: Sink<DeadLetter> | undefined
  #server: StatusServer | undefined
  #metrics: RunnerMetrics
  /** Batches, ticks, commits and rebalances, run one at a time (runtime/pipeline.ts). */
  #pipeline: WorkPipeline | undefined
  #failure: Error | undefined
  #stopping: Promise<void> | undefined
  #bounded: BoundedRun | undefined
  /** A bounded run has read everything and closed its windows: nothing more is processed or committed. */
  #inputEnded = false
  readonly #deadLetters = new Map<string, number>()
  /** Outcomes of the checkpoints (checkpoints on only). */
  #checkpointHealth: CheckpointHealth | undefined
  /** The instance's Kafka transaction (exactly-once only). */
  #tx: KafkaTransactions | undefined
  /** Kafka's and Redis's side of the runner, loaded when it is needed (never for the test driver's runner). */
  #kafka: KafkaPlatform | undefined
  /**
   * The group has moved on without this instance (its assignment was lost, a transaction was fenced or aborted):
   * nothing is processed, written, checkpointed or committed until every task is dropped and assigned anew.
   */
  #fenced = false
  /** When `#fenced` was last set (performance.now()): a fence that lasts is asked to end again. */
  #fencedAt = 0
  #checkpointWritten = false
  /** The process may have been frozen past its session (a stop signal, a long GC pause): ask the group first. */
  #suspect = false
  /** When the tick timer last ran (performance.now()); a longer gap means the process was not running. */
  #lastBeat = 0
  /** When the group coordinator last confirmed this instance a member (performance.now()). */
  #memberAt = Number.NEGATIVE_INFINITY

  constructor(
    readonly topology: Topology,
    readonly options: RunnerOptions = {},
  ) {
    const fromEnv = loadConfig(options.env ?? process.env, { applicationId: topology.name })
    this.config = { ...fromEnv, ...options.config, ...(options.guarantee && { guarantee: options.guarantee }) }
    const env = options.env ?? process.env
    this.checkpoints = {
      ...loadCheckpointConfig(env),
      // under exactly-once every commit is a checkpoint and a transaction: Kafka outputs are seen once committed
      ...(this.config.guarantee === 'exactly-once' && env.CHECKPOINT_INTERVAL_MS === undefined && { intervalMs: 1000 }),
      ...options.checkpoints,
    }
    if (this.config.guarantee === 'exactly-once' && !this.checkpoints.enabled)
      throw new ConfigError(
        'GUARANTEE=exactly-once needs CHECKPOINTS=on: the window state is committed with the offsets and the outputs',
      )
    this.logger =
      options.logger ??
      pino({ name: this.config.applicationId, level: this.config.logLevel, base: { pid: process.pid } })
    this.finished = new Promise((resolve) => {
      this.#finish = resolve
    })
    this.#metrics = createRunnerMetrics(
      {
        engine: () => this.#engine?.status(),
        partitions: () => this.#source?.partitions() ?? [],
        backpressure: () => this.#backpressure,
        checkpoints: () => this.#checkpointHealth,
      },
      { application: this.config.applicationId },
    )
  }

  /** Where in its lifecycle the runner is. */
  get state(): RunnerState {
    return this.#state
  }

  /** The port `/metrics` and `/status` listen on (useful with port 0). */
  get port(): number | undefined {
    return this.#server?.port
  }

  /** @internal The engine, once started (this package's tests reach into it; `status()` is the public view). */
  get engine(): Engine | undefined {
    return this.#engine
  }

  /**
   * Checks Kafka and Redis, creates the DLQ topic, starts the status server, joins the consumer group.
   * Rejects with a one-line error (ConfigError, KafkaUnavailableError, RedisUnavailableError) when it cannot.
   */
  async start(): Promise<void> {
    if (this.#state !== 'created') throw new Error(`runner already ${this.#state}`)
    this.#state = 'starting'
    refuseReplayWithoutCheckpoints(this.topology, this.checkpoints)
    const custom = this.#customSource()
    const c = this.config
    const cp = this.checkpoints
    // nothing of the runner's own on Kafka: a source of the user's, dead letters and checkpoints elsewhere
    const kafka = !(custom && this.options.deadLetters && (!cp.enabled || this.options.checkpointStore))
    const requireRedis = this.options.requireRedis !== false
    // Kafka's side is loaded only when used: the test driver's runner never loads the Kafka or Redis client
    const used = kafka || requireRedis || !custom || c.guarantee === 'exactly-once'
    const k = used ? await import('./kafka-platform.js') : undefined
    this.#kafka = k
    if (kafka) await (k as KafkaPlatform).checkKafka(c.kafkaBrokers)
    if (requireRedis) await (k as KafkaPlatform).checkRedis(c.redisUrl)
    const { dlqLimit, internalMax } = kafka
      ? await this.#prepareKafka()
      : { dlqLimit: DEFAULT_MAX_MESSAGE_BYTES, internalMax: undefined }
    if (c.guarantee === 'exactly-once') {
      this.#tx = new (k as KafkaPlatform).KafkaTransactions({
        brokers: c.kafkaBrokers,
        transactionalId: c.transactionalId ?? `${c.applicationId}-${randomUUID().slice(0, 8)}`,
        // an id of its own: a fenced producer is this instance's after a freeze, never a newer instance's
        renewWhenFenced: c.transactionalId === undefined,
        transactionTimeoutMs: Math.max(10_000, 3 * cp.intervalMs),
        // batches stay within the smallest topic limit it writes to (records larger than a batch go alone)
        batchBytes: Math.max(1, Math.min(dlqLimit, DEFAULT_MAX_MESSAGE_BYTES) - 1024),
        logger: this.logger,
      })
      try {
        await this.#tx.start()
      } catch (e) {
        throw Object.assign(
          new Error(
            `GUARANTEE=exactly-once: cannot start a transactional producer on ${c.kafkaBrokers} (${(e as Error).message}); the brokers must allow transactions (transaction.state.log.replication.factor <= brokers)`,
          ),
          { name: 'ConfigError' },
        )
      }
      this.logger.info(
        { transactionalId: this.#tx.transactionalId },
        'exactly-once: Kafka sinks, the DLQ, the repartition topics and the checkpoints are written in one transaction per commit with the input offsets; other sinks (Redis) write outside it and must be idempotent',
      )
    }
    // The job's settings reach the sinks explicitly: a sink built without connection settings uses these.
    const context: SinkContext = {
      applicationId: c.applicationId,
      kafkaBrokers: c.kafkaBrokers,
      redisUrl: c.redisUrl,
      logger: this.logger,
      // under exactly-once a Kafka sink writes through the instance's transaction
      ...(this.#tx && { transaction: this.#tx.sender() }),
    }
    if (!this.options.harness) for (const sink of this.#sinks()) await sink.open?.(context)

    const own = this.options.deadLetters
    await own?.open?.(context)
    this.#dlq = own
      ? {
          name: own.name,
          ...(own.maxBatch !== undefined && { maxBatch: own.maxBatch }),
          write: async (letters, readable) => {
            await own.write(letters, readable)
            this.#countDeadLetters(letters)
          },
          ...(own.flush && { flush: () => (own.flush as () => Promise<void>).call(own) }),
          ...(own.close && { close: () => (own.close as () => Promise<void>).call(own) }),
        }
      : (k as KafkaPlatform).kafkaDeadLetterSink({
          ...(this.#tx && { producer: this.#tx.sender() }),
          applicationId: c.applicationId,
          brokers: c.kafkaBrokers,
          logger: this.logger,
          maxMessageBytes: dlqLimit,
          onWritten: (letters) => this.#countDeadLetters(letters),
        })
    this.#setup = await setupEngine(this.topology, {
      ...(k && { kafka: k }),
      ...(this.#tx && { producer: this.#tx.sender() }),
      ...(this.options.checkpointStore && { checkpointStore: this.options.checkpointStore }),
      // Kafka holds none of the topics: their partitions are the source's to know (tasks are 'single' or 'partition')
      ...(!kafka && { partitionCounts: this.options.harness?.partitionCounts ?? new Map<string, number>() }),
      ...(this.options.harness?.repartition && { repartitionThrough: this.options.harness.repartition }),
      tasks: this.options.tasks ?? 'single',
      applicationId: c.applicationId,
      brokers: c.kafkaBrokers,
      checkpoints: cp,
      logger: this.logger,
      ...(internalMax !== undefined && { internalMaxMessageBytes: internalMax }),
      // a corrupt or foreign changelog record: a dead letter, never a crash loop (the restore goes on without it)
      onInvalidCheckpoint: (invalid) =>
        (this.#dlq as Sink<DeadLetter>).write(
          invalid.map((i) => ({ reason: 'invalid_internal_record', message: i.reason, record: i.record })),
        ),
      engine: {
        deadLetters: this.#dlq,
        ...(this.options.state && { state: this.options.state }),
        wrapSink: (s) =>
          this.#metrics.wrapSink(this.options.harness ? (this.options.harness.wrapSink(s) as typeof s) : s),
        onResultLatency: (sink, ms, results) => this.#metrics.resultLatency(sink, ms, results),
        ...(this.options.clock && { clock: this.options.clock }),
        caughtUp: (tp, now) => {
          const source = this.#source
          if (!source) return false
          return source.caughtUp ? source.caughtUp(tp, now) : (source.readEvidence(tp, now)?.caughtUp ?? false)
        },
      },
    })
    this.#engine = this.#setup.engine
    this.#checkpointer = this.#setup.checkpointer
    // built now (without I/O): a source refused for this topology stops the start before anything runs
    this.#source = this.#newSource(this.#setup, custom)
    if (this.#checkpointer) this.#checkpointHealth = new CheckpointHealth(Date.now())
    if (this.#checkpointer && !this.#tx) this.#checkpointer.guard = () => this.#mayCheckpoint()
    // exactly-once: a Kafka write that cannot commit with its transaction (a record timed out while the process
    // was frozen, a producer renewed) is no sink failure; the transaction is aborted and every task rebuilt
    const writers = this.#writers()
    if (this.#tx && writers) writers.onAbort = (e) => this.#fence(e.message)
    if (this.options.untilEnd) {
      this.#bounded = await (k as KafkaPlatform).BoundedRun.start({
        sources: this.topology.sourceTopics,
        repartitionTopics: this.#setup.repartitionTopics.map((t) => t.topic),
        brokers: c.kafkaBrokers,
      })
      const total = [...this.#bounded.endOffsets.values()].reduce((a, b) => a + b, 0)
      this.logger.info({ endOffsets: total }, `bounded run: reading up to the end offsets seen now (${total} in all)`)
    }
    for (const line of describeTasks(this.#setup, this.options.tasks ?? 'single')) this.logger.info(line)
    try {
      if (!this.options.harness)
        this.#server = await startStatusServer(c.port, this.#metrics.registry, () => this.status(), c.host)
    } catch (e) {
      const code = (e as NodeJS.ErrnoException).code
      throw Object.assign(
        new Error(
          `JOB_PORT ${c.port} is not available (${code ?? (e as Error).message}); set JOB_PORT to a free port or 0`,
        ),
        { name: 'ConfigError' },
      )
    }

    this.#pipeline = new WorkPipeline((work) => this.#execute(work), {
      tickMs: c.tickIntervalMs,
      commitMs: cp.enabled ? cp.intervalMs : c.commitIntervalMs,
      onBeat: () => this.#beat(),
      ...(this.options.harness && { scheduler: this.options.harness.scheduler }),
    })
    this.#pipeline.start()

    const source = this.#source as SourceConnector
    const internalTopics = new Set(this.#setup.repartitionTopics.map((t) => t.topic))
    this.#backpressure = new Backpressure({
      source,
      partitions: () => source.partitions(),
      thresholdMs: this.options.pauseAfterMs ?? pauseAfterMsFromEnv(this.options.env ?? process.env) ?? 1000,
      internal: (tp) => internalTopics.has(tp.topic),
      logger: this.logger,
    })
    for (const node of this.topology.nodes) {
      const health = node.kind === 'sink' ? sinkHealthOf(node.sink) : undefined
      if (health && node.kind === 'sink') this.#backpressure.watch(node.sink.name, health)
    }
    this.#startedAt = Date.now()
    this.#lastBeat = performance.now()
    await source.start({
      onBatches: (batches) => this.#enqueue({ kind: 'batches', batches }),
      onAssigned: async (partitions) => {
        const starts: TopicPartitionOffset[] = []
        const assigned = this.#enqueue({ kind: 'assign', partitions, starts })
        // The client applies the assignment once this resolves, unpaused: pause them too if the input is paused.
        assigned.then(
          () => setTimeout(() => this.#backpressure?.assigned(partitions), 0),
          () => {},
        )
        await assigned
        // read restored partitions from their checkpoint's offsets, not from the committed ones
        return starts
      },
      onRevoked: (partitions, info) => this.#enqueue({ kind: 'revoke', partitions, lost: info?.lost ?? false }),
      onLost: (partitions) => this.#lost(partitions),
    })
    this.#state = 'running'
    this.logger.info(
      {
        topics: this.topology.sourceTopics,
        kafka: c.kafkaBrokers,
        redis: safeUrl(c.redisUrl),
        port: this.port,
        dlq: this.options.deadLetters?.name ?? this.#kafka?.deadLetterTopic(c.applicationId),
      },
      `${this.topology.name} running as ${c.applicationId}: reading ${this.topology.sourceTopics.join(', ')}; /status and /metrics on port ${this.port}`,
    )
  }

  /**
   * The Kafka side of the start: the DLQ topic (unless `options.deadLetters`), created to take any record a source
   * accepts, and the limits the internal topics are created with.
   */
  async #prepareKafka(): Promise<{ dlqLimit: number; internalMax: number | undefined }> {
    // Internal topics must take any record a source accepts: created with the largest source limit (plus room for
    // the DLQ headers and the bundle framing); an existing one keeps its own, and what does not fit is handled.
    const c = this.config
    const { alterTopicCommand, deadLetterTopic, describeTopicConfigs, ensureTopics, maxMessageBytesOf } = this
      .#kafka as KafkaPlatform
    const dlqTopic = deadLetterTopic(c.applicationId)
    const settings = (topics: readonly string[]) =>
      describeTopicConfigs(topics, c.kafkaBrokers, ['max.message.bytes']).catch((e: Error) => {
        this.logger.warn({ err: e.message }, `${e.message}; assuming the broker default max.message.bytes`)
        return new Map() as Awaited<ReturnType<typeof describeTopicConfigs>>
      })
    const sourceLimits = await settings(this.topology.sourceTopics)
    const largest = Math.max(
      DEFAULT_MAX_MESSAGE_BYTES,
      ...this.topology.sourceTopics.map((t) => maxMessageBytesOf(sourceLimits, t)),
    )
    const internalMax = largest > DEFAULT_MAX_MESSAGE_BYTES ? largest + 65_536 : undefined
    if (this.options.deadLetters) return { dlqLimit: DEFAULT_MAX_MESSAGE_BYTES, internalMax }
    await ensureTopics(
      [
        {
          topic: dlqTopic,
          partitions: 3,
          ...(internalMax !== undefined && { config: { 'max.message.bytes': String(internalMax) } }),
        },
      ],
      c.kafkaBrokers,
    )
    const dlqLimit = maxMessageBytesOf(await settings([dlqTopic]), dlqTopic)
    if (internalMax !== undefined && dlqLimit < internalMax)
      this.logger.warn(
        { topic: dlqTopic, maxMessageBytes: dlqLimit, sources: largest },
        `DLQ topic ${dlqTopic} accepts records of at most ${dlqLimit} bytes, less than the source topics (${largest}): a larger dead letter is written with its value truncated (headers error.value.bytes, error.value.truncated); run \`${alterTopicCommand(c.kafkaBrokers, dlqTopic, `max.message.bytes=${internalMax}`)}\``,
      )
    return { dlqLimit, internalMax }
  }

  #enqueue(work: Work): Promise<void> {
    return (this.#pipeline as WorkPipeline).submit(work)
  }

  /**
   * @internal Resolves once everything queued so far ran and every output handed to the sinks is durable (the
   * test driver's view after each of its calls).
   */
  async settle(o: { tick?: boolean } = {}): Promise<void> {
    if (o.tick) await this.#enqueue({ kind: 'tick' })
    await this.#enqueue({ kind: 'flush' })
  }

  /**
   * @internal A crash (the test driver's): nothing more is run, written, committed or closed; what was not
   * committed is read again by the next runner on the same source.
   */
  crash(): void {
    this.#pipeline?.close()
    this.#backpressure?.stop()
    this.#writers()?.mute(true)
    this.#state = 'stopped'
    this.#finish(1)
  }

  async #execute(work: Work): Promise<void> {
    try {
      const engine = this.#engine!
      // after a freeze past the session, nothing is written before the group says this instance still belongs
      if ((work.kind === 'batches' || work.kind === 'tick' || work.kind === 'commit') && !this.#fenced)
        await this.#confirmMembership()
      switch (work.kind) {
        case 'batches': {
          if (this.#failure) throw this.#failure
          // a zombie's records: their partitions are someone else's now and are read again from a checkpoint
          if (this.#inputEnded || this.#fenced) break
          const batches = this.#bounded ? this.#bounded.clip(work.batches) : work.batches
          let n = 0
          for (const b of batches) n += b.records.length
          this.#metrics.batchSize.observe(n)
          const end = this.#metrics.batchSeconds.startTimer()
          await this.#track(engine.processAll(batches))
          end()
          break
        }
        case 'tick':
          if (this.#fenced) this.#stillFenced()
          if (this.#failure || this.#state !== 'running' || this.#inputEnded || this.#fenced) break
          await this.#track(engine.tick())
          if (this.#bounded && (await this.#bounded.reached(this.#source!.partitions(), () => engine.flush())))
            await this.#endOfInput()
          break
        case 'commit':
          await this.#commit()
          break
        case 'flush':
          await engine.flush()
          break
        case 'assign':
          // fenced while it owned nothing (or only these, assigned since): no task is ahead of Kafka, the fence ends
          if (this.#fenced && this.#ownsOnly(work.partitions)) this.#unfence()
          // our own open transaction would hold back the read_committed read of the changelog: commit it first
          if (this.#tx?.open && !this.#fenced) await this.#commit()
          // Restore the tasks' window and watermark state before their first record.
          if (this.#checkpointer) work.starts.push(...(await this.#checkpointer.restore(work.partitions)).seek)
          await engine.assign(work.partitions)
          break
        case 'revoke': {
          // Commit what these partitions produced while we still own them. At shutdown that is all we do:
          // revoking would let the watermark jump past the partitions we drop and fire windows early. A lost
          // assignment is someone else's already: nothing is checkpointed, committed or written for it.
          const lost = work.lost || this.#fenced
          if (lost) {
            this.logger.warn(
              { partitions: work.partitions.length },
              `assignment ${work.lost ? 'lost' : 'dropped after a fenced or aborted transaction'}: dropping its tasks without a commit or a write`,
            )
            await this.#dropOutputs(() => (this.#stopping ? Promise.resolve() : engine.revoke(work.partitions)))
            const left = (this.#source?.partitions() ?? []).filter(
              (p) => !work.partitions.some((tp) => tp.topic === p.topic && tp.partition === p.partition),
            )
            if (left.length === 0) {
              this.#unfence()
              this.logger.info('every task dropped: the next assignment restores them from their checkpoints')
            } else this.#rejoin('the rest of the assignment is ahead of what Kafka holds') // what is left must go too
            break
          }
          await this.#commit()
          if (!this.#stopping) await engine.revoke(work.partitions)
          break
        }
      }
    } catch (e) {
      this.#fail(e)
      throw e
    }
  }

  /** The tick timer ran: a gap of most of a session since the last run means the process was frozen. */
  #beat(): void {
    const now = performance.now()
    if (now - this.#lastBeat > 0.8 * this.checkpoints.sessionTimeoutMs) this.#suspect = true
    this.#lastBeat = now
  }

  /**
   * After a freeze of most of a session (SIGSTOP, a long GC pause; seen by the tick timer, or by this job starting
   * long after its last run), asks the group coordinator whether this instance is still a member before anything
   * is written: a zombie learns it here instead of firing windows and writing a checkpoint first. Waits while the
   * coordinator does not answer; a lost assignment reported meanwhile ends the wait.
   */
  async #confirmMembership(): Promise<void> {
    if (performance.now() - this.#lastBeat > 0.8 * this.checkpoints.sessionTimeoutMs) this.#suspect = true
    const source = this.#source
    if (!source?.checkMembership) this.#suspect = false // no group: never a zombie
    while (this.#suspect && !this.#fenced && !this.#failure && source?.checkMembership) {
      const askedAt = performance.now()
      const m = await source.checkMembership()
      this.logger.debug({ membership: m }, 'membership after a freeze')
      if (m === 'fenced') this.#fence('the group has moved on while this instance was frozen')
      else if (m === 'member' || m === 'unknown' || this.#state !== 'running') {
        this.#suspect = false
        if (m === 'member') this.#memberAt = askedAt
      } else await new Promise((r) => setTimeout(r, 500))
    }
  }

  /**
   * The checkpoint guard under at-least-once, asked right before a write: a member of the group's current
   * generation, confirmed by the coordinator within the last quarter of a session. A process frozen in between
   * is caught by the time check (its session cannot have expired within 0.8 of a session of a successful
   * commit: heartbeats go every fifth), so only a freeze in the moment between the check and the send escapes it.
   */
  async #mayCheckpoint(): Promise<boolean> {
    const source = this.#source
    if (this.#fenced || this.#failure || !source) return false
    if (!source.checkMembership) return true // no group: the only reader, never a zombie
    if (performance.now() - this.#memberAt > 0.25 * this.checkpoints.sessionTimeoutMs) {
      // the time the question was sent, not the answer processed: a freeze in between must not count as fresh
      const askedAt = performance.now()
      const m = await source.checkMembership()
      this.logger.debug(
        { membership: m, ms: Math.round(performance.now() - askedAt) },
        'membership before a checkpoint',
      )
      if (m === 'fenced') {
        this.#fence('offset commit refused by the group (this member is gone from it)')
        return false
      }
      if (m !== 'member' && m !== 'unknown') return false
      this.#memberAt = askedAt
    }
    return !this.#fenced && performance.now() - this.#memberAt <= 0.25 * this.checkpoints.sessionTimeoutMs
  }

  /** The source learnt the assignment was lost: from now on nothing of it is written (the revoke drops the tasks). */
  #lost(partitions: readonly TopicPartition[]): void {
    this.logger.warn(
      { partitions: partitions.length },
      'assignment lost (session expired or fenced by the group): writing nothing more until its tasks are dropped',
    )
    this.#fenced = true
    this.#fencedAt = performance.now()
    this.#suspect = false
    this.#discardOutputs()
  }

  /**
   * This instance's state may be ahead of what Kafka holds (a fenced zombie, an aborted transaction): drop every
   * task without a commit and rejoin the group, which assigns them again, restored from their checkpoints.
   */
  #fence(reason: string): void {
    if (this.#fenced) return
    this.logger.warn({}, `${reason}: dropping every task without a commit and rejoining the group`)
    this.#fenced = true
    this.#fencedAt = performance.now()
    this.#suspect = false
    this.#discardOutputs()
    this.#rejoin(reason)
  }

  /** Every task is dropped (or was assigned since the fence, restored from its checkpoint): write again. */
  #unfence(): void {
    this.#fenced = false
    this.#writers()?.mute(false)
  }

  /** The source owns these partitions and no other. */
  #ownsOnly(partitions: readonly TopicPartition[]): boolean {
    const these = new Set(partitions.map((tp) => `${tp.topic}\u0000${tp.partition}`))
    return (this.#source?.partitions() ?? []).every((p) => these.has(`${p.topic}\u0000${p.partition}`))
  }

  /**
   * A fence ends when the last of its tasks is revoked. One that lasts past two sessions means the revocation did
   * not come (nothing is processed meanwhile: the job would stall for good): leave and join the group again.
   */
  #stillFenced(): void {
    const ms = performance.now() - this.#fencedAt
    if (ms < Math.max(20_000, 2 * this.checkpoints.sessionTimeoutMs)) return
    this.#fencedAt = performance.now()
    const owned = this.#source?.partitions().length ?? 0
    this.logger.warn(
      { ms: Math.round(ms), partitions: owned },
      `still dropping every task ${Math.round(ms / 1000)} s after a fence, ${owned} partition(s) not revoked yet: rejoining the group again`,
    )
    this.#rejoin('a fence that did not end')
  }

  /** Leaves the group and joins it again, so every task is assigned anew from its checkpoint. */
  #rejoin(reason: string): void {
    const source = this.#source
    if (!source) return
    if (source.rejoin) source.rejoin()
    // cannot happen with the sources that report a lost assignment or a fenced transaction (they can rejoin)
    else this.#fail(new Error(`${reason}, and the source cannot rejoin its group to restore the tasks`))
  }

  /**
   * The source of `options.source`, built and checked before anything starts: a source of the user's reads the
   * topology's topics only, so it is refused for a bounded run and for tasks 'auto' (both read Kafka topics of
   * their own), and under exactly-once unless it commits in the transaction and can rejoin its group.
   */
  #customSource(): SourceConnector | undefined {
    const custom = this.options.source
    if (!custom) return undefined
    const c = this.config
    if (this.options.untilEnd) refuseSource('has no end offsets for a bounded run (untilEnd): use the Kafka source')
    if (this.options.tasks === 'auto')
      refuseSource(
        "cannot be read with tasks 'auto': tasks 'auto' repartitions through Kafka topics; use tasks 'single' or 'partition', or the Kafka source",
      )
    const source = custom({ topics: this.topology.sourceTopics, groupId: c.applicationId, logger: this.logger })
    if (c.guarantee === 'exactly-once' && !(source.commitTransaction && source.rejoin))
      refuseSource(
        'cannot commit its offsets in a Kafka transaction (commitTransaction, rejoin): exactly-once needs them',
      )
    return source
  }

  /** The input: the source of the user's, else a Kafka consumer group on the topology's and the internal topics. */
  #newSource(setup: EngineSetup, custom: SourceConnector | undefined): SourceConnector {
    const c = this.config
    const cp = this.checkpoints
    if (custom) return custom
    return new (this.#kafka as KafkaPlatform).KafkaSource({
      topics: setup.topics,
      groupId: c.applicationId,
      brokers: c.kafkaBrokers,
      pollRecords: c.pollRecords,
      maxInFlightBytes: c.maxInFlightBytes,
      prefetchKiB: c.prefetchKiB,
      logger: this.logger,
      ...(setup.assignmentStrategy && { assignmentStrategy: setup.assignmentStrategy }),
      rdkafka: {
        'session.timeout.ms': cp.sessionTimeoutMs,
        'heartbeat.interval.ms': Math.floor(cp.sessionTimeoutMs / 5),
        // records of aborted transactions (a fenced zombie's, a crashed instance's) are never read
        'isolation.level': 'read_committed',
      },
    })
  }

  #writers(): SinkWriters | undefined {
    return (this.#engine as { writers?: SinkWriters } | undefined)?.writers
  }

  /**
   * Drops the outputs waiting in the sink writers (not the writes in flight) and, until every task is dropped,
   * whatever the batch still in flight hands them (muted); aborts the open transaction.
   */
  #discardOutputs(): void {
    const writers = this.#writers()
    writers?.mute(true)
    const n = writers?.discard() ?? 0
    if (n > 0) this.logger.warn({ records: n }, `dropped ${n} output record(s) not yet written`)
    this.#tx
      ?.abort()
      .catch((e) => this.logger.warn({ err: (e as Error).message }, `abort failed: ${(e as Error).message}`))
  }

  /** Runs `fn` (revoking lost tasks) with every output it produces dropped, and aborts the open transaction. */
  async #dropOutputs(fn: () => Promise<void>): Promise<void> {
    this.#discardOutputs()
    await fn()
    await this.#tx?.abort()
  }

  /** Pauses the input while `work` (writes to the sinks) is pending past the threshold. */
  #track<T>(work: Promise<T>): Promise<T> {
    return this.#backpressure ? this.#backpressure.track(work) : work
  }

  /**
   * A bounded run read everything: commit (and checkpoint) as of the end offsets, then close every window, write
   * their results and stop. The commit comes first so that a later streaming run goes on from the end offsets
   * with the windows still open, not from state closed at the end of time.
   */
  async #endOfInput(): Promise<void> {
    const engine = this.#engine as Engine
    await this.#commit()
    this.#inputEnded = true
    await engine.endOfInput()
    await engine.flush()
    // the windows closed at the end of input: their Kafka outputs commit without offsets
    if (this.#tx) await this.#tx.commit([])
    const read = [...(this.#bounded as BoundedRun).endOffsets.values()].reduce((a, b) => a + b, 0)
    const { eventsIn, late, deadLetters, windowsEmitted } = engine.status().counters
    this.logger.info(
      { uptimeSeconds: this.#uptime(), eventsIn, late, deadLetters, windowsEmitted },
      `bounded run done: read up to the end offsets seen at start (${read} in all), closed every window, results written; stopping`,
    )
    void this.stop()
  }

  async #commit(): Promise<void> {
    if (this.#failure || !this.#engine || !this.#source || this.#inputEnded || this.#fenced) return
    if (this.#tx) return this.#commitTransaction(this.#tx)
    let offsets: TopicPartitionOffset[]
    if (!this.#checkpointer) {
      // what the offsets cover must be in the sinks before they are committed
      await this.#engine.flush()
      offsets = this.#engine.committable()
    } else {
      // Checkpoint first, then commit exactly what the checkpoint covers (never past it). A zombie (its session
      // expired, the group moved on) must not write a checkpoint older than its successor's: the guard asks the
      // group right before the write (#mayCheckpoint).
      const health = this.#checkpointHealth as CheckpointHealth
      try {
        const result = await this.#checkpointer.checkpoint()
        offsets = result.offsets
        this.#firstCheckpoint(result.written)
      } catch (e) {
        if (e instanceof CheckpointSkipped) return // checkpoint later
        const error = e instanceof Error ? e : new Error(String(e))
        health.failure(error, Date.now())
        this.logger.warn(
          { err: error.message, consecutiveFailures: health.consecutiveFailures },
          `checkpoint failed (${health.consecutiveFailures} in a row; nothing is committed until one succeeds), will retry: ${error.message}`,
        )
        return
      }
      if (health.consecutiveFailures > 0)
        this.logger.info(
          { failures: health.consecutiveFailures },
          `checkpoint succeeded again after ${health.consecutiveFailures} failure(s); committing`,
        )
      health.success(Date.now())
    }
    try {
      await this.#source.commit(offsets)
    } catch (e) {
      this.logger.warn({ err: (e as Error).message }, `offset commit failed, will retry: ${(e as Error).message}`)
    }
  }

  /**
   * Exactly-once: the checkpoint records (in the open transaction, with the outputs since the last commit), then
   * the offsets it covers, committed in the transaction with the consumer's group metadata. A stale generation
   * (a zombie) or any abort: the outputs are discarded with the transaction and the state that produced them is
   * dropped (rejoin, restore from the last committed checkpoint).
   */
  async #commitTransaction(tx: KafkaTransactions): Promise<void> {
    const source = this.#source as Required<Pick<SourceConnector, 'commitTransaction'>>
    const health = this.#checkpointHealth as CheckpointHealth
    try {
      const { offsets, written } = await (this.#checkpointer as TaskCheckpointer).checkpoint()
      await source.commitTransaction(tx, offsets)
      health.success(Date.now())
      this.#firstCheckpoint(written)
    } catch (e) {
      health.failure(e instanceof Error ? e : new Error(String(e)), Date.now())
      if (e instanceof (this.#kafka as KafkaPlatform).TransactionAbortedError) {
        this.#fence(e.fenced ? `transaction fenced by the group (${e.message})` : e.message)
        return
      }
      if ((e as Error).message.startsWith('Kafka transaction failed for good')) throw e
      // a checkpoint that could not be written: its records may be half in the transaction
      await tx.abort().catch(() => {})
      this.#fence(`checkpoint failed, transaction aborted (${(e as Error).message})`)
    }
  }

  /** Says once that this instance's state is durable: a crash from now on restores instead of starting fresh. */
  #firstCheckpoint(written: number): void {
    if (this.#checkpointWritten || written === 0) return
    this.#checkpointWritten = true
    this.logger.info({ tasks: written }, `first checkpoint written (${written} task(s)): a restart restores from it`)
  }

  #countDeadLetters(letters: readonly DeadLetter[]): void {
    this.#metrics.countDeadLetters(letters)
    for (const l of letters) this.#deadLetters.set(l.reason, (this.#deadLetters.get(l.reason) ?? 0) + 1)
  }

  #fail(e: unknown): void {
    if (this.#failure) return
    this.#failure = e instanceof Error ? e : new Error(String(e))
    this.logger.error(
      { err: this.#failure.message },
      `${this.topology.name} stopped: ${this.#failure.message}; nothing committed past the last durable output`,
    )
    void this.stop()
  }

  /**
   * Graceful stop: no more fetching, in-flight batches finish, sinks are flushed, offsets committed, the group
   * is left. No window fires early. Idempotent; resolves when done (`finished` gives the exit code).
   * If writes are still pending after `shutdownGraceMs` (a sink waiting out an outage), they are given up,
   * nothing more is committed and the exit code is 75 (`EXIT_OUTPUT_NOT_FLUSHED`): a restart re-reads the rest.
   */
  stop(): Promise<void> {
    this.#stopping ??= this.#stop()
    return this.#stopping
  }

  async #stop(): Promise<void> {
    if (this.#state === 'created') {
      this.#state = 'stopped'
      this.#finish(0)
      return
    }
    this.#state = 'stopping'
    this.logger.info(
      `stopping: finishing in-flight batches, flushing sinks, committing offsets, leaving the group (pending writes are given up after ${this.config.shutdownGraceMs / 1000} s)`,
    )
    this.#pipeline?.stopTimers()
    // No pause or resume from here on: the client rejects them once it disconnects.
    this.#backpressure?.stop()
    const errors: unknown[] = []
    const attempt = async (what: string, fn: () => Promise<unknown> | undefined) => {
      try {
        await fn()
      } catch (e) {
        errors.push(e)
        this.logger.warn({ err: (e as Error).message }, `${what} failed during shutdown: ${(e as Error).message}`)
      }
    }
    // Only the steps that wait for the sinks are bounded: the clients' own closing has timeouts of its own.
    const grace = setTimeout(() => this.#abandonOutput(), this.config.shutdownGraceMs)
    // Hands every partition over through onRevoked (a final commit) while still a member, then leaves.
    await attempt('leaving the consumer group', () => this.#source?.stop())
    if (!this.#failure) await attempt('flushing the sinks', () => this.#engine?.close())
    clearTimeout(grace)
    this.#pipeline?.close()
    if (!this.options.harness)
      for (const sink of this.#sinks()) await attempt(`closing sink ${sink.name}`, () => sink.close?.())
    await attempt('closing the DLQ producer', () => this.#dlq?.close?.())
    await attempt('closing the changelog producer', () => this.#checkpointer?.store.close?.())
    await attempt('closing the repartition producer', () => this.#setup?.close())
    await attempt('closing the transactional producer', () => this.#tx?.close())
    await attempt('closing the status server', () => this.#server?.close())
    this.#state = this.#failure ? 'failed' : 'stopped'
    const code = this.#failure instanceof OutputNotFlushedError ? EXIT_OUTPUT_NOT_FLUSHED : this.#failure ? 1 : 0
    if (!this.#failure)
      this.logger.info(
        { uptimeSeconds: this.#uptime(), peakRssMiB: Math.round(process.resourceUsage().maxRSS / 1024) },
        'stopped cleanly; offsets committed',
      )
    this.#finish(code)
  }

  /**
   * The stop's grace period expired with writes pending: from now on nothing is committed (the engine's state may
   * hold results that were never written, so no checkpoint either), and the sinks are closed, which makes their
   * retrying writes reject; the batches waiting on them fail, the source hands its partitions back and leaves
   * the group. The offsets committed before stay: everything below them is durable, the rest is read again by
   * the next start with the same application id.
   */
  #abandonOutput(): void {
    if (!this.#failure) {
      const down = (this.#backpressure?.sinks() ?? []).filter((s) => s.state === 'unavailable')
      const pending = down.length
        ? down.map((s) => `${s.name} unavailable: ${s.error ?? 'no reason given'}`).join('; ')
        : 'writes still pending'
      this.#failure = new OutputNotFlushedError(
        `output not flushed: stop gave up after the ${this.config.shutdownGraceMs / 1000} s grace period (SHUTDOWN_GRACE_MS) with ${pending}; offsets are committed only up to the last durable output, so the next start re-reads the rest`,
      )
      this.logger.error({ err: this.#failure.message }, this.#failure.message)
    }
    for (const sink of this.#sinks()) {
      // Closed again, awaited, further down the stop; here only the pending writes matter.
      Promise.resolve()
        .then(() => sink.close?.())
        .catch(() => {})
    }
  }

  /** The topology's sinks, each once (one sink object may end several streams). */
  #sinks(): Sink<unknown>[] {
    const sinks = new Set<Sink<unknown>>()
    for (const node of this.topology.nodes) if (node.kind === 'sink') sinks.add(node.sink)
    return [...sinks]
  }

  #uptime = () => (this.#startedAt ? Math.round((Date.now() - this.#startedAt) / 1000) : 0)

  /** The `/status` JSON: engine status, per-partition offsets, lag and watermarks, DLQ counts by reason. */
  status(): RunnerStatus {
    const now = Date.now()
    const degraded = this.#state === 'running' ? this.#checkpointHealth?.degradedReason(now) : undefined
    return runnerStatus({
      applicationId: this.config.applicationId,
      topology: this.topology.name,
      state: degraded ? 'degraded' : this.#state,
      ...(degraded && { reason: degraded }),
      ...(this.#checkpointHealth && { checkpoints: this.#checkpointHealth.status(now) }),
      uptimeSeconds: this.#uptime(),
      engine: this.#engine?.status(),
      partitions: this.#source?.partitions() ?? [],
      deadLetters: Object.fromEntries(this.#deadLetters),
      paused: this.#backpressure?.paused ?? false,
      pauses: this.#backpressure?.pauses ?? 0,
      sinks: this.#backpressure?.sinks() ?? [],
      ...(this.#failure && { error: this.#failure.message }),
    })
  }
}

/**
 * Without checkpoints a restart replays from `engine.committable()` with the watermark back at -infinity: records
 * after that offset that belonged to a window already fired and purged rebuild it from part of its records, and
 * its partial result overwrites the complete one. So a topology with windows needs checkpoints; a stateless one
 * (map/filter to a sink) replays exactly from its committed offsets.
 */
function refuseReplayWithoutCheckpoints(topology: Topology, checkpoints: CheckpointConfig): void {
  if (checkpoints.enabled) return
  const windows = topology.nodes
    .filter((n) => ['window', 'join', 'tableJoin', 'tableAggregate', 'process'].includes(n.kind))
    .map((n) => n.name)
  if (windows.length === 0) return
  throw new ConfigError(
    `CHECKPOINTS=off cannot run topology "${topology.name}": it has windows (${windows.join(', ')}), and a restart without checkpoints would rebuild a window that already fired from part of its records and overwrite its complete result; set CHECKPOINTS=on (the default) or unset CHECKPOINTS`,
  )
}

/** One line per keyBy: how its input reaches its window's tasks. */
function describeTasks(setup: EngineSetup, tasks: TaskMode): string[] {
  return setup.partitioning.map((k) => {
    const topic = setup.repartitionTopics.find((t) => t.keyBy === k.keyBy)
    if (topic) return `${k.keyBy}: repartitioned via ${topic.topic} (${topic.partitions} partitions; ${k.reason})`
    if (tasks === 'auto' || tasks === 'partition') return `${k.keyBy}: co-partitioned, a task per partition number`
    if (tasks === 'single') return `${k.keyBy}: one task for every partition (TASKS=single: exact on one instance)`
    return `${k.keyBy}: tasks from a custom grouping`
  })
}

/** Refuses a source of the user's (option `source`) for this run, with a one-line ConfigError. */
function refuseSource(why: string): never {
  throw Object.assign(new Error(`a source of your own (option source) ${why}`), { name: 'ConfigError' })
}

/**
 * Creates a {@link Runner} for a topology (not started). Config: `options.config`, then the environment.
 *
 * @example
 * const runner = createRunner(app.build(), { tasks: 'auto', config: { port: 0 } })
 * await runner.start()
 */
export function createRunner(topology: Topology, options: RunnerOptions = {}): Runner {
  return new Runner(topology, options)
}
