import type {
  InputBatch,
  RepartitionRecord,
  Sink,
  TopicPartition,
  TopicPartitionOffset,
} from '../../connectors/types.js'
import type { Topology } from '../../graph/topology.js'
import type { EngineCounters } from '../context.js'
import { createEngine, type EngineCore } from '../engine.js'
import { SinkWriters } from '../sink-writer.js'
import type {
  Engine,
  EngineOptions,
  EngineSnapshot,
  EngineStatus,
  RepartitionTopic,
  TaskGrouping,
  TaskSnapshot,
} from '../types.js'
import { markerRecords, type OriginState } from './codec.js'

/** Options of {@link createStagedEngine}. */
export type StagedEngineOptions = Omit<EngineOptions, 'repartition' | 'tasks'> & {
  /** One internal topic per repartitioned keyBy node. */
  readonly topics: readonly RepartitionTopic[]
  /** Writes routed records and markers (a Kafka producer; memory in tests); resolves once durable. */
  readonly sink: Sink<RepartitionRecord>
  /** Every partition of every source topic: the partitions W is the least over. */
  readonly origins: readonly TopicPartition[]
  /** Tasks of the upstream side (default: one per source partition; `'partition'` for co-partitioned windows). */
  readonly upstreamTasks?: TaskGrouping
  /**
   * While a source partition owned here is idle, markers are sent at least this often (default 1000 ms): a
   * downstream task's all-idle advance runs on the markers' times, so it stops when they stop (the upstream
   * instance stopped or cut off), never on its own clock.
   */
  readonly markerHeartbeatMs?: number
}

const finite = (n: number): number | null => (Number.isFinite(n) ? n : null)
const id = (tp: TopicPartition): string => `${tp.topic}:${tp.partition}`

/**
 * A topology whose keyBy input is not partitioned by the key, run in two stages joined by internal topics, as
 * Kafka Streams does: the upstream engine reads the sources, validates and keys each record and sends it to its
 * key's partition of `<application-id>-<keyBy>-repartition`; one downstream engine per partition of that topic
 * (a task, moved with its state) runs the windows.
 *
 * docs/contract.md §2 holds over the original partitions: each repartitioned record carries the greatest event
 * time of its origin partition before it, and markers (sent after the data they cover, on every tick that
 * changed something) carry every origin's max event time and idleness, so each downstream task computes
 * W = min W(p) over the source partitions and judges each record against what a single engine would have
 * seen of its own partition. Records sent twice (an upstream crash between sending and committing) are dropped
 * by origin offset, which each task checkpoints with its windows.
 *
 * @example
 * const engine = createStagedEngine(topology, { topics, sink: kafkaRepartitionSink(), origins })
 */
export class StagedEngine implements Engine {
  readonly upstream: EngineCore
  /** Downstream engines by `topic:partition` of their repartition partition. */
  readonly downstream = new Map<string, EngineCore>()
  readonly #topics: ReadonlyMap<string, RepartitionTopic>
  /** One writer per sink for every engine here: routed records and markers share one, in order. */
  readonly writers: SinkWriters
  #lastMarkers = ''
  #lastIdle = ''
  #markersSentAt = Number.NEGATIVE_INFINITY

  constructor(
    readonly topology: Topology,
    readonly options: StagedEngineOptions,
  ) {
    this.#topics = new Map(options.topics.map((t) => [t.topic, t]))
    this.writers = new SinkWriters(undefined, options.onResultLatency)
    this.upstream = createEngine(topology, {
      ...this.#common(),
      tasks: options.upstreamTasks ?? ((tp) => `${tp.topic}-${tp.partition}`),
      repartition: { role: 'upstream', topics: options.topics, sink: options.sink },
    }) as EngineCore
  }

