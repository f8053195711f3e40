export type { EngineCounters } from './context.js'
export { createEngine } from './engine.js'
export { type EngineInput, type EngineOutput, runTopology } from './operator.js'
export { partitionForKey, repartitionTopic } from './repartition.js'
export { createStagedEngine, StagedEngine, type StagedEngineOptions } from './staged-engine.js'
export type {
  Clock,
  Engine,
  EngineOptions,
  EngineSnapshot,
  EngineStatus,
  OldestWindowStatus,
  PartitionStatus,
  RepartitionTopic,
  TaskGrouping,
  TaskSnapshot,
  WindowSnapshot,
} from './types.js'
