import { describe, expect, it } from 'vitest'
import type { PartitionPosition } from '../connectors/types.js'
import type { EngineStatus } from '../runtime/types.js'
import type { SinkStatus } from './backpressure.js'
import { createRunnerMetrics } from './metrics.js'
import { runnerStatus } from './status.js'

const engine = (eventsIn: number): EngineStatus => ({
  watermark: 1_000_000,
  allIdle: false,
  partitions: [
    {
      topic: 't',
      partition: 0,
      task: '0',
      nextOffset: 10,
      watermark: 1_000_000,
      maxEventTime: 1_001_001,
      idle: false,
      lastEventWallTime: 5,
    },
  ],
  windows: { open: 7, oldest: null },
  counters: { eventsIn, late: 2, deadLetters: 3, windowsEmitted: 4, lateFirings: 0, duplicatesDropped: 6 },
})
const partitions: PartitionPosition[] = [
  {
    topic: 't',
    partition: 0,
    position: 10,
    committed: 8,
    highWatermark: 15,
    lag: 5,
    evidence: {
      position: 10,
      logEnd: 15,
      logEndCheckedAt: 1_001_500,
      paused: false,
      caughtUp: false,
      reason: '5 record(s) unread (log end 15, position 10)',
    },
  },
]

describe('runner metrics', () => {
  it('exposes engine counters as counters that only grow, gauges read at scrape time', async () => {
    let status = engine(100)
    const m = createRunnerMetrics(
      { engine: () => status, partitions: () => partitions, now: () => 1_003_000 },
      { application: 'a' },
    )
    let text = await m.registry.metrics()
    expect(text).toContain('streams_events_in_total{application="a"} 100')
    status = engine(250)
    text = await m.registry.metrics()
    expect(text).toContain('streams_events_in_total{application="a"} 250')
    expect(text).toContain('streams_late_events_total{application="a"} 2')
    expect(text).toContain('streams_duplicates_dropped_total{application="a"} 6')
    expect(text).toContain('streams_watermark_ms{application="a"} 1000000')
    expect(text).toContain('streams_watermark_lag_seconds{application="a"} 3')
    expect(text).toContain('streams_open_windows{application="a"} 7')
    expect(text).toContain('streams_consumer_lag{topic="t",partition="0",application="a"} 5')
    expect(text).toContain('streams_committed_offset{topic="t",partition="0",application="a"} 8')
    // the idleness evidence: why a silent partition is (not) idle
    expect(text).toContain('streams_partition_caught_up{topic="t",partition="0",application="a"} 0')
    expect(text).toContain('streams_partition_log_end_age_seconds{topic="t",partition="0",application="a"} 1.5')
    expect(text).toContain('streams_partition_idle{topic="t",partition="0",application="a"} 0')
  })

  it('exposes backpressure: source paused as a 0/1 gauge and pauses as a counter', async () => {
    let bp = { paused: false, pauses: 0 }
    const m = createRunnerMetrics({ engine: () => undefined, partitions: () => [], backpressure: () => bp })
    let text = await m.registry.metrics()
    expect(text).toContain('streams_source_paused 0')
    expect(text).toContain('streams_source_pauses_total 0')
    bp = { paused: true, pauses: 2 }
    text = await m.registry.metrics()
    expect(text).toContain('streams_source_paused 1')
    expect(text).toContain('streams_source_pauses_total 2')
  })

  it('exposes each watched sink: available as a 0/1 gauge, outages by reason as a counter', async () => {
    let sinks: SinkStatus[] = [{ name: 'redis', state: 'ok', since: null, outages: {} }]
    const bp = { paused: false, pauses: 0, sinks: () => sinks }
    const m = createRunnerMetrics({ engine: () => undefined, partitions: () => [], backpressure: () => bp })
    let text = await m.registry.metrics()
    expect(text).toContain('streams_sink_available{sink="redis"} 1')
    expect(text).not.toContain('streams_sink_outages_total{')
    sinks = [
      {
        name: 'redis',
        state: 'unavailable',
        since: 5,
        error: 'OOM command not allowed',
        reason: 'OOM',
        outages: { OOM: 1 },
      },
    ]
    text = await m.registry.metrics()
    expect(text).toContain('streams_sink_available{sink="redis"} 0')
    expect(text).toContain('streams_sink_outages_total{sink="redis",reason="OOM"} 1')
    sinks = [{ name: 'redis', state: 'ok', since: 9, outages: { OOM: 1, connection: 2 } }]
    text = await m.registry.metrics()
    expect(text).toContain('streams_sink_available{sink="redis"} 1')
    expect(text).toContain('streams_sink_outages_total{sink="redis",reason="OOM"} 1')
    expect(text).toContain('streams_sink_outages_total{sink="redis",reason="connection"} 2')
  })

  it('counts dead letters by reason and times sink writes and emit latency', async () => {
    const m = createRunnerMetrics({ engine: () => undefined, partitions: () => [], now: () => 20_000 })
    const record = { topic: 't', partition: 0, offset: 1, key: null, value: null, timestamp: 0 }
    m.countDeadLetters([
      { reason: 'invalid_json', message: 'x', record },
      { reason: 'invalid_json', message: 'y', record },
      { reason: 'late_event', message: 'z', record },
    ])
    const written: unknown[] = []
    // a sink that says where a result's window ends
    const sink = m.wrapSink({
      name: 'results',
      write: async (rs: readonly { ends: number }[]) => void written.push(...rs),
      windowEnd: (r) => r.ends,
    })
    await sink.write([{ ends: 18_000 }, { ends: 15_000 }])
    expect(written).toHaveLength(2)
    // Windowed results carry their window; a record with neither is not timed
    const windowed = m.wrapSink<unknown>({ name: 'windowed', write: async () => {} })
    const w = (end: number) => ({ key: 'k', window: { start: end - 10_000, end }, value: 1, lateFiring: false })
    await windowed.write([w(19_000), { window_end: 1 }, null])
    const text = await m.registry.metrics()
    expect(text).toContain('streams_dead_letters_total{reason="invalid_json"} 2')
    expect(text).toContain('streams_dead_letters_total{reason="late_event"} 1')
    expect(text).toContain('streams_emit_latency_seconds_sum{sink="results"} 7')
    expect(text).toContain('streams_emit_latency_seconds_sum{sink="windowed"} 1')
    expect(text).toContain('streams_emit_latency_seconds_count{sink="windowed"} 1')
    expect(text).toContain('streams_sink_write_seconds_count{sink="results"} 1')
  })
})

describe('runnerStatus', () => {
  it('joins the engine view and the consumer view per partition', () => {
    const s = runnerStatus({
      applicationId: 'a',
      topology: 'x',
      state: 'running',
      uptimeSeconds: 3,
      engine: engine(1),
      partitions,
      deadLetters: { invalid_json: 1 },
    })
    expect(s.partitions).toEqual([
      {
        topic: 't',
        partition: 0,
        task: '0',
        nextOffset: 10,
        watermark: 1_000_000,
        maxEventTime: 1_001_001,
        idle: false,
        lastEventWallTime: 5,
        position: 10,
        committed: 8,
        highWatermark: 15,
        lag: 5,
        evidence: partitions[0]?.evidence,
      },
    ])
    expect(s).toMatchObject({ watermark: 1_000_000, windows: { open: 7 }, deadLetters: { invalid_json: 1 } })
  })
})
