/**
 * The machinery behind the public entries, for this repository's benchmarks and tests only: not part of the
 * published package (its `exports` omit it) and free to change. Applications use `@ctr/streams-dsl`, `/runner`,
 * `/testing`, `/kafka` and `/redis`.
 *
 * @internal
 * @packageDocumentation
 */
export { KafkaChangelogStore } from './checkpoint/changelog-store.js'
export { encodeCheckpoint } from './checkpoint/checkpoint-codec.js'
export { Checkpointer } from './checkpoint/checkpointer.js'
export { MemoryCheckpointStore } from './checkpoint/memory-checkpoint-store.js'
export { keyByPartitioning } from './graph/repartition.js'
export { statusSummary } from './runner/status.js'
export { createEngine } from './runtime/engine.js'
export { partitionForKey, repartitionTopic } from './runtime/repartition/codec.js'
export type { Engine, EngineOptions } from './runtime/types.js'
