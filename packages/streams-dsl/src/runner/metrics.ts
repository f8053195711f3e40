import { Counter, Gauge, Histogram, Registry } from 'prom-client'
import type { DeadLetter, PartitionPosition, Sink } from '../connectors/types.js'
import type { EngineStatus } from '../runtime/types.js'
import type { SinkStatus } from './backpressure.js'
import type { CheckpointHealth } from './checkpoint-health.js'
import { WeightedQuantiles } from './weighted-quantiles.js'

/** What the metrics read at scrape time. */
export type MetricsSources = {
  readonly engine: () => EngineStatus | undefined
  readonly partitions: () => readonly PartitionPosition[]
  readonly now?: () => number
  /** Whether the input is paused by backpressure, how often it was, and the watched sinks' availability. */
  readonly backpressure?: () =>
    | { readonly paused: boolean; readonly pauses: number; sinks?(): readonly SinkStatus[] }
    | undefined
  /** Checkpoint outcomes (absent with checkpoints off). */
  readonly checkpoints?: () => Pick<CheckpointHealth, 'succeeded' | 'failed' | 'ageSeconds'> | undefined
}

/** The runner's Prometheus metrics, in a registry of its own (several runners may share a process in tests). */
export type RunnerMetrics = {
  readonly registry: Registry
  readonly batchSize: Histogram
  readonly batchSeconds: Histogram
  /** Counts what reached the DLQ, by reason. */
  countDeadLetters(letters: readonly DeadLetter[]): void
  /** Records how long results took to be durable in a sink (see `EngineOptions.onResultLatency`). */
  resultLatency(sink: string, ms: number, results: number): void
  /** Wraps a sink to time its writes and, for windowed results, how long after the window's end they were written. */
  wrapSink<T>(sink: Sink<T>): Sink<T>
}

/**
 * Creates the runner's metrics: events in, late events, DLQ by reason, watermark and its lag behind the wall
 * clock, open windows, consumer lag and committed offset per partition, batch sizes and processing time,
 * sink write time and emit delay (wall clock at write minus the result's window end: `Sink.windowEnd`, or
 * `window.end` of a `Windowed` result).
 *
 * @example
 * const m = createRunnerMetrics({ engine: () => engine.status(), partitions: () => source.partitions() })
 */
