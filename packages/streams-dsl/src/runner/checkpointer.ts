import type { TopicPartition, TopicPartitionOffset } from '../connectors/types.js'
import { EngineCore } from '../runtime/engine.js'
import { takeSnapshot } from '../runtime/snapshot.js'
import type { Engine, EngineSnapshot, TaskSnapshot } from '../runtime/types.js'
import type { CheckpointStore, TaskCheckpoint } from '../state/checkpoint.js'

/** The two log calls the checkpointer makes (pino's shape). */
type Logger = { info(obj: object, msg: string): void; warn(obj: object, msg: string): void }

/** What one {@link Checkpointer.checkpoint} did. */
export type CheckpointResult = {
  /** Per partition, the next offset the written checkpoints cover: safe to commit to the consumer group. */
  readonly offsets: TopicPartitionOffset[]
  /** Tasks written (unchanged tasks are not written again). */
  readonly written: number
  /** Bytes handed to the store are not known here; wall time of snapshot + write, ms. */
  readonly ms: number
}

/** What one {@link Checkpointer.restore} did. */
export type RestoreResult = { readonly restored: string[]; readonly fresh: string[]; readonly ms: number }

const finiteOr = (n: number, fallback: number | null): number | null => (Number.isFinite(n) ? n : fallback)

/**
 * Checkpoints an engine's tasks to a {@link CheckpointStore} and restores them when their partitions are assigned,
 * so results stay exact across crashes, rebalances and scale-out.
 *
 * Order of a checkpoint (call it between engine operations, never during one):
 * 1. every output of the records processed so far is already durable (`engine.process` resolves only then);
 * 2. snapshot each task: window state + per-partition watermark state (maxEventTime) + next offsets;
 * 3. write the changed tasks to the store and wait until durable;
 * 4. only then the caller commits the returned offsets (never past a checkpoint).
 *
 * On assign, the newest checkpoint of each task is restored before its first record; records below a restored
 * partition's next offset are skipped by the engine, so a consumer that starts from an older committed offset
 * (a crash between steps 3 and 4) replays nothing twice.
 *
 * @example
 * const cp = new Checkpointer(engine, new MemoryCheckpointStore())
 * await cp.restore(assigned)            // in onAssigned, before the engine sees a batch
 * const { offsets } = await cp.checkpoint() // every few seconds and on revoke
 * await source.commit(offsets)
 */
export class Checkpointer {
  readonly #engine: EngineCore
  /** Per task, what was last written (skip tasks that did not change). */
  readonly #written = new Map<string, string>()

  constructor(
    engine: Engine,
    readonly store: CheckpointStore,
    private readonly logger?: Logger,
  ) {
    if (!(engine instanceof EngineCore)) throw new Error('Checkpointer needs an engine made by createEngine()')
    this.#engine = engine
  }

