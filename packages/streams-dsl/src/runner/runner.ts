import pino from 'pino'
import { filter, interval, map, merge, Subject, type Subscription, tap } from 'rxjs'
import { concatMap } from 'rxjs/operators'
import { ensureTopics } from '../connectors/kafka/admin.js'
import { setDefaultKafkaBrokers } from '../connectors/kafka/client.js'
import { deadLetterTopic, kafkaDeadLetterSink } from '../connectors/kafka/dead-letter-sink.js'
import { KafkaSource } from '../connectors/kafka/kafka-source.js'
import { setDefaultRedisUrl } from '../connectors/redis/connection.js'
import { sinkHealthOf } from '../connectors/sink-health.js'
import type { DeadLetter, InputBatch, Sink, TopicPartition } from '../connectors/types.js'
import type { Topology } from '../graph/topology.js'
import type { Clock, Engine } from '../runtime/types.js'
import { Backpressure, pauseAfterMsFromEnv } from './backpressure.js'
import { type CheckpointConfig, loadCheckpointConfig } from './checkpoint-config.js'
import { loadConfig, type RunnerConfig } from './config.js'
import { type EngineSetup, setupEngine, type TaskCheckpointer, type TaskMode } from './engine-setup.js'
import { type StatusServer, startStatusServer } from './http-server.js'
import { createRunnerMetrics, type RunnerMetrics } from './metrics.js'
import { checkKafka, checkRedis, safeUrl } from './preflight.js'
import { type RunnerStatus, runnerStatus } from './status.js'

/** Options of {@link createRunner}; everything but the topology is optional. */
export type RunnerOptions = {
  /** Settings; missing ones come from the environment (see `loadConfig`). */
  readonly config?: Partial<RunnerConfig>
  readonly env?: Readonly<Record<string, string | undefined>>
  /**
   * How partitions group into tasks (default `'single'`): `'auto'` repartitions each keyBy's input through an
   * internal topic unless it is declared co-partitioned, so several instances share any input exactly;
   * `'partition'` for co-partitioned input; `'single'` for one instance and any input.
   */
  readonly tasks?: TaskMode
  /** Check that Redis answers before starting (default true: most topologies write to it). */
  readonly requireRedis?: boolean
  readonly clock?: Clock
  readonly logger?: pino.Logger
  /** Checkpoint settings; missing ones come from the environment (see `loadCheckpointConfig`). */
  readonly checkpoints?: Partial<CheckpointConfig>
  /** Pause the input once a batch's writes have been pending this long (default `PAUSE_AFTER_MS`, else 1000). */
  readonly pauseAfterMs?: number
}

type Work =
  | { readonly kind: 'batch'; readonly batch: InputBatch }
  | { readonly kind: 'tick' | 'commit' }
  | { readonly kind: 'assign' | 'revoke'; readonly partitions: readonly TopicPartition[] }
type Job = { readonly work: Work; readonly done?: { resolve(): void; reject(e: unknown): void } }

