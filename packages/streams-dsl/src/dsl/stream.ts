import type { Sink } from '../connectors/types.js'
import { type Duration, toMillis } from '../core/duration.js'
import type { Processor } from '../core/processor.js'
import type { TableChange } from '../core/table.js'
import type { GraphBuilder } from '../graph/graph-builder.js'
import type { KeyByNode } from '../graph/nodes.js'
import { describeValue } from '../graph/validate.js'
import { type Aggregation, count, reducing } from './aggregations.js'
import type { Windowed, WindowSpec } from './windows.js'

/**
 * Naming option every operator takes, so state and descriptions keep a stable name.
 *
 * @example
 * views.keyBy((v) => v.page, { name: 'by-page' }) // repartition topic `<application-id>-by-page-repartition`
 */
export type Named = {
  /** Default `<kind>-<n>` in creation order. */
  name?: string
}

/**
 * Options of {@link Stream.keyBy}.
 *
 * @example
 * views.keyBy((v) => v.page, { name: 'by-page', copartitioned: true }) // the topic is keyed by page already
 */
export type KeyByOptions = Named & {
  /**
   * Declares that every source feeding this keyBy is already partitioned by this key: its Kafka record key is
   * `String(key)`, written with one partitioner, and all such topics have the same partition count (Kafka Streams'
   * co-partitioning). Then no repartition topic is used and a task is a partition number across the topics.
   * The runner checks the partition counts at start and repartitions when they differ.
   */
  copartitioned?: boolean
}

/**
 * Options of {@link KeyedStream.window}.
 *
 * @example
 * keyed.window(tumbling('10s'), { allowedLateness: '5s', emit: 'onClose', name: 'per-10s' })
 */
export type WindowOptions = Named & {
  /** How long after a window closes late events still update it (default 0). */
  allowedLateness?: Duration
  /** `onClose` (default): one result when the watermark passes the end, plus late firings; `onUpdate`: a result per event. */
  emit?: 'onClose' | 'onUpdate'
}

/**
 * Options of {@link Stream.deduplicate}.
 *
 * @example
 * events.deduplicate({ by: (e) => e.event_id, within: '10m', allowedLateness: '5s', name: 'dedupe-events' })
 */
export type DeduplicateOptions<T> = Named & {
  /** The id of a record: two records with the same id are the same event. */
  by: (value: T) => string | number
  /** How far apart in event time two records of one id are still the same event (`|ts - tsFirst| < within`). */
  within: Duration
  /**
   * How far behind the watermark a record is still judged (default 0), like a window's allowed lateness: ids are
   * held that much longer. Use the allowedLateness of the window downstream, if any.
   */
  allowedLateness?: Duration
}

/**
 * Options of {@link KeyedStream.join} and {@link KeyedStream.leftJoin}.
 *
 * @example
 * clicks.join(impressions, (c, i) => ({ ...c, product_id: i.product_id }), { within: { before: '30m', after: 0 } })
 */
export type JoinOptions = Named & {
  /**
   * Which records of the other side pair with a record of this side at event time t: those at u with
   * `|u - t| <= within`, or, given `{ before, after }`, with `t - before <= u <= t + after` (`before`: how long
   * the other side's record may come first).
   */
  within: Duration | { before: Duration; after: Duration }
  /** How far behind the watermark a record is still joined (default 0): records are held that much longer. */
  allowedLateness?: Duration
}

/**
 * Options of a stream-table {@link KeyedStream.join} / {@link KeyedStream.leftJoin}.
 *
 * @example
 * views.keyBy((v) => v.product_id).join(products, (v, p) => ({ ...v, category: p.category }), { allowedLateness: '5s' })
 */
export type TableJoinOptions = Named & {
  /** How far behind the watermark a record or a table change is still taken (default 0). */
  allowedLateness?: Duration
}

/** The tagged value a join's input carries: which side it came from, and the value. @internal */
export type JoinSide = { readonly side: 0 | 1; readonly value: unknown }

