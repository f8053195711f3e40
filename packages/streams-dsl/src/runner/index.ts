/**
 * The runner: runs a topology against Kafka as a consumer group, with checkpoints, a dead-letter topic, `/status`
 * and `/metrics`, backpressure and a graceful stop. `run` is the whole job process; `createRunner` embeds it.
 *
 * @packageDocumentation
 * @module \@ctr/streams-dsl/runner
 * @example
 * import { run } from '@ctr/streams-dsl/runner'
 * await run(app.build(), { tasks: 'auto' }) // settings from the environment: KAFKA_BROKERS, REDIS_URL, ...
 */

export type {
  CheckpointChain,
  CheckpointReadOptions,
  CheckpointStore,
  InvalidCheckpoint,
  TaskCheckpoint,
} from '../checkpoint/checkpoint.js'
export { type CheckpointConfig, loadCheckpointConfig } from '../checkpoint/checkpoint-config.js'
export type { SinkStatus } from './backpressure.js'
export type { CheckpointStatus } from './checkpoint-health.js'
export { ConfigError, type Guarantee, loadConfig, type RunnerConfig } from './config.js'
export type { TaskMode } from './engine-setup.js'
export { RedisUnavailableError } from './preflight.js'
export { run } from './run.js'
export { createRunner, Runner, type RunnerOptions, type RunnerState, type SourceSpec } from './runner.js'
export { EXIT_OUTPUT_NOT_FLUSHED, OutputNotFlushedError } from './shutdown.js'
export type { RunnerPartitionStatus, RunnerStatus } from './status.js'
