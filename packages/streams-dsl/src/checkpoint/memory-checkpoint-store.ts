import type { RawRecord } from '../connectors/types.js'
import type { CheckpointReadOptions, CheckpointStore, TaskCheckpoint } from './checkpoint.js'
import { encodeCheckpoint, newestUsable, recordKey, supersededKeys } from './checkpoint-codec.js'

/**
 * Checkpoints in memory (encoded, as Kafka would hold them, so a test sees what a restore really gets).
 * Survives an engine being thrown away: hand the same store to the next one to simulate a restart.
 *
 * @example
 * const store = new MemoryCheckpointStore()
 */
export class MemoryCheckpointStore implements CheckpointStore {
  /** Every record of a task, oldest first (a changelog before compaction). */
  readonly #byTask = new Map<string, RawRecord[]>()
  #offset = 0
  /** Number of checkpoints written so far. */
  writes = 0

  /** Bytes of the checkpoint records written so far (tombstones count 0). */
  bytes = 0

  async write(checkpoints: readonly TaskCheckpoint[]): Promise<void> {
    // encoded before anything is appended: a checkpoint that fails to encode writes nothing
    const encoded = checkpoints.map((cp) => ({ cp, value: encodeCheckpoint(cp) }))
    for (const { cp, value } of encoded) {
      this.append(cp.taskId, value, recordKey(cp))
      this.bytes += value.length
      this.writes++
      // once the base is durable, the chain it replaces is deleted
      for (const key of supersededKeys(cp)) this.append(cp.taskId, null, key)
    }
  }

  /** Appends a raw record for a task (under the task id, or `key`), e.g. a corrupt or foreign one (tests). */
  append(taskId: string, value: Buffer | null, key: string = taskId): void {
    const list = this.#byTask.get(taskId) ?? []
    const offset = this.#offset++
    list.push({ topic: 'memory-changelog', partition: 0, offset, key: Buffer.from(key), value, timestamp: 0 })
    this.#byTask.set(taskId, list)
  }

  /** What log compaction leaves: the newest record of each key, tombstones removed. */
  compact(): void {
    for (const [task, list] of this.#byTask) {
      const newest = new Map<string, RawRecord>()
      for (const r of list) newest.set(r.key?.toString() ?? '', r)
      this.#byTask.set(
        task,
        [...newest.values()].filter((r) => r.value !== null).sort((a, b) => a.offset - b.offset),
      )
    }
  }

  /** The record keys a task has now (oldest first; tombstones included until {@link compact}). */
  keys(taskId: string): string[] {
    return (this.#byTask.get(taskId) ?? []).map((r) => `${r.key?.toString()}${r.value === null ? ' (tombstone)' : ''}`)
  }

  async read(taskIds: readonly string[], options?: CheckpointReadOptions): Promise<Map<string, TaskCheckpoint>> {
    const out = new Map<string, TaskCheckpoint>()
    for (const id of taskIds) {
      const cp = newestUsable(id, this.#byTask.get(id) ?? [], options)
      if (cp) out.set(id, cp)
    }
    return out
  }
}
