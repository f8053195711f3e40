/**
 * What a checkpoint is (one task's durable state) and where it is kept (the {@link CheckpointStore} interface the
 * memory and Kafka changelog stores implement). The commit order is in `checkpointer.ts`.
 */
import type { RawRecord } from '../connectors/types.js'
import type { TaskSnapshot } from '../runtime/types.js'

/**
 * The durable state of one task at one moment: its window state, the watermark state of its partitions
 * (`maxEventTime`) and the next offset of each, plus the job-level watermark state of the instance that wrote it.
 * Restoring it and reading each partition from its `nextOffset` resumes the task exactly.
 *
 * @example
 * const newest = (await store.read(['0'])).get('0')
 * console.log(newest?.taskId, newest?.watermark, newest?.task.partitions.map((p) => p.nextOffset))
 */
export type TaskCheckpoint = {
  readonly version: 1
  readonly topology: string
  /** The task id (`TaskSnapshot.id`): the changelog record key. */
  readonly taskId: string
  /** Job watermark W of the writing instance (null = -infinity). */
  readonly watermark: number | null
  /** M: greatest valid event time the writing instance saw (null = none). */
  readonly maxEventTime: number | null
  /** t: wall-clock time of the last valid event on the writing instance. */
  readonly lastEventWallTime: number | null
  /** Wall-clock time the checkpoint was taken, epoch ms. */
  readonly writtenAt: number
  readonly task: TaskSnapshot
  /**
   * An incremental checkpoint's place in its chain (absent: a whole checkpoint, the record keyed by the task id).
   * `delta` 0 is a base (the whole task, record key `<task>#b<base>`); `delta` n > 0 holds only what changed since
   * delta n - 1 (windows `partial`), plus the whole non-window part (offsets, watermark state), record key
   * `<task>#d<base>.<n>`. A store's `read` returns a base with its deltas applied, as one whole checkpoint.
   */
  readonly chain?: CheckpointChain
}

/**
 * Where an incremental checkpoint sits (see {@link TaskCheckpoint.chain}).
 *
 * @example
 * const delta: CheckpointChain = { base: 4, delta: 2 } // the second delta on base 4
 */
export type CheckpointChain = {
  /** The base's number (grows by one per base of the task). */
  readonly base: number
  /** 0 for the base itself, then 1, 2, ... for the deltas on it. */
  readonly delta: number
  /**
   * On a base: the chain it replaces (its base number and how many deltas it had). Once the base is durable the
   * store deletes those records (tombstones), so compaction removes them.
   */
  readonly supersedes?: { readonly base: number; readonly deltas: number }
}

/**
 * A record of the checkpoint store that could not be used: corrupt, of another format, or of another topology.
 *
 * @example
 * await store.read(['0'], { onInvalid: (i) => console.warn(`task ${i.taskId}: ${i.reason}`) })
 */
export type InvalidCheckpoint = {
  readonly taskId: string
  /** Why, in one line (also the dead letter's `error.message`). */
  readonly reason: string
  /** The record as stored (a changelog record: its topic, partition, offset, key and value bytes). */
  readonly record: RawRecord
}

/**
 * Options of {@link CheckpointStore.read}.
 *
 * @example
 * await store.read(['0'], { accept: (cp) => (cp.topology === 'ctr' ? undefined : `of topology ${cp.topology}`) })
 */
export type CheckpointReadOptions = {
  /** Why a decoded checkpoint cannot be used here (e.g. it belongs to another topology), or undefined. */
  readonly accept?: (cp: TaskCheckpoint) => string | undefined
  /**
   * Called for each record newer than the checkpoint returned (or, when none is, among the newest of the task)
   * that was skipped because it is not a usable checkpoint.
   */
  readonly onInvalid?: (invalid: InvalidCheckpoint) => void
}

/**
 * Where task checkpoints live: a compacted Kafka changelog topic in production, memory in tests. Every backend
 * passes the shared suite in `checkpoint-store.case.ts`.
 *
 * @example
 * await store.write([checkpoint])
 * const latest = await store.read(['0', '1']) // Map task id -> newest checkpoint
 */
export interface CheckpointStore {
  /**
   * Resolves once every checkpoint is durable; a later `read` returns them (the newest per task wins). Encodes
   * them before its first `await`: they may refer to live window state.
   */
  write(checkpoints: readonly TaskCheckpoint[]): Promise<void>
  /**
   * The newest usable checkpoint of each task asked for; tasks never checkpointed are absent. A newer record that
   * is not a usable checkpoint (corrupt, foreign, refused by `accept`) is skipped and reported to `onInvalid`, and
   * the one before it is returned: a poison record never stops a restore.
   */
  read(taskIds: readonly string[], options?: CheckpointReadOptions): Promise<Map<string, TaskCheckpoint>>
  /** Releases what the store opened (a producer, a consumer); the runner calls it once the job has stopped. */
  close?(): Promise<void>
}
