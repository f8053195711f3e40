export type { EngineCounters } from './context.js'
export { createEngine } from './engine.js'
export { type EngineInput, type EngineOutput, runTopology } from './operator.js'
export type {
  Clock,
  Engine,
  EngineOptions,
  EngineSnapshot,
  EngineStatus,
  OldestWindowStatus,
  PartitionStatus,
  TaskGrouping,
  TaskSnapshot,
  WindowSnapshot,
} from './types.js'
