/**
 * The checkpointer of one engine: snapshots its tasks into a {@link CheckpointStore} and restores them on
 * assignment. The commit order of the whole job is written in {@link Checkpointer.checkpoint}, where it happens.
 * (The folder: `checkpoint.ts` the record and store interface, `checkpoint-codec.ts` its bytes,
 * `memory-checkpoint-store.ts` and `changelog-store.ts` the two stores, `staged-checkpointer.ts` for a staged
 * engine, `checkpoint-config.ts` the runner's settings.)
 */
import type { TopicPartition, TopicPartitionOffset } from '../connectors/types.js'
import { engineInternals } from '../runtime/engine.js'
import type { EngineInternals } from '../runtime/engine-internals.js'
import { takeSnapshot } from '../runtime/snapshot.js'
import type { Engine, EngineSnapshot, TaskSnapshot } from '../runtime/types.js'
import type { CheckpointChain, CheckpointStore, InvalidCheckpoint, TaskCheckpoint } from './checkpoint.js'

/** The two log calls the checkpointer makes (pino's shape). */
type Logger = { info(obj: object, msg: string): void; warn(obj: object, msg: string): void }

/**
 * What to do with records of the store that are not usable checkpoints (the runner dead-letters them as
 * `invalid_internal_record`); awaited before the restore goes on.
 */
export type InvalidCheckpointHandler = (invalid: readonly InvalidCheckpoint[]) => Promise<void> | void

/** Checkpoints read for a restore: the newest usable one per task, and the tasks that had newer unusable records. */
export type ReadCheckpoints = {
  readonly found: ReadonlyMap<string, TaskCheckpoint>
  /** Tasks restored from an older checkpoint than their newest record (read from its offsets, not the commit). */
  readonly fellBack: ReadonlySet<string>
}

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
export type RestoreResult = {
  readonly restored: string[]
  readonly fresh: string[]
  readonly ms: number
  /**
   * Where to read each restored input partition from: the checkpoint's own next offsets. The consumer seeks
   * there rather than starting at the committed offset, so no record between the checkpoint and a committed
   * offset ahead of it is skipped (a checkpoint older than the last commit: a task restored from the checkpoint
   * before an unusable newest record, or one whose newer checkpoint never landed).
   */
  readonly seek: TopicPartitionOffset[]
}

/** A checkpoint not written because its guard said no (the instance may no longer own its tasks). */
export class CheckpointSkipped extends Error {
  override name = 'CheckpointSkipped'
}

