import type { DeadLetter, Sink } from '../connectors/types.js'
import type { Aggregation } from '../core/aggregation.js'
import type { EventTime } from '../core/event-time.js'
import type { Processor } from '../core/processor.js'
import type { Serde } from '../core/serde.js'
import type { WindowSpec } from '../core/window.js'

// Graph nodes are untyped on purpose: the DSL classes carry the types, the graph carries the structure.
type Fn = (value: never) => unknown

/** Fields every node has: a stable unique name and the names of the nodes feeding it. */
export type NodeBase = { readonly name: string; readonly inputs: readonly string[] }

/** Reads and decodes one topic. */
export type SourceNode = NodeBase & {
  readonly kind: 'source'
  readonly topic: string
  readonly serde: Serde<unknown>
  readonly timestamp: ((value: never) => EventTime) | undefined
  /** A table's topic: each record is a `TableChange` (its key and value; a null value deletes the row). */
  readonly table?: boolean
}
/** Transforms each value. */
export type MapNode = NodeBase & { readonly kind: 'map'; readonly fn: Fn }
/** Keeps the values its predicate accepts. */
export type FilterNode = NodeBase & { readonly kind: 'filter'; readonly fn: Fn }
/** Replaces a value by zero or more values. */
export type FlatMapNode = NodeBase & { readonly kind: 'flatMap'; readonly fn: (value: never) => Iterable<unknown> }
/** Union of its inputs. */
export type MergeNode = NodeBase & { readonly kind: 'merge' }
/** Assigns the grouping key used by the next window. */
export type KeyByNode = NodeBase & {
  readonly kind: 'keyBy'
  readonly fn: (value: never) => string | number
  /** Declared: every source feeding it is already partitioned by this key (no repartition topic). */
  readonly copartitioned?: boolean
}
/** Groups keyed events into windows; followed by exactly one aggregate. */
export type WindowNode = NodeBase & {
  readonly kind: 'window'
  readonly spec: WindowSpec
  readonly allowedLateness: number
  readonly emit: 'onClose' | 'onUpdate'
}
/** Aggregates the events of each key and window. */
export type AggregateNode = NodeBase & {
  readonly kind: 'aggregate'
  readonly aggregation: Aggregation<never, unknown, unknown>
}
/** Drops a record whose id was kept shortly before (per task, by event time); see `Stream.deduplicate`. */
export type DeduplicateNode = NodeBase & {
  readonly kind: 'deduplicate'
  readonly by: (value: never) => string | number
  /** Milliseconds: a record is a duplicate of one kept at t when |ts - t| < within. */
  readonly within: number
  /** Milliseconds the ids are held past `within`, and records behind the watermark still judged. */
  readonly allowedLateness: number
}
/**
 * Joins the two sides of its keyed input (an interval join, see `KeyedStream.join`). Its input is the keyBy of
 * the merge of both sides, each value tagged `{ side: 0 | 1, value }` by the DSL; a record of side 0 at time t
 * joins a record of side 1 at time u of the same key when `t - before <= u <= t + after`.
 */
export type JoinNode = NodeBase & {
  readonly kind: 'join'
  /** `inner`: pairs only; `left`: also every side-0 record that found no pair, once its interval has passed. */
  readonly type: 'inner' | 'left'
  /** Milliseconds the other side's record may precede this side's. */
  readonly before: number
  /** Milliseconds the other side's record may follow this side's. */
  readonly after: number
  /** Milliseconds records are held (and still judged) past their interval. */
  readonly allowedLateness: number
  /** Builds a result from a pair (right undefined for an unmatched left record of a left join). */
  readonly joiner: (left: never, right: never, key: never) => unknown
}
/**
 * Joins each stream record with the version of a table's row as of its event time (see `KeyedStream.join`
 * with a table). Its input is the keyBy of the merge of the stream (side 0) and the table's changes (side 1).
 */
export type TableJoinNode = NodeBase & {
  readonly kind: 'tableJoin'
  /** `inner`: only records whose row exists at their time; `left`: every record, the row undefined if none. */
  readonly type: 'inner' | 'left'
  /** Milliseconds stream records and table changes are still judged behind the watermark. */
  readonly allowedLateness: number
  /** Builds a result from a record and its row (undefined for a record with no row, in a left join). */
  readonly joiner: (value: never, row: never, key: never) => unknown
}
/**
 * Aggregates each key of its keyBy over all time, no window (`keyBy(fn).aggregate(...)`): a table of running
 * results, emitting the key's new result (`TableChange`) on every record.
 */
export type TableAggregateNode = NodeBase & {
  readonly kind: 'tableAggregate'
  readonly aggregation: Aggregation<never, unknown, unknown>
}
/** A custom keyed operator with per-key state and event-time timers (`keyBy(fn).process(processor)`). */
export type ProcessNode = NodeBase & {
  readonly kind: 'process'
  readonly processor: Processor<never, never, unknown, unknown>
}
/** Writes to a sink. */
export type SinkNode = NodeBase & { readonly kind: 'sink'; readonly sink: Sink<never> }
/** Side outputs of the whole topology: records that failed, and late events. */
export type SideOutputNode = NodeBase & { readonly kind: 'deadLetters' | 'lateEvents' }

/** Any node of the topology graph. */
export type GraphNode =
  | SourceNode
  | MapNode
  | FilterNode
  | FlatMapNode
  | MergeNode
  | KeyByNode
  | DeduplicateNode
  | JoinNode
  | TableJoinNode
  | TableAggregateNode
  | ProcessNode
  | WindowNode
  | AggregateNode
  | SinkNode
  | SideOutputNode

/** The dead-letter record type, re-exported for side-output typing. */
export type { DeadLetter }
