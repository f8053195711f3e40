// The real runner with nothing on Kafka or Redis: a MemorySource, dead letters and results in collecting sinks,
// checkpoints in a MemoryCheckpointStore. Its brokers and Redis point at a closed port: any use of them would fail.
import { waitFor } from '@ctr/testing'
import { describe, expect, it } from 'vitest'
import { MemoryCheckpointStore } from '../checkpoint/memory-checkpoint-store.js'
import type { DeadLetter } from '../connectors/types.js'
import { collectingSink } from '../testing/collecting-sink.js'
import { MemorySource } from '../testing/memory-source.js'
import {
  countingTopology,
  type Event,
  events,
  pastWindowStart,
  type Result,
  WINDOW_MS,
} from './fixtures/counting-topology.js'
import { createRunner } from './runner.js'

const INPUT = 'clicks-and-views'
const PARTITIONS = 3

/** impressions/clicks per product of one window, as the topology must count them. */
function truth(all: readonly Event[], windowStart: number): Record<string, [number, number]> {
  const out: Record<string, [number, number]> = {}
  for (const e of all) {
    if (Math.floor((e.timestamp as number) / WINDOW_MS) * WINDOW_MS !== windowStart) continue
    const t = out[e.product_id] ?? [0, 0]
    if (e.kind === 'click') t[1]++
    else t[0]++
    out[e.product_id] = t
  }
  return out
}
const of = (results: readonly Result[], windowStart: number) =>
  Object.fromEntries(
    results.filter((r) => r.window_start === windowStart).map((r) => [r.product_id, [r.impressions, r.clicks]]),
  )

describe('runner without Kafka or Redis (options source, deadLetters, checkpointStore)', () => {
  it('runs, dead-letters a bad record, checkpoints, and a restart goes on from the checkpoint', async () => {
    const source = new MemorySource({ [INPUT]: PARTITIONS })
    const store = new MemoryCheckpointStore()
    const out = collectingSink<Result>('results')
    const dead = collectingSink<DeadLetter>('dead-letters')
    // the windows close by the watermark only (idle after an hour): a window open at the stop is in the checkpoint
    const topology = countingTopology('in-memory', INPUT, out, '1h')
    const runner = () =>
      createRunner(topology, {
        config: { kafkaBrokers: '127.0.0.1:1', redisUrl: 'redis://127.0.0.1:1', port: 0, logLevel: 'warn' },
        requireRedis: false,
        checkpoints: { enabled: true, intervalMs: 200 },
        source: () => source,
        deadLetters: dead,
        checkpointStore: store,
      })
    const start = pastWindowStart()
    const all = events(start, 3, 5, 40)
    const push = async (list: readonly Event[]) => {
      for (let p = 0; p < PARTITIONS; p++)
        await source.push(
          INPUT,
          p,
          list.filter((_, i) => i % PARTITIONS === p).map((e) => ({ value: Buffer.from(JSON.stringify(e)) })),
        )
    }
    const inWindow = (w: number) =>
      all.filter(
        (e) =>
          (e.timestamp as number) - start < (w + 1) * WINDOW_MS && (e.timestamp as number) - start >= w * WINDOW_MS,
      )

    const first = runner()
    await first.start()
    await push([...inWindow(0), ...inWindow(1)])
    await source.push(INPUT, 0, [{ value: Buffer.from('{not json') }])
    // window 0 closes once every partition's watermark passes it; window 1 stays open
    await waitFor(() => out.records.length > 0, { message: 'window 0 fired' })
    await waitFor(() => store.writes > 0, { message: 'a checkpoint written' })
    expect(dead.records.map((d) => d.reason)).toEqual(['invalid_json'])
    expect(first.status().deadLetters).toEqual({ invalid_json: 1 })
    await first.stop()
    expect(await first.finished).toBe(0)
    expect(of(out.records, start + WINDOW_MS)).toEqual({})

    // a restart on the same store: window 1 restored from the checkpoint taken at the stop, nothing read twice
    const second = runner()
    await second.start()
    await push(inWindow(2))
    await waitFor(() => out.records.some((r) => r.window_start === start + WINDOW_MS), { message: 'window 1 fired' })
    await second.stop()
    expect(of(out.records, start)).toEqual(truth(all, start))
    expect(of(out.records, start + WINDOW_MS)).toEqual(truth(all, start + WINDOW_MS))
    const keys = out.records.map((r) => `${r.product_id}@${r.window_start}`)
    expect(new Set(keys).size).toBe(keys.length)
    expect(dead.records).toHaveLength(1)
  })
})
