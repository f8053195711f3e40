/**
 * The narrow view of an engine that the snapshot, the status and the checkpointer work through: its watermark,
 * counters, operators and task registry, and the two operations they call. Nothing outside the engine reads
 * the engine class's fields.
 */
import type { Topology } from '../graph/topology.js'
import type { EngineCounters } from './context.js'
import type { StatefulOperator } from './operators/index.js'
import type { TaskRegistry } from './task-registry.js'
import type { Clock, EngineSnapshot } from './types.js'
import type { WatermarkTracker } from './watermarks.js'

/** What an engine made by `createEngine` shows of itself to its snapshot, status and checkpointer. */
export interface EngineInternals {
  readonly topology: Topology
  readonly clock: Clock
  readonly tracker: WatermarkTracker
  readonly counters: EngineCounters
  /** The plan's stateful operators. */
  readonly operators: readonly StatefulOperator[]
  /** Its partitions and tasks. */
  readonly tasks: TaskRegistry
  /** Resolves once every output so far is durable. */
  flush(): Promise<void>
  /** Loads a snapshot (see `Engine.restore`). */
  restore(snapshot: EngineSnapshot): void
}
