import type { Sink } from '../connectors/types.js'
import type { GraphBuilder } from '../graph/graph-builder.js'
import { type Aggregation, count, reducing } from './aggregations.js'
import { type Duration, toMillis } from './duration.js'
import type { Windowed, WindowSpec } from './windows.js'

/** Naming option every operator takes, so state and descriptions keep a stable name. */
export type Named = { name?: string }

/** Options of {@link Stream.keyBy}. */
export type KeyByOptions = Named & {
  /**
   * Declares that every source feeding this keyBy is already partitioned by this key: its Kafka record key is
   * `String(key)`, written with one partitioner, and all such topics have the same partition count (Kafka Streams'
   * co-partitioning). Then no repartition topic is used and a task is a partition number across the topics.
   * The runner checks the partition counts at start and repartitions when they differ.
   */
  copartitioned?: boolean
}

/** Options of {@link KeyedStream.window}. */
export type WindowOptions = Named & {
  /** How long after a window closes late events still update it (default 0). */
  allowedLateness?: Duration
  /** `onClose` (default): one result when the watermark passes the end, plus late firings; `onUpdate`: a result per event. */
  emit?: 'onClose' | 'onUpdate'
}

/**
 * A stream of values of type T. Each call adds a node to the topology and returns a new stream.
 *
 * @example
 * app.source(topic('clicks', { value: json(Click) })).filter((c) => c.user_id !== '').to(sink)
 */
export class Stream<T> {
  /** @internal */
  constructor(
    protected readonly graph: GraphBuilder,
    /** The name of the node that produces this stream. */
    readonly node: string,
  ) {}

  /** Transforms each value. */
  map<U>(fn: (value: T) => U, options: Named = {}): Stream<U> {
    return new Stream<U>(this.graph, this.graph.add({ kind: 'map', fn, inputs: [this.node], name: options.name }))
  }

  /** Keeps the values for which `fn` is true. */
  filter(fn: (value: T) => boolean, options: Named = {}): Stream<T> {
    return new Stream<T>(this.graph, this.graph.add({ kind: 'filter', fn, inputs: [this.node], name: options.name }))
  }

  /** Replaces each value by zero or more values; they keep its event time. */
  flatMap<U>(fn: (value: T) => Iterable<U>, options: Named = {}): Stream<U> {
    return new Stream<U>(this.graph, this.graph.add({ kind: 'flatMap', fn, inputs: [this.node], name: options.name }))
  }

  /** Interleaves this stream with others of the same type. */
  merge(...others: Stream<T>[]): Stream<T> {
    const inputs = [this.node, ...others.map((o) => o.node)]
    return new Stream<T>(this.graph, this.graph.add({ kind: 'merge', inputs }))
  }

  /**
   * Groups values by a key, ahead of a window. Unless the input is declared `copartitioned`, the runner sends
   * each record through an internal topic `<application-id>-<name>-repartition` partitioned by this key, so
   * several instances can share the work whatever the input's keys and partition counts (see `describe()`).
   */
  keyBy<K extends string | number>(fn: (value: T) => K, options: KeyByOptions = {}): KeyedStream<K, T> {
    return new KeyedStream<K, T>(this.graph, this.graph.add({ kind: 'keyBy', fn, inputs: [this.node], ...options }))
  }

  /** Writes every value to a sink. */
  to(sink: Sink<T>, options: Named = {}): void {
    this.graph.add({ kind: 'sink', sink, inputs: [this.node], name: options.name })
  }
}

/**
 * A stream grouped by key; window it to aggregate.
 *
 * @example
 * events.keyBy((e) => e.productId).window(tumbling('10s'), { allowedLateness: '5s' })
 */
export class KeyedStream<K, T> {
  /** @internal */
  constructor(
    private readonly graph: GraphBuilder,
    readonly node: string,
  ) {}

  /** Cuts the keyed stream into event-time windows. */
  window(spec: WindowSpec, options: WindowOptions = {}): WindowedStream<K, T> {
    const allowedLateness = toMillis(options.allowedLateness ?? 0, 'allowedLateness')
    const emit = options.emit ?? 'onClose'
    if (emit !== 'onClose' && emit !== 'onUpdate')
      throw new TypeError(`window emit must be onClose or onUpdate, not ${emit}`)
    const name = this.graph.add({
      kind: 'window',
      spec,
      allowedLateness,
      emit,
      inputs: [this.node],
      name: options.name,
    })
    return new WindowedStream<K, T>(this.graph, name)
  }
}

/**
 * Windows of a keyed stream; aggregate them into {@link Windowed} results.
 *
 * @example
 * keyed.window(tumbling('10s')).aggregate(sumOf('impressions', 'clicks'))
 */
export class WindowedStream<K, T> {
  /** @internal */
  constructor(
    private readonly graph: GraphBuilder,
    readonly node: string,
  ) {}

  /** Aggregates each key and window with an {@link Aggregation}. */
  aggregate<A, R>(aggregation: Aggregation<T, A, R>, options: Named = {}): Stream<Windowed<K, R>> {
    const node = this.graph.add({
      kind: 'aggregate',
      aggregation: aggregation as unknown as Aggregation<never, unknown, unknown>,
      inputs: [this.node],
      name: options.name,
    })
    return new Stream<Windowed<K, R>>(this.graph, node)
  }

  /** Counts the events of each key and window. */
  count(options: Named = {}): Stream<Windowed<K, number>> {
    return this.aggregate(count(), options)
  }

  /** Folds the events of each key and window with `fn`. */
  reduce(fn: (a: T, b: T) => T, options: Named = {}): Stream<Windowed<K, T>> {
    return this.aggregate(reducing(fn), options)
  }
}
