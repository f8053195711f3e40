/**
 * The runtime's one RxJS pipeline: everything that changes a job's state (a poll's batches, a tick of the wall
 * clock, a commit with its checkpoint, an assignment, a revocation) is one stream of work items, run one at a
 * time in arrival order by `concatMap`. So a slow sink holds everything behind it (backpressure), a commit never
 * overlaps a batch, and a rebalance sees the state of every batch before it. Per-record work stays a plain loop
 * inside a batch (the engine's `processAll`): the stream carries batches and markers, never one item per record.
 *
 * The runner feeds it from its source's callbacks and two timers; the test driver runs the same pipeline with a
 * virtual-time scheduler, so its ticks and commits are the runner's own.
 */
import {
  asyncScheduler,
  concatMap,
  filter,
  interval,
  map,
  merge,
  type SchedulerLike,
  Subject,
  type Subscription,
  tap,
} from 'rxjs'
import type { InputBatch, TopicPartition, TopicPartitionOffset } from '../connectors/types.js'

/** One item of work for the pipeline. */
export type Work =
  | { readonly kind: 'batches'; readonly batches: readonly InputBatch[] }
  /** The wall clock moved: idleness, the all-idle advance, firing. */
  | { readonly kind: 'tick' }
  /** Commit the offsets (with a checkpoint of the state, when checkpoints are on). */
  | { readonly kind: 'commit' }
  /** Everything handed to the sinks so far becomes durable (the test driver's view after each call). */
  | { readonly kind: 'flush' }
  | {
      readonly kind: 'assign'
      readonly partitions: readonly TopicPartition[]
      /** Filled by the restore: where to read partitions from instead of the committed offsets. */
      readonly starts: TopicPartitionOffset[]
    }
  | { readonly kind: 'revoke'; readonly partitions: readonly TopicPartition[]; readonly lost: boolean }

type Job = { readonly work: Work; readonly done?: { resolve(): void; reject(e: unknown): void } }

/** Timers of a {@link WorkPipeline}. */
export type PipelineTimers = {
  /** A tick every this many ms. */
  readonly tickMs: number
  /** A commit every this many ms. */
  readonly commitMs: number
  /** Called on every tick of the timer, before the tick is queued (the runner's freeze detection). */
  readonly onBeat?: () => void
  /** Where the timers run (default RxJS's `asyncScheduler`; the test driver's runs on virtual time). */
  readonly scheduler?: SchedulerLike
}

/**
 * Work items in, run one at a time. A tick or a commit from the timers is queued only if none is waiting
 * already: a slow operation gets one tick after it, not a backlog of them.
 *
 * @example
 * const pipeline = new WorkPipeline((work) => execute(work), { tickMs: 200, commitMs: 5000 })
 * pipeline.start()
 * await pipeline.submit({ kind: 'batches', batches })
 */
export class WorkPipeline {
  readonly #jobs = new Subject<Job>()
  #running: Subscription | undefined
  #timers: Subscription | undefined
  #tickQueued = false
  #commitQueued = false
  #closed = false

  constructor(
    private readonly execute: (work: Work) => Promise<void>,
    private readonly timers: PipelineTimers,
  ) {}

  /** Starts running work, and the tick and commit timers. */
  start(): void {
    this.#running = this.#jobs.pipe(concatMap((job) => this.#run(job))).subscribe()
    const t = this.timers
    const scheduler = t.scheduler ?? asyncScheduler
    this.#timers = merge(
      interval(t.tickMs, scheduler).pipe(
        tap(() => t.onBeat?.()),
        filter(() => !this.#tickQueued),
        tap(() => {
          this.#tickQueued = true
        }),
        map((): Work => ({ kind: 'tick' })),
      ),
      interval(t.commitMs, scheduler).pipe(
        filter(() => !this.#commitQueued),
        tap(() => {
          this.#commitQueued = true
        }),
        map((): Work => ({ kind: 'commit' })),
      ),
    ).subscribe((work) => this.#jobs.next({ work }))
  }

  /** Queues work; resolves once it ran, rejects with its error (at once once the pipeline is closed). */
  submit(work: Work): Promise<void> {
    if (this.#closed) return Promise.reject(new Error(`the pipeline is closed: ${work.kind} not run`))
    return new Promise((resolve, reject) => this.#jobs.next({ work, done: { resolve, reject } }))
  }

  /** Stops the timers: no more ticks or commits (work submitted still runs). */
  stopTimers(): void {
    this.#timers?.unsubscribe()
  }

  /** Stops everything: the timers, and work not yet started is never run. */
  close(): void {
    this.#closed = true
    this.stopTimers()
    this.#jobs.complete()
    this.#running?.unsubscribe()
  }

  async #run({ work, done }: Job): Promise<void> {
    if (work.kind === 'tick') this.#tickQueued = false
    else if (work.kind === 'commit') this.#commitQueued = false
    try {
      await this.execute(work)
      done?.resolve()
    } catch (e) {
      // the executor reports its own failures (the runner fails and stops); the submitter hears of it too
      done?.reject(e)
    }
  }
}
