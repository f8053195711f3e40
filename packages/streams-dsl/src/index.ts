/**
 * The DSL: describe a topology (sources, operators, windows, aggregations, sinks) and build it into an immutable,
 * validated {@link Topology}. Run it with `@ctr/streams-dsl/runner` against Kafka, or with `@ctr/streams-dsl/testing`
 * in memory; connectors are in `@ctr/streams-dsl/kafka` and `@ctr/streams-dsl/redis`.
 *
 * @packageDocumentation
 * @module \@ctr/streams-dsl
 * @example
 * import { count, json, topic, topology, tumbling } from '@ctr/streams-dsl'
 * const app = topology('page-views', { watermarks: { maxOutOfOrderness: '3s' } })
 * app
 *   .source(topic('views', { value: json(View), timestamp: (v) => v.at }))
 *   .keyBy((v) => v.page)
 *   .window(tumbling('1m'))
 *   .count()
 *   .to(sink)
 * const t = app.build()
 */

export type { ReadEvidenceStatus } from './connectors/read-evidence.js'
export { type ObservableSink, SinkHealth, type SinkHealthState } from './connectors/sink-health.js'
export type {
  DeadLetter,
  DeadLetterReason,
  InputBatch,
  Logger,
  Membership,
  PartitionPosition,
  RawRecord,
  RevokeInfo,
  Sink,
  SinkContext,
  SourceConnector,
  SourceHandlers,
  TopicPartition,
  TopicPartitionOffset,
} from './connectors/types.js'
export * from './dsl/index.js'
export { Topology, TopologyError, type WatermarkSettings } from './graph/topology.js'
export type { EngineCounters } from './runtime/context.js'
export type {
  Clock,
  EngineSnapshot,
  EngineStatus,
  OldestWindowStatus,
  PartitionStatus,
  TaskGrouping,
  TaskSnapshot,
  WindowSnapshot,
} from './runtime/types.js'
