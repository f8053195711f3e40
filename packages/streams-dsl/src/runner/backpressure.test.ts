import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest'
import { SinkHealth } from '../connectors/sink-health.js'
import type { Sink } from '../connectors/types.js'
import { MemorySource } from '../testing/memory-source.js'
import { Backpressure, pauseAfterMsFromEnv } from './backpressure.js'

/** A sink whose writes wait until the test lets them through. */
function gatedSink() {
  const written: string[] = []
  let open = true
  let waiting: (() => void)[] = []
  const sink: Sink<string> = {
    name: 'gated',
    async write(records) {
      if (!open) await new Promise<void>((resolve) => waiting.push(resolve))
      written.push(...records)
    },
  }
  return {
    sink,
    written,
    close: () => {
      open = false
    },
    open: () => {
      open = true
      for (const w of waiting) w()
      waiting = []
    },
  }
}

/** A source feeding a sink through the backpressure, as the runner does. */
async function setup(thresholdMs = 1000) {
  const source = new MemorySource({ in: 2 })
  const pause = vi.spyOn(source, 'pause')
  const resume = vi.spyOn(source, 'resume')
  const gate = gatedSink()
  const bp = new Backpressure({ source, partitions: () => source.all(), thresholdMs })
  await source.start({
    onBatches: (bs) => bp.track(gate.sink.write(bs.flatMap((b) => b.records.map((r) => String(r.value))))),
    onAssigned: async () => {},
    onRevoked: async () => {},
  })
  const push = (p: number, v: string) => void source.push('in', p, [{ value: Buffer.from(v) }])
  return { source, pause, resume, gate, bp, push }
}

const flush = () => vi.advanceTimersByTimeAsync(0)