  /**
   * Snapshots every task, writes the changed ones, returns the offsets now safe to commit. Await it before the
   * engine's next operation.
   */
  async checkpoint(): Promise<CheckpointResult> {
    const started = performance.now()
    // 1. everything the processed records produced must be durable before the state that produced it is
    await this.#engine.flush()
    // No copy of the accumulators: the store serialises them before this resolves, and the caller awaits it
    // before the engine's next operation (the runner's queue does).
    const s = takeSnapshot(this.#engine, false)
    const writtenAt = Date.now()
    const todo: { cp: TaskCheckpoint; signature: string }[] = []
    const offsets: TopicPartitionOffset[] = []
    for (const task of s.tasks) {
      if (task.partitions.length === 0) continue // state of a task we no longer own: not ours to write
      const signature = signatureOf(s, task)
      if (this.#written.get(task.id) !== signature) {
        todo.push({
          signature,
          cp: {
            version: 1,
            topology: s.topology,
            taskId: task.id,
            watermark: s.watermark,
            maxEventTime: s.maxEventTime,
            lastEventWallTime: s.lastEventWallTime,
            writtenAt,
            task,
          },
        })
      }
      for (const p of task.partitions)
        if (p.nextOffset !== null && !p.origin)
          offsets.push({ topic: p.topic, partition: p.partition, offset: p.nextOffset })
    }
    if (todo.length > 0) await this.store.write(todo.map((t) => t.cp))
    for (const t of todo) this.#written.set(t.cp.taskId, t.signature)
    return { offsets, written: todo.length, ms: performance.now() - started }
  }

  /**
   * Loads the newest checkpoint of every task the given (newly assigned) partitions belong to. Call it before
   * `engine.assign` and before the first batch. When the engine owned nothing before (a start, or an eager
   * rebalance that revoked everything), its watermark state restarts from the checkpoints: W is the least W of
   * the restored tasks (-infinity when one of them has no checkpoint yet), so a task moved here is judged as
   * its old owner judged it.
   */
  async restore(
    partitions: readonly TopicPartition[],
    /** Checkpoints read already (a caller restoring several engines reads them in one pass). */
    prefetched?: ReadonlyMap<string, TaskCheckpoint>,
  ): Promise<RestoreResult> {
    const started = performance.now()
    const e = this.#engine
    const assigned = new Set(partitions.map((tp) => `${tp.topic}:${tp.partition}`))
    // A task this instance still runs (an incremental assignment added a partition to it) has newer state in
    // memory than in any checkpoint: only tasks that arrive here are restored.
    const live = new Set(e.inputs.map((p) => p.task))
    const arriving = new Set<string>()
    for (const tp of partitions) {
      const index = e.taskIndex(tp)
      if (!live.has(index)) arriving.add(e.taskIds[index] as string)
    }
    const taskIds = [...arriving]
    const found = prefetched ?? (await this.read(taskIds))
    const tracker = e.tracker
    const empty = e.inputs.length === 0
    if (empty) {
      // Nothing left of what this instance owned: its watermark state left with its tasks.
      tracker.watermark = Number.NEGATIVE_INFINITY
      tracker.maxEventTime = Number.NEGATIVE_INFINITY
      tracker.lastEventWallTime = null
    }
    const tasks: TaskSnapshot[] = []
    let W = Number.POSITIVE_INFINITY
    let M = Number.NEGATIVE_INFINITY
    let t: number | null = null
    for (const id of taskIds) {
      const cp = found.get(id)
      if (!cp) {
        W = Number.NEGATIVE_INFINITY
        continue
      }
      if (cp.topology !== e.topology.name) {
        throw new Error(`checkpoint of task ${id} belongs to topology "${cp.topology}", not "${e.topology.name}"`)
      }
      const elsewhere = cp.task.partitions.filter((p) => !p.origin && !assigned.has(`${p.topic}:${p.partition}`))
      if (elsewhere.length > 0) {
        this.logger?.warn(
          { task: id, partitions: elsewhere.map((p) => `${p.topic}-${p.partition}`) },
          `task ${id} is split across instances (use a co-partitioning assignor); restoring only its assigned partitions`,
        )
      }
      tasks.push({
        ...cp.task,
        partitions: cp.task.partitions.filter((p) => p.origin || assigned.has(`${p.topic}:${p.partition}`)),
      })
      W = Math.min(W, cp.watermark ?? Number.NEGATIVE_INFINITY)
      M = Math.max(M, cp.maxEventTime ?? Number.NEGATIVE_INFINITY)
      if (cp.lastEventWallTime !== null && (t === null || cp.lastEventWallTime > t)) t = cp.lastEventWallTime
    }
    if (tasks.length > 0) {
      const snapshot: EngineSnapshot = {
        version: 1,
        topology: e.topology.name,
        watermark: finiteOr(W, null),
        maxEventTime: finiteOr(M, null),
        lastEventWallTime: t,
        tasks,
        counters: { ...e.counters },
      }
      e.restore(snapshot)
      for (const task of tasks) this.#written.set(task.id, '') // force the next checkpoint to write it
    }
    const restored = tasks.map((x) => x.id)
    const result = { restored, fresh: taskIds.filter((id) => !found.has(id)), ms: performance.now() - started }
    if (restored.length > 0)
      this.logger?.info(
        { restored, fresh: result.fresh, ms: Math.round(result.ms), watermark: finiteOr(e.tracker.watermark, null) },
        `restored ${restored.length} task(s) from checkpoints in ${Math.round(result.ms)} ms`,
      )
    return result
  }

  /** Reads checkpoints, riding out a short outage (a broker restarting): 3 attempts, 1 s then 3 s apart. */
  async read(taskIds: readonly string[]): Promise<Map<string, TaskCheckpoint>> {
    for (let attempt = 1; ; attempt++) {
      try {
        return await this.store.read(taskIds)
      } catch (e) {
        if (attempt >= 3) throw e
        this.logger?.warn(
          { err: (e as Error).message, attempt },
          `reading checkpoints failed, retrying: ${(e as Error).message}`,
        )
        await new Promise((r) => setTimeout(r, attempt === 1 ? 1000 : 3000))
      }
    }
  }

  /** Forgets what was written for tasks that left this instance (their next owner writes them). */
  forget(taskIds: readonly string[]): void {
    for (const id of taskIds) this.#written.delete(id)
  }
}

/** Changes whenever the task's checkpoint would: offsets, partition watermarks, window count, W. */
function signatureOf(s: EngineSnapshot, task: TaskSnapshot): string {
  let sig = `${s.watermark}|${task.windows.length}`
  for (const p of task.partitions)
    sig += `|${p.topic}:${p.partition}@${p.nextOffset}/${p.maxEventTime}${p.idle ? 'i' : ''}`
  for (const w of task.windows) sig += `|${w.operator}:${w.start}:${w.fired ? 1 : 0}:${w.entries.length}`
  return sig
}
