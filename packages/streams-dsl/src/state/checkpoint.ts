import type { TaskSnapshot } from '../runtime/types.js'

/**
 * The durable state of one task at one moment: its window state, the watermark state of its partitions
 * (`maxEventTime`) and the next offset of each, plus the job-level watermark state of the instance that wrote it.
 * Restoring it and reading each partition from its `nextOffset` resumes the task exactly.
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
  /** The newest checkpoint of each task asked for; tasks never checkpointed are absent. */
  read(taskIds: readonly string[]): Promise<Map<string, TaskCheckpoint>>
  close?(): Promise<void>
}
