import type { DeadLetter } from '../connectors/types.js'
import { type Duration, toMillis } from '../core/duration.js'
import { GraphBuilder } from '../graph/graph-builder.js'
import { compileTopology, type Topology, type WatermarkSettings } from '../graph/topology.js'
import { describeValue } from '../graph/validate.js'
import type { SourceSpec } from './source.js'
import { Stream, Table } from './stream.js'

/**
 * Options of {@link topology}.
 *
 * @example
 * topology('views', { watermarks: { maxOutOfOrderness: '3s', idleTimeout: '10s', maxFutureSkew: '5m' } })
 */
export type TopologyOptions = {
  /** How event time is judged (see `WatermarkSettings`). */
  watermarks?: {
    /** B: how far out of order events may arrive (default 0). W(p) = maxEventTime(p) - B - 1. */
    maxOutOfOrderness?: Duration
    /** A partition that delivered no valid event for this long (wall clock) stops holding the watermark (default 10s). */
    idleTimeout?: Duration
    /** Events further ahead of the wall clock go to the dead letters as `future_timestamp` (default 5m). */
    maxFutureSkew?: Duration
  }
}

/**
 * Builds a topology: add sources, chain operators, end in sinks, then `build()`.
 *
 * @example
 * const app = topology('page-views', { watermarks: { maxOutOfOrderness: '3s', idleTimeout: '10s' } })
 * app.source(topic('clicks', { value: json(Click) })).to(sink)
 * const t = app.build()
 */
export class TopologyBuilder {
  private readonly graph = new GraphBuilder()
  private readonly watermarks: WatermarkSettings
  private readonly sides: { deadLetters?: Stream<DeadLetter>; lateEvents?: Stream<DeadLetter> } = {}

  constructor(
    readonly name: string,
    options: TopologyOptions = {},
  ) {
    if (!name) throw new TypeError('topology: the name must not be empty')
    const w = options.watermarks ?? {}
    this.watermarks = Object.freeze({
      maxOutOfOrderness: toMillis(w.maxOutOfOrderness ?? 0, 'watermarks.maxOutOfOrderness'),
      idleTimeout: toMillis(w.idleTimeout ?? '10s', 'watermarks.idleTimeout'),
      maxFutureSkew: toMillis(w.maxFutureSkew ?? '5m', 'watermarks.maxFutureSkew'),
    })
  }

  /** Adds an input topic; the serde types the stream. */
  source<T>(spec: SourceSpec<T>): Stream<T> {
    const node = this.addSource('source', spec, "app.source(topic('views', { value: json(View) }))")
    return new Stream<T>(this.graph, node)
  }

  /**
   * Adds a table read from a topic: per Kafka record key, the latest value; a record with a null value (a
   * tombstone) deletes its row, and a record without a key is a dead letter (`invalid_event`). The topic is
   * usually compacted. Event time comes from `timestamp` (for a tombstone, the record timestamp): a stream
   * joined with the table sees each row as of its own event time.
   *
   * @example
   * const products = app.table(topic('products', { value: json(Product), timestamp: (p) => p.updated_at }))
   */
  table<V>(spec: SourceSpec<V>): Table<V> {
    const node = this.addSource('table', spec, "app.table(topic('products', { value: json(Product) }))")
    return new Table<V>(this.graph, node)
  }

  /** Checks a topic spec (`op` and `example`: what was called, for the TypeError) and adds its source node. */
  private addSource<T>(op: 'source' | 'table', spec: SourceSpec<T>, example: string): string {
    if (!spec || typeof spec.topic !== 'string' || typeof spec.value?.decode !== 'function')
      throw new TypeError(`${op}: pass a topic spec, e.g. ${example}; got ${describeValue(spec)}`)
    return this.graph.add({
      kind: 'source',
      topic: spec.topic,
      serde: spec.value,
      timestamp: spec.timestamp as SourceSpec<never>['timestamp'],
      ...(op === 'table' ? { table: true } : {}),
      inputs: [],
      name: `${op}-${spec.topic}`,
    })
  }

  /** Records that failed (bad JSON, invalid events, future timestamps, processing errors) and late events unless `lateEvents()` is used. */
  deadLetters(): Stream<DeadLetter> {
    this.sides.deadLetters ??= new Stream(
      this.graph,
      this.graph.add({ kind: 'deadLetters', inputs: [], name: 'dead-letters' }),
    )
    return this.sides.deadLetters
  }

  /** Events dropped because they arrived after their window's allowed lateness (reason `late_event`). */
  lateEvents(): Stream<DeadLetter> {
    this.sides.lateEvents ??= new Stream(
      this.graph,
      this.graph.add({ kind: 'lateEvents', inputs: [], name: 'late-events' }),
    )
    return this.sides.lateEvents
  }

  /** Validates and freezes the graph; throws a {@link TopologyError} naming the offending node. */
  build(): Topology {
    return compileTopology(this.name, this.watermarks, this.graph.seal())
  }
}

/**
 * Starts a topology definition.
 *
 * @example
 * const app = topology('page-views', { watermarks: { maxOutOfOrderness: '3s' } })
 */
export function topology(name: string, options: TopologyOptions = {}): TopologyBuilder {
  return new TopologyBuilder(name, options)
}