export function createRunnerMetrics(sources: MetricsSources, labels: Record<string, string> = {}): RunnerMetrics {
  const registry = new Registry()
  registry.setDefaultLabels(labels)
  const now = sources.now ?? Date.now
  const last = { eventsIn: 0, late: 0, windowsEmitted: 0, duplicatesDropped: 0 }
  const fromCounter = (field: keyof typeof last) =>
    function (this: Counter) {
      const c = sources.engine()?.counters
      if (!c) return
      const delta = (c[field] ?? 0) - last[field]
      if (delta > 0) this.inc(delta)
      last[field] = c[field] ?? 0
    }
  new Counter({
    name: 'streams_events_in_total',
    help: 'Records read from the input partitions',
    registers: [registry],
    collect: fromCounter('eventsIn'),
  })
  new Counter({
    name: 'streams_late_events_total',
    help: 'Events dropped as late (after allowed lateness)',
    registers: [registry],
    collect: fromCounter('late'),
  })
  new Counter({
    name: 'streams_windows_emitted_total',
    help: 'Window results emitted (incl. late firings)',
    registers: [registry],
    collect: fromCounter('windowsEmitted'),
  })
  new Counter({
    name: 'streams_duplicates_dropped_total',
    help: 'Records dropped by deduplicate as duplicates (not dead letters)',
    registers: [registry],
    collect: fromCounter('duplicatesDropped'),
  })
  const dlq = new Counter({
    name: 'streams_dead_letters_total',
    help: 'Records written to the DLQ, by reason',
    labelNames: ['reason'],
    registers: [registry],
  })
  new Gauge({
    name: 'streams_watermark_ms',
    help: 'Job watermark, epoch ms (absent before the first event)',
    registers: [registry],
    collect() {
      const w = sources.engine()?.watermark
      if (w !== null && w !== undefined) this.set(w)
    },
  })
  new Gauge({
    name: 'streams_watermark_lag_seconds',
    help: 'Wall clock minus the job watermark',
    registers: [registry],
    collect() {
      const w = sources.engine()?.watermark
      if (w !== null && w !== undefined) this.set((now() - w) / 1000)
    },
  })
  new Gauge({
    name: 'streams_open_windows',
    help: 'Window entries (key x window) held in state',
    registers: [registry],
    collect() {
      this.set(sources.engine()?.windows.open ?? 0)
    },
  })
  new Gauge({
    name: 'streams_consumer_lag',
    help: 'Records between the consumer position and the log end, per partition',
    labelNames: ['topic', 'partition'],
    registers: [registry],
    collect() {
      this.reset()
      for (const p of sources.partitions())
        if (p.lag !== null) this.set({ topic: p.topic, partition: String(p.partition) }, p.lag)
    },
  })
  new Gauge({
    name: 'streams_committed_offset',
    help: 'Last offset committed by this instance, per partition',
    labelNames: ['topic', 'partition'],
    registers: [registry],
    collect() {
      this.reset()
      for (const p of sources.partitions())
        if (p.committed !== null) this.set({ topic: p.topic, partition: String(p.partition) }, p.committed)
    },
  })
  new Gauge({
    name: 'streams_partition_caught_up',
    help: '1 while a broker answer sent after the last delivery shows nothing unread (a silent partition may go idle only then), per partition',
    labelNames: ['topic', 'partition'],
    registers: [registry],
    collect() {
      this.reset()
      for (const p of sources.partitions())
        if (p.evidence) this.set({ topic: p.topic, partition: String(p.partition) }, p.evidence.caughtUp ? 1 : 0)
    },
  })
  new Gauge({
    name: 'streams_partition_log_end_age_seconds',
    help: 'Age of the newest log-end answer of the brokers (the idleness evidence), per partition',
    labelNames: ['topic', 'partition'],
    registers: [registry],
    collect() {
      this.reset()
      const t = now()
      for (const p of sources.partitions()) {
        const at = p.evidence?.logEndCheckedAt
        if (at !== null && at !== undefined)
          this.set({ topic: p.topic, partition: String(p.partition) }, Math.max(0, (t - at) / 1000))
      }
    },
  })
  new Gauge({
    name: 'streams_partition_idle',
    help: '1 while a partition counts as idle (silent for the idle timeout and caught up), per partition',
    labelNames: ['topic', 'partition'],
    registers: [registry],
    collect() {
      this.reset()
      for (const p of sources.engine()?.partitions ?? [])
        this.set({ topic: p.topic, partition: String(p.partition) }, p.idle ? 1 : 0)
    },
  })
  let lastPauses = 0
  new Gauge({
    name: 'streams_source_paused',
    help: '1 while the input partitions are paused because the sinks fall behind (backpressure)',
    registers: [registry],
    collect() {
      this.set(sources.backpressure?.()?.paused ? 1 : 0)
    },
  })
  new Counter({
    name: 'streams_source_pauses_total',
    help: 'Times the input was paused because the sinks fell behind',
    registers: [registry],
    collect() {
      const n = sources.backpressure?.()?.pauses ?? 0
      if (n > lastPauses) this.inc(n - lastPauses)
      lastPauses = n
    },
  })
  new Gauge({
    name: 'streams_sink_available',
    help: '1 while a sink that reports its availability (the Redis sinks) can write, 0 during an outage',
    labelNames: ['sink'],
    registers: [registry],
    collect() {
      this.reset()
      for (const s of sources.backpressure?.()?.sinks?.() ?? []) this.set({ sink: s.name }, s.state === 'ok' ? 1 : 0)
    },
  })
  const lastOutages = new Map<string, number>()
  new Counter({
    name: 'streams_sink_outages_total',
    help: 'Outages of a sink (writes waiting and retrying), by reason: a Redis error code such as OOM, or connection',
    labelNames: ['sink', 'reason'],
    registers: [registry],
    collect() {
      for (const s of sources.backpressure?.()?.sinks?.() ?? [])
        for (const [reason, n] of Object.entries(s.outages)) {
          const id = `${s.name}\u0000${reason}`
          const before = lastOutages.get(id) ?? 0
          if (n > before) this.inc({ sink: s.name, reason }, n - before)
          lastOutages.set(id, n)
        }
    },
  })
  const lastCheckpoints = { succeeded: 0, failed: 0 }
  const checkpointCounter = (field: keyof typeof lastCheckpoints) =>
    function (this: Counter) {
      const n = sources.checkpoints?.()?.[field] ?? 0
      if (n > lastCheckpoints[field]) this.inc(n - lastCheckpoints[field])
      lastCheckpoints[field] = n
    }
  new Counter({
    name: 'streams_checkpoints_total',
    help: 'Checkpoints that succeeded (each followed by an offset commit)',
    registers: [registry],
    collect: checkpointCounter('succeeded'),
  })
  new Counter({
    name: 'streams_checkpoint_failures_total',
    help: 'Checkpoints that failed (no offset is committed until one succeeds)',
    registers: [registry],
    collect: checkpointCounter('failed'),
  })
  new Gauge({
    name: 'streams_checkpoint_age_seconds',
    help: 'Seconds since the last successful checkpoint (since the start before the first); absent with checkpoints off',
    registers: [registry],
    collect() {
      this.reset()
      const h = sources.checkpoints?.()
      if (h) this.set(h.ageSeconds(now()))
    },
  })
  const batchSize = new Histogram({
    name: 'streams_batch_size',
    help: 'Records per input batch',
    buckets: [1, 10, 100, 500, 1000, 2000, 5000, 10000],
    registers: [registry],
  })
  const batchSeconds = new Histogram({
    name: 'streams_batch_process_seconds',
    help: 'Time to process one poll of records (outputs handed to the sinks, written in the background)',
    buckets: [0.001, 0.005, 0.01, 0.05, 0.1, 0.5, 1, 5, 30],
    registers: [registry],
  })
  const writeSeconds = new Histogram({
    name: 'streams_sink_write_seconds',
    help: 'Sink write time until durable',
    labelNames: ['sink'],
    buckets: [0.0005, 0.001, 0.005, 0.01, 0.05, 0.1, 0.5, 1, 5, 30],
    registers: [registry],
  })
  const emitDelay = new Histogram({
    name: 'streams_emit_latency_seconds',
    help: 'Wall clock when a window result was written minus its window end',
    labelNames: ['sink'],
    buckets: [0.5, 1, 2, 3, 5, 10, 20, 30, 60, 300],
    registers: [registry],
  })

  const latencies = new Map<string, WeightedQuantiles>()
  new Gauge({
    name: 'streams_result_latency_seconds',
    help: 'Per result, from the start of the operation that produced it (for a window: at or before the watermark passed its end) until readable in the sink (the sink said so, else its write resolved); quantiles over the last minute, weighted by results',
    labelNames: ['sink', 'quantile'],
    registers: [registry],
    collect() {
      this.reset()
      const t = now()
      for (const [sink, q] of latencies)
        for (const quantile of [0.5, 0.9, 0.99, 1]) {
          const v = q.quantile(quantile, t)
          if (v !== null) this.set({ sink, quantile: String(quantile) }, v / 1000)
        }
    },
  })

  return {
    registry,
    batchSize,
    batchSeconds,
    resultLatency(sink, ms, results) {
      let q = latencies.get(sink)
      if (!q) {
        q = new WeightedQuantiles(60_000)
        latencies.set(sink, q)
      }
      q.add(ms, results, now())
    },
    countDeadLetters(letters) {
      for (const l of letters) dlq.inc({ reason: l.reason })
    },
    wrapSink<T>(sink: Sink<T>): Sink<T> {
      const timer = writeSeconds.labels({ sink: sink.name })
      const delay = emitDelay.labels({ sink: sink.name })
      // The sink says where a result's window ends; a `Windowed` result carries it itself.
      const windowEnd = sink.windowEnd ? (r: T) => sink.windowEnd?.(r) : windowedEnd
      const wrapped: Sink<T> = {
        name: sink.name,
        ...(sink.maxBatch !== undefined && { maxBatch: sink.maxBatch }),
        async write(records, readable) {
          const end = timer.startTimer()
          let readAt: number | undefined
          await sink.write(records, () => {
            readAt = now()
            readable?.()
          })
          end()
          const t = readAt ?? now()
          for (const r of records) {
            const we = windowEnd(r)
            if (typeof we === 'number') delay.observe((t - we) / 1000)
          }
        },
      }
      // Bound, not spread: a sink may be a class instance with methods on its prototype.
      if (sink.flush) wrapped.flush = () => sink.flush!()
      if (sink.close) wrapped.close = () => sink.close!()
      return wrapped
    },
  }
}

/** `window.end` of a `Windowed` result, else undefined. */
function windowedEnd(r: unknown): number | undefined {
  const end = (r as { window?: { end?: unknown } } | null)?.window?.end
  return typeof end === 'number' ? end : undefined
}