describe('Backpressure', () => {
  beforeEach(() => {
    vi.useFakeTimers()
  })
  afterEach(() => {
    vi.useRealTimers()
  })

  it('does not pause on writes faster than the threshold', async () => {
    const { pause, gate, bp, push } = await setup()
    for (let i = 0; i < 5; i++) push(i % 2, `v${i}`)
    await vi.advanceTimersByTimeAsync(5_000)
    expect(gate.written).toEqual(['v0', 'v1', 'v2', 'v3', 'v4'])
    expect(pause).not.toHaveBeenCalled()
    expect(bp.paused).toBe(false)
    expect(bp.pauses).toBe(0)
  })

  it('pauses every partition once a write is pending past the threshold and resumes when it completes', async () => {
    const { pause, resume, gate, bp, push } = await setup(1000)
    gate.close()
    push(0, 'a')
    await vi.advanceTimersByTimeAsync(999)
    expect(pause).not.toHaveBeenCalled()
    await vi.advanceTimersByTimeAsync(1)
    expect(pause).toHaveBeenCalledTimes(1)
    expect(pause.mock.calls[0]![0]).toEqual([
      { topic: 'in', partition: 0 },
      { topic: 'in', partition: 1 },
    ])
    expect(bp.paused).toBe(true)
    // Input arriving meanwhile is held by the source, not handed to the stuck sink.
    push(1, 'b')
    await vi.advanceTimersByTimeAsync(10_000)
    expect(gate.written).toEqual([])
    expect(resume).not.toHaveBeenCalled()

    gate.open()
    await flush()
    expect(resume).toHaveBeenCalledTimes(1)
    expect(bp.paused).toBe(false)
    await flush()
    expect(gate.written).toEqual(['a', 'b'])
    expect(bp.pauses).toBe(1)
  })

  it('pauses at once while a watched sink reports an outage, until it recovers', async () => {
    const { pause, resume, bp } = await setup()
    const health = new SinkHealth(() => 42)
    bp.watch('redis', health)
    health.down(new Error('connect ECONNREFUSED'), 'connection')
    expect(pause).toHaveBeenCalledTimes(1)
    expect(bp.sinks()).toEqual([
      {
        name: 'redis',
        state: 'unavailable',
        since: 42,
        error: 'connect ECONNREFUSED',
        reason: 'connection',
        outages: { connection: 1 },
      },
    ])
    // A second write failing at the same time is the same outage.
    health.down(new Error('connect ECONNREFUSED'))
    health.up()
    expect(resume).not.toHaveBeenCalled()
    health.up()
    expect(resume).toHaveBeenCalledTimes(1)
    expect(bp.sinks()).toEqual([{ name: 'redis', state: 'ok', since: 42, outages: { connection: 1 } }])
    expect(bp.paused).toBe(false)
  })

  it('pauses partitions assigned while paused, and calls the source no more after stop', async () => {
    const { pause, resume, bp } = await setup()
    const health = new SinkHealth()
    bp.watch('redis', health)
    bp.assigned([{ topic: 'in', partition: 5 }])
    expect(pause).not.toHaveBeenCalled()
    health.down()
    bp.assigned([{ topic: 'in', partition: 5 }])
    expect(pause).toHaveBeenLastCalledWith([{ topic: 'in', partition: 5 }])
    bp.stop()
    health.up()
    expect(resume).not.toHaveBeenCalled()
  })

  it('survives a source that refuses to pause (a client no longer connected)', async () => {
    const warn = vi.fn()
    const bp = new Backpressure({
      source: {
        pause: () => {
          throw new Error('Pause can only be called while connected.')
        },
        resume: () => {},
      },
      partitions: () => [{ topic: 'in', partition: 0 }],
      logger: { warn, info: () => {} },
    })
    const health = new SinkHealth()
    bp.watch('redis', health)
    expect(() => health.down()).not.toThrow()
    expect(warn).toHaveBeenLastCalledWith(expect.anything(), expect.stringContaining('pause of the input failed'))
  })

  it('reads PAUSE_AFTER_MS', () => {
    expect(pauseAfterMsFromEnv({})).toBeUndefined()
    expect(pauseAfterMsFromEnv({ PAUSE_AFTER_MS: '250' })).toBe(250)
    expect(() => pauseAfterMsFromEnv({ PAUSE_AFTER_MS: 'soon' })).toThrow('PAUSE_AFTER_MS must be a number')
  })
})

describe('Backpressure of a repartitioned job', () => {
  it('pauses only the inputs for a slow write, every partition for a sink outage', async () => {
    vi.useFakeTimers()
    try {
      const source = new MemorySource({ in: 2, 'app-by-k-repartition': 2 })
      const paused = new Set<string>()
      const id = (tp: { topic: string; partition: number }) => `${tp.topic}-${tp.partition}`
      vi.spyOn(source, 'pause').mockImplementation((tps) => {
        for (const tp of tps) paused.add(id(tp))
      })
      vi.spyOn(source, 'resume').mockImplementation((tps) => {
        for (const tp of tps) paused.delete(id(tp))
      })
      const health = new SinkHealth()
      const bp = new Backpressure({
        source,
        partitions: () => source.all(),
        thresholdMs: 1000,
        internal: (tp) => tp.topic.endsWith('-repartition'),
      })
      bp.watch('redis', health)
      let release!: () => void
      const slow = bp.track(new Promise<void>((r) => (release = r)))
      await vi.advanceTimersByTimeAsync(1001)
      // the slow writer may be the repartition producer: its downstream input keeps flowing
      expect([...paused].sort()).toEqual(['in-0', 'in-1'])
      health.down(new Error('connect ECONNREFUSED'), 'connection')
      expect([...paused].sort()).toEqual(['app-by-k-repartition-0', 'app-by-k-repartition-1', 'in-0', 'in-1'])
      health.up()
      expect([...paused].sort()).toEqual(['in-0', 'in-1'])
      release()
      await slow
      expect([...paused]).toEqual([])
    } finally {
      vi.useRealTimers()
    }
  })
})
