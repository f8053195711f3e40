import type { CheckpointStore, TaskCheckpoint } from './checkpoint.js'
import { decodeCheckpoint, encodeCheckpoint } from './checkpoint-codec.js'

/**
 * Checkpoints in memory (encoded, as Kafka would hold them, so a test sees what a restore really gets).
 * Survives an engine being thrown away: hand the same store to the next one to simulate a restart.
 *
 * @example
 * const store = new MemoryCheckpointStore()
 */
export class MemoryCheckpointStore implements CheckpointStore {
  readonly #byTask = new Map<string, Buffer>()
  /** Number of checkpoints written so far. */
  writes = 0

  async write(checkpoints: readonly TaskCheckpoint[]): Promise<void> {
    for (const cp of checkpoints) {
      this.#byTask.set(cp.taskId, encodeCheckpoint(cp))
      this.writes++
    }
  }

  async read(taskIds: readonly string[]): Promise<Map<string, TaskCheckpoint>> {
    const out = new Map<string, TaskCheckpoint>()
    for (const id of taskIds) {
      const bytes = this.#byTask.get(id)
      if (bytes) out.set(id, decodeCheckpoint(bytes))
    }
    return out
  }
}