/** Throws a one-line TypeError unless `fn` is a function: what the operator takes, with an example. */
function needFunction(op: string, fn: unknown, example: string): void {
  if (typeof fn !== 'function')
    throw new TypeError(`${op}: pass a function of the value, e.g. ${example}; got ${describeValue(fn)}`)
}

/** Throws a one-line TypeError unless `aggregation` has the functions an aggregation needs (windowed or not). */
function needAggregation(aggregation: unknown): void {
  const a = aggregation as Partial<Aggregation<unknown, unknown, unknown>> | undefined
  if (!a || typeof a.init !== 'function' || typeof a.add !== 'function' || typeof a.result !== 'function')
    throw new TypeError(
      `aggregate: pass an aggregation { name, init, add, result }, e.g. count(), sum((v) => v.n) or sumOf('views', 'orders'); got ${describeValue(aggregation)}`,
    )
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
    /** @internal */
    protected readonly graph: GraphBuilder,
    /** The name of the node that produces this stream. */
    readonly node: string,
  ) {}

  /** Transforms each value. */
  map<U>(fn: (value: T) => U, options: Named = {}): Stream<U> {
    needFunction('map', fn, '.map((v) => ({ page: v.page, n: 1 }))')
    return new Stream<U>(this.graph, this.graph.add({ kind: 'map', fn, inputs: [this.node], name: options.name }))
  }

  /** Keeps the values for which `fn` is true. */
  filter(fn: (value: T) => boolean, options: Named = {}): Stream<T> {
    needFunction('filter', fn, ".filter((v) => v.page !== '')")
    return new Stream<T>(this.graph, this.graph.add({ kind: 'filter', fn, inputs: [this.node], name: options.name }))
  }

  /** Replaces each value by zero or more values; they keep its event time. */
  flatMap<U>(fn: (value: T) => Iterable<U>, options: Named = {}): Stream<U> {
    needFunction('flatMap', fn, '.flatMap((v) => v.items)')
    return new Stream<U>(this.graph, this.graph.add({ kind: 'flatMap', fn, inputs: [this.node], name: options.name }))
  }

  /** Interleaves this stream with others of the same type. */
  merge(...others: Stream<T>[]): Stream<T> {
    const bad = others.findIndex((o) => !(o instanceof Stream))
    if (bad >= 0)
      throw new TypeError(
        `merge: pass streams of this topology, e.g. a.merge(b); argument ${bad + 1} is ${describeValue(others[bad])}`,
      )
    const inputs = [this.node, ...others.map((o) => o.node)]
    return new Stream<T>(this.graph, this.graph.add({ kind: 'merge', inputs }))
  }

  /**
   * Drops duplicates: the same id delivered twice counts once. A record is a **duplicate** when the same task
   * already kept a record of the same `by` id whose event time `tsFirst` has `|ts - tsFirst| < within` (strict:
   * a record exactly `within` later is a new event, kept, and itself becomes a first occurrence). The first
   * occurrence passes on unchanged; duplicates are dropped and counted in the status counter `duplicatesDropped`
   * (and the metric `streams_duplicates_dropped_total`); they are not dead letters.
   *
   * Event time and the watermark W (docs/contract.md §2) bound the state: an id kept at `tsFirst` is held until
   * `W >= tsFirst + within - 1 + allowedLateness`, then purged (with `allowedLateness` 0: once W has passed the
   * last event time that could still be its duplicate). A record that is no duplicate of a held id and arrives
   * while `W >= ts + allowedLateness` might duplicate an id already purged, so it cannot be judged reliably: it is
   * **late**, like an event for a purged window (§2.6): not passed on, sent to the late-events output (the DLQ,
   * reason `late_event`) and counted in `late`. That is what Flink and Spark users expect from a watermark-bounded
   * dedupe (Spark's `dropDuplicatesWithinWatermark` drops data behind the watermark too): a record is never let
   * through twice silently; it is either deduplicated or reported.
   *
   * Duplicates are found **per task**: among the records of one input partition (with a co-partitioned or a
   * repartitioned input, of one task), since records of the same Kafka key land in the same partition. Key
   * your topic by the event id, or by whatever a duplicate shares, so that duplicates meet. Not available after
   * `keyBy` or an aggregate (the build says so): deduplicate before the keyBy. The ids are state of the task: they are in `snapshot()`,
   * restored with `restore()`, written in the changelog checkpoints, count in `status().windows.open`, and
   * offsets are committed only past the records whose ids have been purged or checkpointed, as with windows.
   *
   * @example
   * app
   *   .source(topic('orders', { value: json(Order) })) // Kafka key: event_id
   *   .deduplicate({ by: (o) => o.event_id, within: '10m' }) // a redelivery within 10 minutes counts once
   *   .keyBy((o) => o.product_id)
   *   .window(tumbling('1m'))
   *   .count()
   *   .to(sink)
   */
  deduplicate(options: DeduplicateOptions<T>): Stream<T> {
    const o = (options ?? {}) as Partial<DeduplicateOptions<T>>
    needFunction('deduplicate', o.by, '.deduplicate({ by: (v) => v.event_id, within: ' + "'10m' })")
    const within = toMillis(o.within as Duration, 'within')
    if (!(within >= 1)) throw new TypeError(`deduplicate: within must be at least 1 ms, e.g. '10m'; got ${within}`)
    const allowedLateness = toMillis(o.allowedLateness ?? 0, 'allowedLateness')
    return new Stream<T>(
      this.graph,
      this.graph.add({
        kind: 'deduplicate',
        by: o.by as (value: never) => string | number,
        within,
        allowedLateness,
        inputs: [this.node],
        name: o.name,
      }),
    )
  }

  /**
   * Groups values by a key, ahead of a window. Unless the input is declared `copartitioned`, the runner sends
   * each record through an internal topic `<application-id>-<name>-repartition` partitioned by this key, so
   * several instances can share the work whatever the input's keys and partition counts (see `describe()`).
   */
  keyBy<K extends string | number>(fn: (value: T) => K, options: KeyByOptions = {}): KeyedStream<K, T> {
    needFunction('keyBy', fn, '.keyBy((v) => v.page)')
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
    /** @internal */
    readonly graph: GraphBuilder,
    readonly node: string,
  ) {}

  /**
   * An interval join (Flink's `intervalJoin`, Kafka Streams' windowed `join`): each record of this stream at
   * event time t pairs with every record of `other` with the same key at u, `t - before <= u <= t + after`
   * (see the `within` option); `joiner` builds the result, whose event time is the later of t and u. A
   * pair is emitted as soon as its second record arrives, whatever the order the two arrive in.
   *
   * Event time and the watermark W (docs/contract.md §2, docs/guide.md §11) bound the state: a record at t is held until W has
   * passed the last time a record that could pair with it can still arrive (this side: `W >= t + after + L`,
   * the other: `W >= u + before + L`). A record that arrives while `W >= t + L` may have missed a pair already
   * purged: it is **late**, not joined, sent to the late-events output (reason `late_event`) and counted in
   * `late`. So the pairs are exactly those of records that were not late, in any arrival order, on any
   * number of instances.
   *
   * Both sides are repartitioned by the key through one internal topic, `<application-id>-<this keyBy's
   * name>-repartition`, unless both keyBy calls declare `copartitioned`. The held records are the task's state
   * (snapshots, changelog checkpoints, committable offsets), like windows. Values must be JSON-serialisable.
   * Its results can be keyed again (e.g. by product) and windowed; such a topology runs as one task holding
   * every partition (`TASKS=single`, one instance), since chaining repartition stages is not supported yet.
   *
   * @example
   * const clicks = app.source(topic('clicks', { value: json(Click), timestamp: (c) => c.ts }))
   * const impressions = app.source(topic('impressions', { value: json(Impression), timestamp: (i) => i.ts }))
   * clicks
   *   .keyBy((c) => c.impression_id)
   *   .join(impressions.keyBy((i) => i.impression_id), (c, i) => ({ product_id: i.product_id, ts: c.ts }), {
   *     within: { before: '30m', after: 0 }, // the impression up to 30 minutes before the click
   *   })
   *   .to(attributedClicks)
   */
  join<U, R>(other: KeyedStream<K, U>, joiner: (left: T, right: U, key: K) => R, options: JoinOptions): Stream<R>
  /**
   * A stream-table join (enrichment, Flink's event-time temporal join, Kafka Streams' join with a versioned
   * table): each record of this stream at event time t is joined with the row of `table` for its key **as of
   * t**, the newest change of that row at or before t (a row deleted by then, or not yet set, is no row); an
   * inner join drops a record with no row. To be exact whatever order the two topics are read in, a record
   * waits until the watermark passes t (W >= t), when no change at or before t can arrive any more, and its
   * result has event time t.
   *
   * A record, or a table change, that arrives while `W >= t + L` is **late** (late-events output, reason
   * `late_event`). The table keeps, per key, the newest change at or before W - L and every later one. The
   * table's topic must be keyed by the row key; both inputs go through one repartition topic named after this
   * keyBy unless it declares `copartitioned` (then the table's topic must have the same partition count). The
   * rows and the waiting records are the task's state, like windows. Its results can be keyed again and windowed
   * in a topology run as one task (`TASKS=single`).
   *
   * @example
   * const products = app.table(topic('products', { value: json(Product) }))
   * views
   *   .keyBy((v) => v.product_id)
   *   .join(products, (view, product) => ({ ...view, category: product.category }))
   *   .to(enrichedViews)
   */
  join<V, R>(table: Table<V>, joiner: (value: T, row: V, key: K) => R, options?: TableJoinOptions): Stream<R>
  join<U, R>(
    other: KeyedStream<K, U> | Table<U>,
    joiner: (left: T, right: U, key: K) => R,
    options?: JoinOptions | TableJoinOptions,
  ): Stream<R> {
    if (other instanceof Table)
      return this.addTableJoin('inner', other, joiner as (l: T, r: U | undefined, k: K) => R, options)
    return this.addJoin('join', other, joiner as (l: T, r: U | undefined, k: K) => R, options as JoinOptions)
  }

  /**
   * Like {@link KeyedStream.join}, and also every record of this stream that found no pair, with `right`
   * undefined, once no pair can come any more (W >= t + after + L); its event time is t, so a sink or a second
   * topology sees it that much later than the pairs.
   *
   * @example
   * impressions
   *   .keyBy((i) => i.impression_id)
   *   .leftJoin(clicks.keyBy((c) => c.impression_id), (i, c) => ({ ...i, clicked: c !== undefined }), { within: { before: 0, after: '30m' } })
   *   .to(sink)
   */
  leftJoin<U, R>(
    other: KeyedStream<K, U>,
    joiner: (left: T, right: U | undefined, key: K) => R,
    options: JoinOptions,
  ): Stream<R>
  /**
   * Like the stream-table {@link KeyedStream.join}, and a record with no row at its time is kept, `row`
   * undefined.
   *
   * @example
   * views.keyBy((v) => v.product_id).leftJoin(products, (v, p) => ({ ...v, category: p?.category ?? 'unknown' })).to(sink)
   */
  leftJoin<V, R>(
    table: Table<V>,
    joiner: (value: T, row: V | undefined, key: K) => R,
    options?: TableJoinOptions,
  ): Stream<R>
  leftJoin<U, R>(
    other: KeyedStream<K, U> | Table<U>,
    joiner: (left: T, right: U | undefined, key: K) => R,
    options?: JoinOptions | TableJoinOptions,
  ): Stream<R> {
    if (other instanceof Table) return this.addTableJoin('left', other, joiner, options)
    return this.addJoin('left', other, joiner, options as JoinOptions)
  }

  private addTableJoin<V, R>(
    type: 'inner' | 'left',
    table: Table<V>,
    joiner: (value: T, row: V | undefined, key: K) => R,
    options: TableJoinOptions | undefined,
  ): Stream<R> {
    const op = type === 'inner' ? 'join' : 'leftJoin'
    if (table.graph !== this.graph) throw new TypeError(`${op}: the table belongs to another topology`)
    needFunction(op, joiner, `.${op}(table, (value, row) => ({ ...value, category: row.category }))`)
    const o = (options ?? {}) as Partial<TableJoinOptions> & { within?: unknown }
    if (o.within !== undefined)
      throw new TypeError(
        `${op}: a stream-table join has no within: each record is joined with the row as of its event time`,
      )
    const allowedLateness = toMillis(o.allowedLateness ?? 0, 'allowedLateness')
    const keyBy = this.graph.node(this.node) as KeyByNode
    if (this.graph.hasConsumers(keyBy.name))
      throw new TypeError(`${op}: keyBy "${keyBy.name}" already feeds a window or a join; key the stream again`)
    this.graph.remove(keyBy.name)
    const name = o.name ?? `join-${keyBy.name}-${table.node}`
    const tag =
      (side: 0 | 1) =>
      (value: unknown): JoinSide => ({ side, value })
    const l = this.graph.add({ kind: 'map', fn: tag(0), inputs: keyBy.inputs, name: `${name}-stream` })
    const r = this.graph.add({ kind: 'map', fn: tag(1), inputs: [table.node], name: `${name}-table` })
    const both = this.graph.add({ kind: 'merge', inputs: [l, r], name: `${name}-sides` })
    const key = keyBy.fn as (v: unknown) => string | number
    const keyed = this.graph.add({
      kind: 'keyBy',
      // a row's key is a string (the Kafka record key): the stream's key is compared as a string too
      fn: ((s: JoinSide) => (s.side === 0 ? String(key(s.value)) : (s.value as TableChange<V>).key)) as (
        v: never,
      ) => string,
      inputs: [both],
      name: keyBy.name,
      ...(keyBy.copartitioned === true && { copartitioned: true }),
    })
    const node = this.graph.add({
      kind: 'tableJoin',
      type,
      allowedLateness,
      joiner: joiner as unknown as (v: never, r: never, k: never) => unknown,
      inputs: [keyed],
      name,
    })
    return new Stream<R>(this.graph, node)
  }

  private addJoin<U, R>(
    type: 'join' | 'left',
    other: KeyedStream<K, U>,
    joiner: (left: T, right: U | undefined, key: K) => R,
    options: JoinOptions,
  ): Stream<R> {
    const op = type === 'join' ? 'join' : 'leftJoin'
    if (!(other instanceof KeyedStream) || other.graph !== this.graph)
      throw new TypeError(
        `${op}: pass a keyed stream of this topology, e.g. a.keyBy((x) => x.id).${op}(b.keyBy((y) => y.id), (x, y) => ({ ...x, ...y }), { within: '5m' }); got ${describeValue(other)}`,
      )
    if ((other as unknown) === this) throw new TypeError(`${op}: join two keyed streams, not one with itself`)
    needFunction(op, joiner, `.${op}(other, (left, right) => ({ ...left, other: right }), { within: '5m' })`)
    const o = (options ?? {}) as Partial<JoinOptions>
    const w = o.within
    if (w === undefined)
      throw new TypeError(
        `${op}: say how far apart in event time a pair may be, e.g. { within: '5m' } or { within: { before: '30m', after: 0 } }`,
      )
    const [before, after] =
      typeof w === 'object' && w !== null
        ? [toMillis(w.before, 'within.before'), toMillis(w.after, 'within.after')]
        : [toMillis(w as Duration, 'within'), toMillis(w as Duration, 'within')]
    const allowedLateness = toMillis(o.allowedLateness ?? 0, 'allowedLateness')
    const sides = [this.node, other.node].map((name) => this.graph.node(name) as KeyByNode)
    for (const k of sides)
      if (this.graph.hasConsumers(k.name))
        throw new TypeError(
          `${op}: keyBy "${k.name}" already feeds a window or another join; key the stream again for the join`,
        )
    const [left, right] = sides as [KeyByNode, KeyByNode]
    for (const k of sides) this.graph.remove(k.name)
    const name = o.name ?? `join-${left.name}-${right.name}`
    const tag =
      (side: 0 | 1) =>
      (value: unknown): JoinSide => ({ side, value })
    const l = this.graph.add({ kind: 'map', fn: tag(0), inputs: left.inputs, name: `${name}-left` })
    const r = this.graph.add({ kind: 'map', fn: tag(1), inputs: right.inputs, name: `${name}-right` })
    const both = this.graph.add({ kind: 'merge', inputs: [l, r], name: `${name}-sides` })
    const lk = left.fn as (v: unknown) => string | number
    const rk = right.fn as (v: unknown) => string | number
    const keyed = this.graph.add({
      kind: 'keyBy',
      fn: ((s: JoinSide) => (s.side === 0 ? lk(s.value) : rk(s.value))) as (v: never) => string | number,
      inputs: [both],
      name: left.name,
      ...(left.copartitioned === true && right.copartitioned === true && { copartitioned: true }),
    })
    const node = this.graph.add({
      kind: 'join',
      type: type === 'join' ? 'inner' : 'left',
      before,
      after,
      allowedLateness,
      joiner: joiner as unknown as (l: never, r: never, k: never) => unknown,
      inputs: [keyed],
      name,
    })
    return new Stream<R>(this.graph, node)
  }

  /**
   * A custom operator on each key (Kafka Streams' Processor API, Flink's `KeyedProcessFunction`): `process`
   * sees every record of a key with that key's state, and may set event-time timers; `onTimer` runs once the
   * watermark reaches a timer's time. Whatever either emits flows on as a stream. State and timers are checkpointed
   * with the task and restored on any instance; the keyBy repartitions as for a window. For what windows,
   * joins and tables do not express: timeouts, alerts on silence, state machines, custom emit rules.
   *
   * @example
   * orders.keyBy((e) => e.order_id).process<{ due: number }, string>({
   *   process(e, ctx) {
   *     if (e.type === 'placed') ctx.setTimer((ctx.state = { due: ctx.timestamp + 15 * 60_000 }).due)
   *     else if (ctx.state && ctx.timestamp < ctx.state.due) ctx.state = undefined // paid in time
   *   },
   *   onTimer(_time, ctx) {
   *     if (ctx.state) ctx.emit(`order ${ctx.key} not paid within 15 minutes`)
   *     ctx.state = undefined
   *   },
   * }).to(alerts)
   */
  process<S, R>(processor: Processor<K, T, S, R>, options: Named = {}): Stream<R> {
    const p = processor as Partial<Processor<K, T, S, R>> | undefined
    if (!p || typeof p.process !== 'function')
      throw new TypeError(
        `process: pass a processor { process(value, ctx), onTimer?(time, ctx) }, e.g. { process: (v, ctx) => ctx.emit(v) }; got ${describeValue(processor)}`,
      )
    for (const cb of ['onTimer', 'onWallClockTimer'] as const)
      if (p[cb] !== undefined && typeof p[cb] !== 'function')
        throw new TypeError(`process: ${cb} must be a function (time, ctx) => void, or left out`)
    const node = this.graph.add({
      kind: 'process',
      processor: processor as unknown as Processor<never, never, unknown, unknown>,
      inputs: [this.node],
      name: options.name ?? p.name,
    })
    return new Stream<R>(this.graph, node)
  }

  /**
   * Aggregates each key over all time, with no window: a {@link Table} of running results (Kafka Streams'
   * `groupByKey().aggregate()`, a KTable). Every record updates its key's result and emits it at once, as a
   * change `{ key, value }` with the record's event time (emit on change; `toStream()` or `to(sink)` reads
   * them). Nothing is late and nothing is purged: the state grows with the keys, and is checkpointed with the
   * task. The key is the keyBy's, as a string.
   *
   * @example
   * const totals = orders.keyBy((o) => o.customer_id).aggregate(sumOf('amount_cents'))
   * totals.to(redisHash({ key: 'customer:totals', field: (c) => c.key }))
   */
  aggregate<A, R>(aggregation: Aggregation<T, A, R>, options: Named = {}): Table<R> {
    needAggregation(aggregation)
    const node = this.graph.add({
      kind: 'tableAggregate',
      aggregation: aggregation as unknown as Aggregation<never, unknown, unknown>,
      inputs: [this.node],
      name: options.name,
    })
    return new Table<R>(this.graph, node)
  }

  /**
   * Counts each key's records over all time: a table of running counts (see {@link KeyedStream.aggregate}).
   *
   * @example
   * views.keyBy((v) => v.page).count().to(redisHash({ key: 'views:total', field: (c) => c.key }))
   */
  count(options: Named = {}): Table<number> {
    return this.aggregate(count(), options)
  }

  /**
   * Folds each key's records over all time with `fn`: a table of the running result (see
   * {@link KeyedStream.aggregate}).
   *
   * @example
   * readings.keyBy((r) => r.sensor).reduce((a, b) => (a.value >= b.value ? a : b)) // each sensor's highest so far
   */
  reduce(fn: (a: T, b: T) => T, options: Named = {}): Table<T> {
    needFunction('reduce', fn, '.reduce((a, b) => (a.at > b.at ? a : b))')
    return this.aggregate(reducing(fn), options)
  }

  /** Cuts the keyed stream into event-time windows. */
  window(spec: WindowSpec, options: WindowOptions = {}): WindowedStream<K, T> {
    if (!spec || typeof spec !== 'object' || !['tumbling', 'hopping', 'session', 'sliding'].includes(spec.kind))
      throw new TypeError(
        `window: pass a window spec, e.g. tumbling('10s'), hopping({ size: '1m', advance: '10s' }), session('30m') or sliding('1m'); got ${describeValue(spec)}`,
      )
    const allowedLateness = toMillis(options.allowedLateness ?? 0, 'allowedLateness')
    const emit = options.emit ?? 'onClose'
    if (emit !== 'onClose' && emit !== 'onUpdate')
      throw new TypeError(`window: emit must be 'onClose' or 'onUpdate', not ${describeValue(emit)}`)
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
    needAggregation(aggregation)
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
    needFunction('reduce', fn, '.reduce((a, b) => (a.at > b.at ? a : b))')
    return this.aggregate(reducing(fn), options)
  }
}

