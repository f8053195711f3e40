import pino from 'pino'
import { filter, interval, map, merge, Subject, type Subscription, tap } from 'rxjs'
import { concatMap } from 'rxjs/operators'
import { ensureTopics } from '../connectors/kafka/admin.js'
import { setDefaultKafkaBrokers } from '../connectors/kafka/client.js'
import { deadLetterTopic, kafkaDeadLetterSink } from '../connectors/kafka/dead-letter-sink.js'
import { KafkaSource } from '../connectors/kafka/kafka-source.js'
import { setDefaultRedisUrl } from '../connectors/redis/connection.js'
import { sinkHealthOf } from '../connectors/sink-health.js'
import type { DeadLetter, InputBatch, Sink, TopicPartition, TopicPartitionOffset } from '../connectors/types.js'
import type { Topology } from '../graph/topology.js'
import type { Clock, Engine } from '../runtime/types.js'
import { Backpressure, pauseAfterMsFromEnv } from './backpressure.js'
import { BoundedRun } from './bounded-run.js'
import { type CheckpointConfig, loadCheckpointConfig } from './checkpoint-config.js'
import { loadConfig, type RunnerConfig } from './config.js'
import { type EngineSetup, setupEngine, type TaskCheckpointer, type TaskMode } from './engine-setup.js'
import { type StatusServer, startStatusServer } from './http-server.js'
import { createRunnerMetrics, type RunnerMetrics } from './metrics.js'
import { checkKafka, checkRedis, safeUrl } from './preflight.js'
import { EXIT_OUTPUT_NOT_FLUSHED, OutputNotFlushedError } from './shutdown.js'
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
  /**
   * A bounded run (`pnpm job --until-end`): read every source partition up to the end offset it had at start,
   * then close every window as if the watermark reached the end of time, write, and stop (exit 0). Offsets and
   * checkpoints are committed as of the end offsets, before the windows are closed, so a later streaming run of
   * the same application id goes on from there with its windows still open. One instance only.
   */
  readonly untilEnd?: boolean
}

type Work =
  | { readonly kind: 'batches'; readonly batches: readonly InputBatch[] }
  | { readonly kind: 'tick' | 'commit' }
  | { readonly kind: 'assign'; readonly partitions: readonly TopicPartition[] }
  | { readonly kind: 'revoke'; readonly partitions: readonly TopicPartition[]; readonly lost: boolean }
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
  #bounded: BoundedRun | undefined
  /** A bounded run has read everything and closed its windows: nothing more is processed or committed. */
  #inputEnded = false
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
        onResultLatency: (sink, ms, results) => this.#metrics.resultLatency(sink, ms, results),
        ...(this.options.clock && { clock: this.options.clock }),
        caughtUp: (tp, now) => this.#source?.caughtUp(tp, now) ?? false,
      },
    })
    this.#engine = this.#setup.engine
    this.#checkpointer = this.#setup.checkpointer
    if (this.options.untilEnd) {
      this.#bounded = await BoundedRun.start({
        sources: this.topology.sourceTopics,
        repartitionTopics: this.#setup.repartitionTopics.map((t) => t.topic),
        brokers: c.kafkaBrokers,
      })
      const total = [...this.#bounded.endOffsets.values()].reduce((a, b) => a + b, 0)
      this.logger.info({ endOffsets: total }, `bounded run: reading up to the end offsets seen now (${total} in all)`)
    }
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
      pollRecords: c.pollRecords,
      maxInFlightBytes: c.maxInFlightBytes,
      prefetchKiB: c.prefetchKiB,
      logger: this.logger,
      ...(this.#setup.assignmentStrategy && { assignmentStrategy: this.#setup.assignmentStrategy }),
      rdkafka: {
        'session.timeout.ms': cp.sessionTimeoutMs,
        'heartbeat.interval.ms': Math.floor(cp.sessionTimeoutMs / 5),
      },
    })
    const source = this.#source
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
    await this.#source.start({
      onBatches: (batches) => this.#enqueue({ kind: 'batches', batches }),
      onAssigned: async (partitions) => {
        const assigned = this.#enqueue({ kind: 'assign', partitions })
        // The client applies the assignment once this resolves, unpaused: pause them too if the input is paused.
        assigned.then(
          () => setTimeout(() => this.#backpressure?.assigned(partitions), 0),
          () => {},
        )
        await assigned
        return undefined
      },
      onRevoked: (partitions, info) => this.#enqueue({ kind: 'revoke', partitions, lost: info?.lost ?? false }),
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
        case 'batches': {
          if (this.#failure) throw this.#failure
          if (this.#inputEnded) break
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
          this.#tickQueued = false
          if (this.#failure || this.#state !== 'running' || this.#inputEnded) break
          await this.#track(engine.tick())
          if (this.#bounded && (await this.#bounded.reached(this.#source!.partitions(), () => engine.flush())))
            await this.#endOfInput()
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
          // revoking would let the watermark jump past the partitions we drop and fire windows early. A lost
          // assignment is someone else's already: nothing is checkpointed or committed for it.
          if (work.lost)
            this.logger.warn(
              { partitions: work.partitions.length },
              'assignment lost: dropping its tasks without a commit',
            )
          else await this.#commit()
          if (!this.#stopping) await engine.revoke(work.partitions)
          break
      }
      done?.resolve()
    } catch (e) {
      done?.reject(e)
      this.#fail(e)
    }
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
    const read = [...(this.#bounded as BoundedRun).endOffsets.values()].reduce((a, b) => a + b, 0)
    this.logger.info(
      { uptimeSeconds: this.#uptime() },
      `bounded run done: read up to the end offsets seen at start (${read} in all), closed every window, results written; stopping`,
    )
    void this.stop()
  }

  async #commit(): Promise<void> {
    if (this.#failure || !this.#engine || !this.#source || this.#inputEnded) return
    let offsets: TopicPartitionOffset[]
    if (!this.#checkpointer) {
      // what the offsets cover must be in the sinks before they are committed
      await this.#engine.flush()
      offsets = this.#engine.committable()
    } else {
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
    // Only the steps that wait for the sinks are bounded: the clients' own closing has timeouts of its own.
    const grace = setTimeout(() => this.#abandonOutput(), this.config.shutdownGraceMs)
    // Hands every partition over through onRevoked (a final commit) while still a member, then leaves.
    await attempt('leaving the consumer group', () => this.#source?.stop())
    if (!this.#failure) await attempt('flushing the sinks', () => this.#engine?.close())
    clearTimeout(grace)
    this.#jobs.complete()
    for (const s of this.#subscriptions) s.unsubscribe()
    for (const node of this.topology.nodes)
      if (node.kind === 'sink') await attempt(`closing sink ${node.sink.name}`, () => node.sink.close?.())
    await attempt('closing the DLQ producer', () => this.#dlq?.close?.())
    await attempt('closing the changelog producer', () => this.#checkpointer?.store.close?.())
    await attempt('closing the repartition producer', () => this.#setup?.close())
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
    for (const node of this.topology.nodes) {
      if (node.kind !== 'sink') continue
      // Closed again, awaited, further down the stop; here only the pending writes matter.
      Promise.resolve()
        .then(() => node.sink.close?.())
        .catch(() => {})
    }
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