/** Asked right before checkpoints are written: false skips the write (a {@link CheckpointSkipped}). */
export type CheckpointGuard = () => boolean | Promise<boolean>

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
  readonly #engine: EngineInternals
  /** Per task, what was last written (skip tasks that did not change). */
  readonly #written = new Map<string, string>()
  /**
   * Asked after the snapshot, right before the write: an instance that may have lost its tasks (a zombie) must
   * not write a checkpoint older than its successor's. The runner's asks the group coordinator.
   */
  guard: CheckpointGuard | undefined
  /**
   * Incremental checkpoints (`CHECKPOINT_INCREMENTAL`): a task's checkpoint is a delta, holding only the
   * entries changed since its previous one (of state whose backend tracks changes, the persistent one's; other
   * windows whole), on a base holding the whole task; a new base when the deltas since the last outweigh it, so
   * a restore reads at most about twice a base. See {@link TaskCheckpoint.chain}.
   */
  incremental = false
  /** Per task, its chain of incremental checkpoints as written: base number, deltas, sizes in entries. */
  readonly #chains = new Map<string, Chain>()

  constructor(
    engine: Engine,
    readonly store: CheckpointStore,
    private readonly logger?: Logger,
    private readonly onInvalid?: InvalidCheckpointHandler,
  ) {
    const internals = engineInternals(engine)
    if (!internals) throw new Error('Checkpointer needs an engine made by createEngine()')
    this.#engine = internals
  }

  /**
   * Snapshots every task, writes the changed ones, returns the offsets now safe to commit. Await it before the
   * engine's next operation.
   */
  async checkpoint(): Promise<CheckpointResult> {
    // THE COMMIT ORDER (one checkpoint; the runner's #commit / #commitTransaction call this, then commit):
    //   1. flush the sinks: every output of the records processed so far is durable (engine.flush waits for each
    //      sink writer's writes, dead letters and routed repartition records included);
    //   2. snapshot every task (window state, each partition's watermark state and next offset);
    //   3. ask the guard (an instance that may have lost its tasks writes nothing);
    //   4. write the changed tasks to the changelog store and wait until durable (acks=all, or into the open
    //      transaction under exactly-once);
    //   5. return the offsets the written checkpoints cover; only then does the caller commit them to the group
    //      (at-least-once: a plain offset commit; exactly-once: sendOffsetsToTransaction + commitTransaction, which
    //      makes 1, 4 and 5 visible at once). Offsets are never committed past a checkpoint.
    // A crash between any two steps replays from the last committed offsets and restores the last checkpoint:
    // outputs are written again (idempotent sinks) and nothing is lost.
    const started = performance.now()
    // 1. everything the processed records produced must be durable before the state that produced it is
    await this.#engine.flush()
    // No copy of the accumulators: the store serialises them before this resolves, and the caller awaits it
    // before the engine's next operation (the runner's queue does).
    // 2. snapshot (incremental: deltas of the tasks with a chain to add to)
    const e = this.#engine
    const chainOf = (index: number) => this.#chains.get(e.tasks.taskIds[index] as string)
    const s = takeSnapshot(
      e,
      false,
      this.incremental ? { delta: (index) => chainOf(index)?.needBase === false } : undefined,
    )
    const writtenAt = Date.now()
    const todo: { cp: TaskCheckpoint; signature: string }[] = []
    const offsets: TopicPartitionOffset[] = []
    /** Tasks whose delta would outweigh their base: written as a new base instead (snapshotted again, whole). */
    const rebase = new Set<number>()
    const checkpointOf = (task: TaskSnapshot): TaskCheckpoint => ({
      version: 1,
      topology: s.topology,
      taskId: task.id,
      watermark: s.watermark,
      maxEventTime: s.maxEventTime,
      lastEventWallTime: s.lastEventWallTime,
      writtenAt,
      task,
    })
    for (const task of s.tasks) {
      if (task.partitions.length === 0) continue // state of a task we no longer own: not ours to write
      const signature = signatureOf(s, task, !this.incremental)
      const c = this.#chains.get(task.id)
      const delta = this.incremental && c !== undefined && !c.needBase
      const size = delta ? entriesIn(task) : 0
      // a delta holding changes is written even if nothing else moved (a processing-time timer changed state)
      if (this.#written.get(task.id) !== signature || (delta && changesIn(task) > 0)) {
        if (delta && c.deltaEntries + size > c.baseEntries) rebase.add(e.tasks.taskIndexById(task.id))
        else
          todo.push({
            signature,
            cp: this.incremental
              ? { ...checkpointOf(task), chain: delta ? { base: c.base, delta: c.deltas + 1 } : this.#newBase(task.id) }
              : checkpointOf(task),
          })
      }
      for (const p of task.partitions)
        if (p.nextOffset !== null && !p.origin)
          offsets.push({ topic: p.topic, partition: p.partition, offset: p.nextOffset })
    }
    if (rebase.size > 0) {
      // the tasks whose deltas since their base would outweigh it: a new base each, the whole task
      const whole = takeSnapshot(e, false, { delta: () => false, only: (index) => rebase.has(index) })
      for (const task of whole.tasks) {
        const index = e.tasks.taskIndexById(task.id)
        if (!rebase.has(index)) continue
        const full = { ...task, partitions: s.tasks.find((t) => t.id === task.id)?.partitions ?? task.partitions }
        todo.push({
          signature: signatureOf(s, full, false),
          cp: { ...checkpointOf(full), chain: this.#newBase(task.id) },
        })
      }
    }
    if (todo.length > 0) {
      try {
        // 3. the guard, right before the write
        if (this.guard && !(await this.guard()))
          throw new CheckpointSkipped('checkpoint not written: membership unconfirmed')
        // 4. the changelog write, awaited until durable
        await this.store.write(todo.map((t) => t.cp))
      } catch (err) {
        // the changes these deltas held were taken: the next checkpoint of each is a base
        for (const t of todo) {
          const c = this.#chains.get(t.cp.taskId)
          if (c) c.needBase = true
        }
        throw err
      }
    }
    for (const t of todo) {
      this.#written.set(t.cp.taskId, t.signature)
      const chain = t.cp.chain
      if (chain === undefined) continue
      const size = entriesIn(t.cp.task)
      const c = this.#chains.get(t.cp.taskId)
      if (chain.delta === 0 || c === undefined)
        this.#chains.set(t.cp.taskId, {
          base: chain.base,
          deltas: 0,
          baseEntries: Math.max(size, MIN_BASE_ENTRIES),
          deltaEntries: 0,
          needBase: false,
        })
      else {
        c.deltas = chain.delta
        c.deltaEntries += size
      }
    }
    // 5. the offsets covered: the caller commits them now, never before this resolves
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
    prefetched?: ReadCheckpoints,
  ): Promise<RestoreResult> {
    const started = performance.now()
    const e = this.#engine
    const assigned = new Set(partitions.map((tp) => `${tp.topic}:${tp.partition}`))
    // A task this instance still runs (an incremental assignment added a partition to it) has newer state in
    // memory than in any checkpoint: only tasks that arrive here are restored.
    const live = new Set(e.tasks.inputs.map((p) => p.task))
    const arriving = new Set<string>()
    for (const tp of partitions) {
      const index = e.tasks.taskIndex(tp)
      if (!live.has(index)) arriving.add(e.tasks.taskIds[index] as string)
    }
    const taskIds = [...arriving]
    const { found } = prefetched ?? (await this.read(taskIds))
    const seek: TopicPartitionOffset[] = []
    const tracker = e.tracker
    const empty = e.tasks.inputs.length === 0
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
      const elsewhere = cp.task.partitions.filter((p) => !p.origin && !assigned.has(`${p.topic}:${p.partition}`))
      if (elsewhere.length > 0) {
        this.logger?.warn(
          { task: id, partitions: elsewhere.map((p) => `${p.topic}-${p.partition}`) },
          `task ${id} is split across instances (use a co-partitioning assignor); restoring only its assigned partitions`,
        )
      }
      const partitionsHere = cp.task.partitions.filter((p) => p.origin || assigned.has(`${p.topic}:${p.partition}`))
      tasks.push({ ...cp.task, partitions: partitionsHere })
      for (const p of partitionsHere)
        if (!p.origin && p.nextOffset !== null)
          seek.push({ topic: p.topic, partition: p.partition, offset: p.nextOffset })
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
      for (const task of tasks) {
        this.#written.set(task.id, '') // force the next checkpoint to write it
        // as a new base, which deletes the chain restored from (if any)
        const chain = found.get(task.id)?.chain
        if (chain)
          this.#chains.set(task.id, {
            base: chain.base,
            deltas: chain.delta,
            baseEntries: 0,
            deltaEntries: 0,
            needBase: true,
          })
        else this.#chains.delete(task.id)
      }
    }
    const restored = tasks.map((x) => x.id)
    const result = {
      restored,
      fresh: taskIds.filter((id) => !found.has(id)),
      ms: performance.now() - started,
      seek,
    }
    if (restored.length === 0 && result.fresh.length > 0)
      this.logger?.info(
        { fresh: result.fresh },
        `no checkpoint of ${result.fresh.length} task(s) yet: they start from the committed offsets`,
      )
    else if (restored.length > 0)
      this.logger?.info(
        { restored, fresh: result.fresh, ms: Math.round(result.ms), watermark: finiteOr(e.tracker.watermark, null) },
        `restored ${restored.length} task(s) from checkpoints in ${Math.round(result.ms)} ms`,
      )
    return result
  }

  /**
   * Reads checkpoints, riding out a short outage (a broker restarting): 3 attempts, 1 s then 3 s apart. A record
   * that is not a usable checkpoint of this topology (corrupt, foreign) is skipped, handed to the invalid-record
   * handler and logged; the task is restored from the checkpoint before it (its partitions are then read from
   * that checkpoint's offsets), or, when it has none, starts fresh from the committed offsets.
   */
  async read(taskIds: readonly string[]): Promise<ReadCheckpoints> {
    const name = this.#engine.topology.name
    for (let attempt = 1; ; attempt++) {
      const invalid: InvalidCheckpoint[] = []
      try {
        const found = await this.store.read(taskIds, {
          accept: (cp) => (cp.topology === name ? undefined : `it belongs to topology "${cp.topology}", not "${name}"`),
          onInvalid: (i) => invalid.push(i),
        })
        const fellBack = new Set<string>()
        for (const i of invalid) {
          const restoredFrom = found.get(i.taskId)
          if (restoredFrom) fellBack.add(i.taskId)
          this.logger?.warn(
            { task: i.taskId, topic: i.record.topic, partition: i.record.partition, offset: i.record.offset },
            `${i.reason}; ${restoredFrom ? `task ${i.taskId} is restored from the checkpoint before it, and its partitions are read again from there` : `no usable checkpoint of task ${i.taskId} is left: it starts fresh from the committed offsets`}`,
          )
        }
        if (invalid.length > 0) await this.onInvalid?.(invalid)
        return { found, fellBack }
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
    for (const id of taskIds) {
      this.#written.delete(id)
      this.#chains.delete(id)
    }
  }

  /** The chain position of a new base of a task: a number above any before it, superseding the current chain. */
  #newBase(taskId: string): CheckpointChain {
    const c = this.#chains.get(taskId)
    const base = Math.max(Date.now(), (c?.base ?? 0) + 1)
    return c === undefined ? { base, delta: 0 } : { base, delta: 0, supersedes: { base: c.base, deltas: c.deltas } }
  }
}