/**
 * A table: per key, the latest value. Read from a topic (`app.table(topic(...))`: the Kafka record key, a
 * tombstone deleting the row), or the running results of an aggregation without a window
 * (`keyBy(fn).count()`). Join a keyed stream with it (`keyed.join(table, ...)`), or read its changes as a
 * stream (`toStream()`, `to(sink)`).
 *
 * @example
 * const products = app.table(topic('products', { value: json(Product) })) // a compacted topic keyed by product id
 * views.keyBy((v) => v.product_id).join(products, (view, product) => ({ ...view, category: product.category })).to(sink)
 */
export class Table<V> {
  /** @internal */
  constructor(
    /** @internal */
    readonly graph: GraphBuilder,
    /** The name of the table's source node. */
    readonly node: string,
  ) {}

  /**
   * Every change of the table as it is read: its key and new value (null: deleted).
   *
   * @example
   * products.toStream().filter((c) => c.value === null).to(deletedProducts)
   */
  toStream(options: Named = {}): Stream<TableChange<V>> {
    return new Stream<TableChange<V>>(
      this.graph,
      this.graph.add({ kind: 'map', fn: (c: never) => c, inputs: [this.node], name: options.name }),
    )
  }

  /**
   * Writes every change of the table to a sink (`toStream().to(sink)`): for a table of running results, each
   * key's new result as it changes.
   *
   * @example
   * views.keyBy((v) => v.page).count().to(redisHash({ key: 'views:total', field: (c) => c.key, value: (c) => String(c.value) }))
   */
  to(sink: Sink<TableChange<V>>, options: Named = {}): void {
    this.toStream().to(sink, options)
  }
}
