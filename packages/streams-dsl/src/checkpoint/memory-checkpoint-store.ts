import type { RawRecord } from '../connectors/types.js'
import type { CheckpointReadOptions, CheckpointStore, TaskCheckpoint } from './checkpoint.js'
import { encodeCheckpoint, newestUsable } from './checkpoint-codec.js'

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

  async write(checkpoints: readonly TaskCheckpoint[]): Promise<void> {
    for (const cp of checkpoints) {
      this.append(cp.taskId, encodeCheckpoint(cp))
      this.writes++
    }
  }

  /** Appends a raw record for a task, e.g. a corrupt or foreign one (tests). */
  append(taskId: string, value: Buffer | null): void {
    const list = this.#byTask.get(taskId) ?? []
    const offset = this.#offset++
    list.push({ topic: 'memory-changelog', partition: 0, offset, key: Buffer.from(taskId), value, timestamp: 0 })
    this.#byTask.set(taskId, list)
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