  readonly #wrapped = new Map<Sink<unknown>, Sink<unknown>>()
  /** Every task wraps a sink the same once: one wrapped sink, hence one writer, per sink for the whole job. */
  #wrapOnce(wrap: (sink: Sink<unknown>) => Sink<unknown>): (sink: Sink<unknown>) => Sink<unknown> {
    return (sink) => {
      let w = this.#wrapped.get(sink)
      if (!w) {
        w = wrap(sink)
        this.#wrapped.set(sink, w)
      }
      return w
    }
  }

  #common(): EngineOptions {
    const o = this.options
    return {
      ...(o.clock && { clock: o.clock }),
      ...(o.deadLetters && { deadLetters: o.deadLetters }),
      ...(o.wrapSink && { wrapSink: this.#wrapOnce(o.wrapSink) }),
      ...(o.caughtUp && { caughtUp: o.caughtUp }),
      ...(o.state && { state: o.state }),
      writers: this.writers,
    }
  }

  /** True for a partition of one of the internal topics. */
  isRepartition(topic: string): boolean {
    return this.#topics.has(topic)
  }

  /** The downstream engine of a repartition partition, created when new. */
  downstreamOf(tp: TopicPartition): EngineCore {
    const key = id(tp)
    let e = this.downstream.get(key)
    if (!e) {
      const topic = this.#topics.get(tp.topic)
      if (!topic) throw new Error(`topic "${tp.topic}" is not a repartition topic of "${this.topology.name}"`)
      e = createEngine(this.topology, {
        ...this.#common(),
        tasks: () => `${tp.topic}-${tp.partition}`,
        repartition: { role: 'downstream', topic, partition: tp.partition, origins: this.options.origins },
      }) as EngineCore
      this.downstream.set(key, e)
    }
    return e
  }

  async process(batch: InputBatch): Promise<void> {
    return this.processAll([batch])
  }

  /**
   * A poll's batches: the source partitions' go upstream (after a tick and, if idleness changed, markers: a
   * partition that went idle since the last tick lowers no W but may raise it, so the tasks hear of it before
   * this poll's records reach them, as a single engine refreshes idleness before judging them); the repartition
   * partitions' go to their tasks.
   */
  async processAll(batches: readonly InputBatch[]): Promise<void> {
    const sources = batches.filter((b) => !this.isRepartition(b.topic))
    if (sources.length > 0) {
      await this.upstream.tick()
      await this.sendMarkers('idle')
      await this.upstream.processAll(sources)
    }
    for (const b of batches) if (this.isRepartition(b.topic)) await this.downstreamOf(b).process(b)
  }

  /** Ticks the upstream side, sends markers when its partitions' watermark state changed, ticks every task. */
  async tick(): Promise<void> {
    await this.upstream.tick()
    await this.sendMarkers()
    for (const e of this.downstream.values()) await e.tick()
  }

  /**
   * Sends every repartition partition the watermark state of the source partitions this instance owns: when
   * any of it changed, or a partition is idle and the last markers are older than the heartbeat (`'changed'`, on
   * ticks); only when an idle flag changed (`'idle'`); or always. Through the same writer as the routed records,
   * so a marker follows the data it covers.
   */
  async sendMarkers(when: 'changed' | 'idle' | 'always' = 'changed'): Promise<void> {
    const owned = this.upstream.inputs
    if (owned.length === 0) return
    // checked before every upstream poll: cheap when nothing changed
    const idle = owned.map((p) => `${p.topic}:${p.partition}:${p.idle ? 1 : 0}`).join(',')
    if (when === 'idle' && idle === this.#lastIdle) return
    const now = this.upstream.clock.now()
    const signature = `${idle}|${owned.map((p) => p.maxEventTime).join(',')}`
    const heartbeat = owned.some((p) => p.idle) && now - this.#markersSentAt >= (this.options.markerHeartbeatMs ?? 1000)
    if (when === 'changed' && signature === this.#lastMarkers && !heartbeat) return
    const origins: OriginState[] = owned.map((p) => ({
      topic: p.topic,
      partition: p.partition,
      maxEventTime: finite(p.maxEventTime),
      idle: p.idle,
      lastEventWallTime: p.lastEventWallTime,
    }))
    const out: RepartitionRecord[] = []
    for (const t of this.options.topics) out.push(...markerRecords(t.topic, t.partitions, origins, now))
    await this.writers.of(this.options.sink).push(out)
    this.#lastMarkers = signature
    this.#lastIdle = idle
    this.#markersSentAt = now
  }

  async assign(partitions: readonly TopicPartition[]): Promise<void> {
    const sources = partitions.filter((tp) => !this.isRepartition(tp.topic))
    if (sources.length > 0) await this.upstream.assign(sources)
    for (const tp of partitions) if (this.isRepartition(tp.topic)) await this.downstreamOf(tp).assign([tp])
  }

  async revoke(partitions: readonly TopicPartition[]): Promise<void> {
    const sources = partitions.filter((tp) => !this.isRepartition(tp.topic))
    if (sources.length > 0) {
      await this.upstream.revoke(sources)
      this.#lastMarkers = ''
      this.#lastIdle = ''
    }
    for (const tp of partitions) {
      const e = this.downstream.get(id(tp))
      if (!e) continue
      await e.revoke([tp])
      // the task moves to another instance with its checkpoint
      this.downstream.delete(id(tp))
    }
  }

  committable(): TopicPartitionOffset[] {
    const out = this.upstream.committable()
    for (const e of this.downstream.values()) out.push(...e.committable())
    return out
  }

  /** Every task: the upstream ones (positions and W(p) of the sources) and one per repartition partition. */
  snapshot(): EngineSnapshot {
    const up = this.upstream.snapshot()
    const tasks: TaskSnapshot[] = [...up.tasks]
    for (const e of this.downstream.values()) {
      const s = e.snapshot()
      for (const t of s.tasks)
        tasks.push({
          ...t,
          clock: { watermark: s.watermark, maxEventTime: s.maxEventTime, lastEventWallTime: s.lastEventWallTime },
        })
    }
    return { ...up, tasks, counters: this.#counters() }
  }

  restore(snapshot: EngineSnapshot): void {
    const up: TaskSnapshot[] = []
    for (const t of snapshot.tasks) {
      const input = t.partitions.find((p) => !p.origin && this.isRepartition(p.topic))
      if (!input) {
        up.push(t)
        continue
      }
      const c = t.clock
      this.downstreamOf(input).restore({
        ...snapshot,
        watermark: c?.watermark ?? null,
        maxEventTime: c?.maxEventTime ?? null,
        lastEventWallTime: c?.lastEventWallTime ?? null,
        tasks: [t],
        counters: zero(),
      })
    }
    this.upstream.restore({ ...snapshot, tasks: up })
  }

  /**
   * One status for the whole job: the source partitions' watermarks as the upstream side sees them, the least
   * watermark of the tasks, and the oldest open window among all tasks with the origin partition holding it.
   */
  status(): EngineStatus {
    const up = this.upstream.status()
    let W = Number.POSITIVE_INFINITY
    let open = 0
    let oldest: EngineStatus['windows']['oldest'] = null
    let allIdle = this.downstream.size > 0
    for (const e of this.downstream.values()) {
      const s = e.status()
      W = Math.min(W, s.watermark ?? Number.NEGATIVE_INFINITY)
      open += s.windows.open
      if (s.windows.oldest && (oldest === null || s.windows.oldest.end < oldest.end)) oldest = s.windows.oldest
      allIdle &&= s.allIdle
    }
    if (this.downstream.size === 0) return up
    return {
      watermark: finite(W),
      allIdle: allIdle && up.allIdle,
      partitions: up.partitions,
      windows: { open, oldest },
      counters: this.#counters(),
    }
  }

  #counters(): EngineCounters {
    const c = { ...this.upstream.counters }
    for (const e of this.downstream.values()) {
      c.late += e.counters.late
      c.deadLetters += e.counters.deadLetters
      c.windowsEmitted += e.counters.windowsEmitted
      c.lateFirings += e.counters.lateFirings
      c.duplicatesDropped += e.counters.duplicatesDropped
    }
    return c
  }

  /** Resolves once every output of every engine here (results, dead letters, routed records, markers) is durable. */
  async flush(): Promise<void> {
    await this.upstream.flush()
    for (const e of this.downstream.values()) await e.flush()
  }

  /** Every task's windows fire and are purged (the upstream side has none). */
  async endOfInput(): Promise<void> {
    await this.upstream.endOfInput()
    for (const e of this.downstream.values()) await e.endOfInput()
  }

  async close(): Promise<void> {
    await this.upstream.close()
    for (const e of this.downstream.values()) await e.close()
  }
}

const zero = (): EngineCounters => ({
  eventsIn: 0,
  late: 0,
  deadLetters: 0,
  windowsEmitted: 0,
  lateFirings: 0,
  duplicatesDropped: 0,
})

/** Creates a {@link StagedEngine}. */
export function createStagedEngine(topology: Topology, options: StagedEngineOptions): StagedEngine {
  return new StagedEngine(topology, options)
}
