export { type Duration, toMillis } from '../core/duration.js'
export type { ProcessContext, Processor } from '../core/processor.js'
export type { TableChange } from '../core/table.js'
export {
  type Aggregation,
  avg,
  count,
  max,
  min,
  type Ranked,
  reducing,
  sum,
  sumOf,
  type TopN,
  type TopNState,
  topN,
} from './aggregations.js'
export { DecodeError, type DecodeFailureReason, type JsonSerdeOptions, json, type Serde, text } from './serde.js'
export { type EventTime, type SourceSpec, topic } from './source.js'
export {
  type DeduplicateOptions,
  type JoinOptions,
  type KeyByOptions,
  KeyedStream,
  type Named,
  Stream,
  Table,
  type TableJoinOptions,
  type WindowedStream,
  type WindowOptions,
} from './stream.js'
export { TopologyBuilder, type TopologyOptions, topology } from './topology.js'
export { hopping, session, sliding, tumbling, type Window, type Windowed, type WindowSpec } from './windows.js'