/** Lifecycle of a runner. */
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
  readonly config: RunnerConfig
  /** Checkpointing and group settings (`CHECKPOINTS`, `CHECKPOINT_INTERVAL_MS`, `KAFKA_SESSION_TIMEOUT_MS`). */
  readonly checkpoints: CheckpointConfig
  readonly logger: pino.Logger
  /** Resolves with the exit code once the runner has stopped (0 after a clean stop). */
  readonly finished: Promise<number>
  #finish!: (code: number) => void
  #state: RunnerState = 'created'
  #startedAt = 0
  #engine: Engine | undefined
  #checkpointer: TaskCheckpointer | undefined
  #setup: EngineSetup | undefined
  #source: KafkaSource | undefined
  #backpressure: Backpressure | undefined
  #dlq: Sink<DeadLetter> | undefined
  #server: StatusServer | undefined
  #metrics: RunnerMetrics
  #jobs = new Subject<Job>()
  #subscriptions: Subscription[] = []
  #tickQueued = false
  #commitQueued = false
  #failure: Error | undefined
  #stopping: Promise<void> | undefined
  readonly #deadLetters = new Map<string, number>()

  constructor(
    readonly topology: Topology,
    readonly options: RunnerOptions = {},
  ) {
    const fromEnv = loadConfig(options.env ?? process.env, { applicationId: topology.name })
    this.config = { ...fromEnv, ...options.config }
    this.checkpoints = { ...loadCheckpointConfig(options.env ?? process.env), ...options.checkpoints }
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
      },
      { application: this.config.applicationId },
    )
  }

  get state(): RunnerState {
    return this.#state
  }

  /** The port `/metrics` and `/status` listen on (useful with port 0). */
  get port(): number | undefined {
    return this.#server?.port
  }

  /** The engine, once started (tests read its status). */
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
    const c = this.config
    setDefaultKafkaBrokers(c.kafkaBrokers)
    setDefaultRedisUrl(c.redisUrl)
    await checkKafka(c.kafkaBrokers)
    if (this.options.requireRedis !== false) await checkRedis(c.redisUrl)
    await ensureTopics([{ topic: deadLetterTopic(c.applicationId), partitions: 3 }], c.kafkaBrokers)

    this.#dlq = kafkaDeadLetterSink({
      applicationId: c.applicationId,
      brokers: c.kafkaBrokers,
      logger: this.logger,
      onWritten: (letters) => this.#countDeadLetters(letters),
    })
    const cp = this.checkpoints
    this.#setup = await setupEngine(this.topology, {
      tasks: this.options.tasks ?? 'single',
      applicationId: c.applicationId,
      brokers: c.kafkaBrokers,
      checkpoints: cp,
      logger: this.logger,
      engine: {
        deadLetters: this.#dlq,
        wrapSink: (s) => this.#metrics.wrapSink(s),
        ...(this.options.clock && { clock: this.options.clock }),
        backlog: (tp) => this.#backlogged(tp),
      },
    })
    this.#engine = this.#setup.engine
    this.#checkpointer = this.#setup.checkpointer
    for (const line of describeTasks(this.#setup, this.options.tasks ?? 'single')) this.logger.info(line)
    try {
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

    this.#subscriptions.push(
      this.#jobs.pipe(concatMap((job) => this.#execute(job))).subscribe(),
      merge(
        interval(c.tickIntervalMs).pipe(
          filter(() => !this.#tickQueued),
          tap(() => {
            this.#tickQueued = true
          }),
          map((): Work => ({ kind: 'tick' })),
        ),
        interval(cp.enabled ? cp.intervalMs : c.commitIntervalMs).pipe(
          filter(() => !this.#commitQueued),
          tap(() => {
            this.#commitQueued = true
          }),
          map((): Work => ({ kind: 'commit' })),
        ),
      ).subscribe((work) => this.#jobs.next({ work })),
    )

    this.#source = new KafkaSource({
      topics: this.#setup.topics,
      groupId: c.applicationId,
      brokers: c.kafkaBrokers,
      maxBatchSize: c.batchSize,
      concurrency: c.concurrency,
      logger: this.logger,
      ...(this.#setup.assignmentStrategy && { assignmentStrategy: this.#setup.assignmentStrategy }),
      rdkafka: {
        'session.timeout.ms': cp.sessionTimeoutMs,
        'heartbeat.interval.ms': Math.floor(cp.sessionTimeoutMs / 5),
      },
    })
    const source = this.#source
    this.#backpressure = new Backpressure({
      source,
      partitions: () => source.partitions(),
      thresholdMs: this.options.pauseAfterMs ?? pauseAfterMsFromEnv(this.options.env ?? process.env) ?? 1000,
      logger: this.logger,
    })
    for (const node of this.topology.nodes) {
      const health = node.kind === 'sink' ? sinkHealthOf(node.sink) : undefined
      if (health && node.kind === 'sink') this.#backpressure.watch(node.sink.name, health)
    }
    this.#startedAt = Date.now()
    await this.#source.start({
      onBatch: (batch) => this.#enqueue({ kind: 'batch', batch }),
      onAssigned: (partitions) => {
        const assigned = this.#enqueue({ kind: 'assign', partitions })
        // The client applies the assignment once this resolves, unpaused: pause them too if the input is paused.
        assigned.then(
          () => setTimeout(() => this.#backpressure?.assigned(partitions), 0),
          () => {},
        )
        return assigned
      },
      onRevoked: (partitions) => this.#enqueue({ kind: 'revoke', partitions }),
    })
    this.#state = 'running'
    this.logger.info(
      {
        topics: this.topology.sourceTopics,
        kafka: c.kafkaBrokers,
        redis: safeUrl(c.redisUrl),
        port: this.port,
        dlq: deadLetterTopic(c.applicationId),
      },
      `${this.topology.name} running as ${c.applicationId}: reading ${this.topology.sourceTopics.join(', ')}; /status and /metrics on port ${this.port}`,
    )
  }

  #enqueue(work: Work): Promise<void> {
    return new Promise((resolve, reject) => this.#jobs.next({ work, done: { resolve, reject } }))
  }

  async #execute({ work, done }: Job): Promise<void> {
    try {
      const engine = this.#engine!
      switch (work.kind) {
        case 'batch': {
          if (this.#failure) throw this.#failure
          this.#metrics.batchSize.observe(work.batch.records.length)
          const end = this.#metrics.batchSeconds.startTimer()
          await this.#track(engine.process(work.batch))
          end()
          break
        }
        case 'tick':
          this.#tickQueued = false
          if (!this.#failure && this.#state === 'running') await this.#track(engine.tick())
          break
        case 'commit':
          this.#commitQueued = false
          await this.#commit()
          break
        case 'assign':
          // Restore the tasks' window and watermark state before their first record.
          if (this.#checkpointer) await this.#checkpointer.restore(work.partitions)
          await engine.assign(work.partitions)
          break
        case 'revoke':
          // Commit what these partitions produced while we still own them. At shutdown that is all we do:
          // revoking would let the watermark jump past the partitions we drop and fire windows early.
          await this.#commit()
          if (!this.#stopping) await engine.revoke(work.partitions)
          break
      }
      done?.resolve()
    } catch (e) {
      done?.reject(e)
      this.#fail(e)
    }
  }

  /**
   * A partition with records waiting to be read is not idle (CONTRACTS.md §2's idleness is about traffic, not
   * about a consumer that is behind or a partition waiting for its turn). More than one record: a transaction's
   * commit marker takes an offset no batch delivers.
   */
  #backlogged(tp: { topic: string; partition: number }): boolean {
    return (this.#source?.backlog(tp) ?? 0) > 1
  }

  /** Pauses the input while `work` (writes to the sinks) is pending past the threshold. */
  #track<T>(work: Promise<T>): Promise<T> {
    return this.#backpressure ? this.#backpressure.track(work) : work
  }

  async #commit(): Promise<void> {
    if (this.#failure || !this.#engine || !this.#source) return
    let offsets = this.#engine.committable()
    if (this.#checkpointer) {
      // Checkpoint first, then commit exactly what the checkpoint covers (never past it).
      try {
        offsets = (await this.#checkpointer.checkpoint()).offsets
      } catch (e) {
        this.logger.warn({ err: (e as Error).message }, `checkpoint failed, will retry: ${(e as Error).message}`)
        return
      }
    }
    try {
      await this.#source.commit(offsets)
    } catch (e) {
      this.logger.warn({ err: (e as Error).message }, `offset commit failed, will retry: ${(e as Error).message}`)
    }
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
    this.logger.info('stopping: finishing in-flight batches, flushing sinks, committing offsets, leaving the group')
    this.#subscriptions[1]?.unsubscribe()
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
    // Hands every partition over through onRevoked (a final commit) while still a member, then leaves.
    await attempt('leaving the consumer group', () => this.#source?.stop())
    if (!this.#failure) await attempt('flushing the sinks', () => this.#engine?.close())
    this.#jobs.complete()
    for (const s of this.#subscriptions) s.unsubscribe()
    for (const node of this.topology.nodes)
      if (node.kind === 'sink') await attempt(`closing sink ${node.sink.name}`, () => node.sink.close?.())
    await attempt('closing the DLQ producer', () => this.#dlq?.close?.())
    await attempt('closing the changelog producer', () => this.#checkpointer?.store.close?.())
    await attempt('closing the repartition producer', () => this.#setup?.close())
    await attempt('closing the status server', () => this.#server?.close())
    this.#state = this.#failure ? 'failed' : 'stopped'
    const code = this.#failure ? 1 : 0
    if (!this.#failure) this.logger.info({ uptimeSeconds: this.#uptime() }, 'stopped cleanly; offsets committed')
    this.#finish(code)
  }

  #uptime = () => (this.#startedAt ? Math.round((Date.now() - this.#startedAt) / 1000) : 0)

  /** The `/status` JSON: engine status, per-partition offsets, lag and watermarks, DLQ counts by reason. */
  status(): RunnerStatus {
    return runnerStatus({
      applicationId: this.config.applicationId,
      topology: this.topology.name,
      state: this.#state,
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

/**
 * Creates a {@link Runner} for a topology (not started). Config: `options.config`, then the environment.
 *
 * @example
 * const runner = createRunner(ctrTopology(), { tasks: 'partition' })
 * await runner.start()
 */
export function createRunner(topology: Topology, options: RunnerOptions = {}): Runner {
  return new Runner(topology, options)
}
