/**
 * The checkpointer of a staged engine (repartitioned input): one {@link Checkpointer} per side and task, in one
 * store, with the same commit order.
 */
import type { TopicPartition, TopicPartitionOffset } from '../connectors/types.js'
import type { StagedEngine } from '../runtime/repartition/staged-engine.js'
import type { Engine } from '../runtime/types.js'
import type { CheckpointStore } from './checkpoint.js'
import {
  Checkpointer,
  type CheckpointGuard,
  type CheckpointResult,
  type InvalidCheckpointHandler,
  type RestoreResult,
} from './checkpointer.js'

type Logger = ConstructorParameters<typeof Checkpointer>[2]

/**
 * Checkpoints a {@link StagedEngine}: the upstream side's tasks (position and W(p) of each source partition, so
 * a new owner sends the same `origin.before` values) and each repartition task (windows, the watermark state of
 * every origin partition, the origin offsets seen for dropping duplicates, its input position), all in one store.
 */
export class StagedCheckpointer {
  readonly #upstream: Checkpointer
  readonly #tasks = new Map<Engine, Checkpointer>()
  #guard: CheckpointGuard | undefined
  #incremental = false

  /** Incremental checkpoints for every stage's tasks (see {@link Checkpointer.incremental}). */
  get incremental(): boolean {
    return this.#incremental
  }
  set incremental(on: boolean) {
    this.#incremental = on
    this.#upstream.incremental = on
    for (const cp of this.#tasks.values()) cp.incremental = on
  }

  /** Asked right before each write (see {@link Checkpointer.guard}). */
  get guard(): CheckpointGuard | undefined {
    return this.#guard
  }
  set guard(g: CheckpointGuard | undefined) {
    this.#guard = g
    this.#upstream.guard = g
    for (const cp of this.#tasks.values()) cp.guard = g
  }

  constructor(
    private readonly engine: StagedEngine,
    readonly store: CheckpointStore,
    private readonly logger?: Logger,
    onInvalid?: InvalidCheckpointHandler,
  ) {
    this.#upstream = new Checkpointer(engine.upstream, store, logger, onInvalid)
  }

  #of(e: Engine): Checkpointer {
    let cp = this.#tasks.get(e)
    if (!cp) {
      cp = new Checkpointer(e, this.store, this.logger)
      cp.guard = this.#guard
      cp.incremental = this.#incremental
      this.#tasks.set(e, cp)
    }
    return cp
  }

  /** Checkpoints every task; returns the offsets (sources and repartition partitions) now safe to commit. */
  async checkpoint(): Promise<CheckpointResult> {
    const started = performance.now()
    const live: Engine[] = [...this.engine.downstream.values()]
    for (const e of this.#tasks.keys()) if (!live.includes(e)) this.#tasks.delete(e)
    // Commit order as in Checkpointer.checkpoint, across the stages: 1. flush every sink of every stage (the
    // source offsets an upstream checkpoint covers may be committed only once what they routed is durable);
    // then each stage's snapshot + changelog write, upstream first, then each repartition task; the caller commits
    // the offsets of all of them (sources and repartition partitions) only after this resolves.
    await this.engine.flush()
    const results = [await this.#upstream.checkpoint()]
    for (const e of this.engine.downstream.values()) results.push(await this.#of(e).checkpoint())
    const offsets: TopicPartitionOffset[] = results.flatMap((r) => r.offsets)
    return { offsets, written: results.reduce((n, r) => n + r.written, 0), ms: performance.now() - started }
  }

  /** Restores the tasks of newly assigned partitions before their first record. */
  async restore(partitions: readonly TopicPartition[]): Promise<RestoreResult> {
    const started = performance.now()
    const sources = partitions.filter((tp) => !this.engine.isRepartition(tp.topic))
    const arriving = partitions.filter(
      (tp) => this.engine.isRepartition(tp.topic) && !this.engine.downstream.has(`${tp.topic}:${tp.partition}`),
    )
    // one pass over the changelog for every task that may arrive (a rebalance can bring many)
    const up = this.engine.upstream.tasks
    const ids = [
      ...new Set(sources.map((tp) => up.taskIds[up.taskIndex(tp)] as string)),
      ...arriving.map((tp) => `${tp.topic}-${tp.partition}`),
    ]
    const found = await this.#upstream.read(ids)
    const results: RestoreResult[] = []
    if (sources.length > 0) results.push(await this.#upstream.restore(sources, found))
    for (const tp of arriving) results.push(await this.#of(this.engine.downstreamOf(tp)).restore([tp], found))
    return {
      restored: results.flatMap((r) => r.restored),
      fresh: results.flatMap((r) => r.fresh),
      ms: performance.now() - started,
      seek: results.flatMap((r) => r.seek),
    }
  }
}