/** A task's chain of incremental checkpoints, as written. */
type Chain = {
  base: number
  deltas: number
  /** Entries of the base (its size, in entries). */
  baseEntries: number
  /** Entries and deleted keys of the deltas since it. */
  deltaEntries: number
  /** The next checkpoint must be a base (a write failed, or the task was just restored). */
  needBase: boolean
}

/** A base this small is rewritten whole rather than chained (deltas of a few keys each would pile up). */
const MIN_BASE_ENTRIES = 64

/** Entries and deleted keys a task snapshot holds: what a checkpoint of it weighs. */
function entriesIn(task: TaskSnapshot): number {
  let n = 0
  for (const w of task.windows) n += w.entries.length + (w.deleted?.length ?? 0) + 1
  return n
}

/** Entries changed or deleted in the partial windows of a delta. */
function changesIn(task: TaskSnapshot): number {
  let n = 0
  for (const w of task.windows) if (w.partial) n += w.entries.length + (w.deleted?.length ?? 0)
  return n
}

/**
 * Changes whenever the task's checkpoint would: offsets, partition watermarks, window count, W, and each window's
 * entry count unless `counts` is false (incremental checkpoints: a delta's windows hold what changed, and a
 * change is written whatever the signature).
 */
function signatureOf(s: EngineSnapshot, task: TaskSnapshot, counts = true): string {
  let sig = `${s.watermark}|${task.windows.length}`
  for (const p of task.partitions)
    sig += `|${p.topic}:${p.partition}@${p.nextOffset}/${p.maxEventTime}${p.idle ? 'i' : ''}`
  for (const w of task.windows)
    sig += `|${w.operator}:${w.start}:${w.fired ? 1 : 0}${counts ? `:${w.entries.length}` : ''}`
  return sig
}
