import { isDeepStrictEqual } from 'node:util'
import { consume, createTopics, freshRedis, kafkaBrokers, produce, uniqueTopic, waitFor } from '@ctr/testing'
import { describe, expect, it } from 'vitest'
import { createSinkRedis } from '../connectors/redis/connection.js'
import {
  countingTopology,
  type Event,
  events,
  expectedResults,
  pastWindowStart,
  resultSink,
  storedResults,
  WINDOW_MS,
} from './fixtures/counting-topology.js'
import { expectStoredResults } from './fixtures/expect-results.js'
import { createRunner, type Runner } from './runner.js'

const runnerFor = (name: string, input: string, redisUrl: string, tasks?: 'partition') => {
  const sinkRedis = createSinkRedis(redisUrl)
  const runner = createRunner(countingTopology(name, input, resultSink(sinkRedis)), {
    config: {
      kafkaBrokers: kafkaBrokers(),
      redisUrl,
      applicationId: name,
      port: 0,
      commitIntervalMs: 200,
      logLevel: 'warn',
    },
    ...(tasks && { tasks }),
  })
  const stop = async () => {
    await runner.stop()
    await sinkRedis.quit()
  }
  return { runner, stop }
}

const produceEvents = (input: string, list: readonly Event[]) =>
  produce(
    input,
    list.map((e) => ({ key: e.product_id, value: e })),
  )

async function status(runner: Runner) {
  const res = await fetch(`http://127.0.0.1:${runner.port}/status`)
  return (await res.json()) as ReturnType<Runner['status']>
}

describe('runner on Kafka and Redis', () => {
  it('runs a topology end to end: exact latest/previous in Redis, /status and /metrics served', async () => {
    const input = uniqueTopic('events')
    await createTopics([{ topic: input, partitions: 3 }])
    const redis = await freshRedis()
    const all = events(pastWindowStart(), 4, 6, 60)
    await produceEvents(input, all)
    const { runner, stop } = runnerFor(uniqueTopic('app'), input, redis.url)
    try {
      await runner.start()
      const expected = expectedResults(all)
      await expectStoredResults(redis, expected, 'exact results in Redis')
      const s = await status(runner)
      expect(s.state).toBe('running')
      expect(s.partitions.map((p) => p.partition)).toEqual([0, 1, 2])
      expect(s.counters?.eventsIn).toBe(all.length)
      // Once every window is purged, each partition that had records is committed up to its end.
      await waitFor(
        async () => {
          const parts = (await status(runner)).partitions.filter((p) => (p.highWatermark ?? 0) > 0)
          return parts.length > 0 && parts.every((p) => p.committed === p.highWatermark && p.lag === 0)
        },
        { message: 'offsets committed to the end of every partition' },
      )
      const metrics = await (await fetch(`http://127.0.0.1:${runner.port}/metrics`)).text()
      expect(metrics).toContain(`streams_events_in_total{application="${runner.config.applicationId}"} ${all.length}`)
      expect(metrics).toMatch(/streams_consumer_lag\{topic="[^"]+",partition="\d",application="[^"]+"\} 0/)
      expect(metrics).toContain('streams_emit_latency_seconds_count')
    } finally {
      await stop()
    }
  })

  it('sends each kind of bad record to <application-id>-dlq with its reason and source headers', async () => {
    const input = uniqueTopic('events')
    await createTopics([{ topic: input, partitions: 1 }])
    const redis = await freshRedis()
    const start = pastWindowStart()
    await produce(input, [
      { key: 'p-1', value: { product_id: 'p-1', kind: 'impression', timestamp: start + 60_000 } },
      { key: 'bad', value: '{"product_id": "p-1", "kind": ' },
      { key: 'p-1', value: { product_id: '', kind: 'impression', timestamp: start } },
      { key: 'p-1', value: { product_id: 'p-1', kind: 'click', timestamp: Date.now() + 3_600_000 } },
      { key: 'p-1', value: { product_id: 'p-1', kind: 'click', timestamp: start } },
    ])
    const app = uniqueTopic('app')
    const { runner, stop } = runnerFor(app, input, redis.url)
    try {
      await runner.start()
      const dlq = await consume(`${app}-dlq`, { count: 4, timeoutMs: 60_000 })
      const byReason = Object.fromEntries(dlq.map((m) => [m.headers['error.reason'], m]))
      expect(Object.keys(byReason).sort()).toEqual(['future_timestamp', 'invalid_event', 'invalid_json', 'late_event'])
      expect(byReason.invalid_json).toMatchObject({
        key: 'bad',
        value: '{"product_id": "p-1", "kind": ',
        headers: { 'source.topic': input, 'source.partition': '0', 'source.offset': '1' },
      })
      expect(byReason.invalid_event?.headers['source.offset']).toBe('2')
      expect(byReason.future_timestamp?.headers['source.offset']).toBe('3')
      expect(byReason.late_event?.headers['source.offset']).toBe('4')
      for (const m of dlq) expect(m.headers['error.message']?.length).toBeGreaterThan(0)
      await waitFor(async () => Object.values((await status(runner)).deadLetters).reduce((a, b) => a + b, 0) === 4)
      expect((await status(runner)).deadLetters).toEqual({
        invalid_json: 1,
        invalid_event: 1,
        future_timestamp: 1,
        late_event: 1,
      })
      // The good record still counts.
      await waitFor(async () => (await storedResults(redis)).latest['p-1'], { message: 'the valid event in Redis' })
      expect((await storedResults(redis)).latest['p-1']).toMatchObject({ impressions: 1, clicks: 0 })
    } finally {
      await stop()
    }
  })

  it('stops gracefully and restarts with nothing lost or counted twice', async () => {
    const input = uniqueTopic('events')
    await createTopics([{ topic: input, partitions: 3 }])
    const redis = await freshRedis()
    const app = uniqueTopic('app')
    const first = events(pastWindowStart(), 3, 5, 50)
    const t1 = Date.now()
    await produceEvents(input, first)
    const a = runnerFor(app, input, redis.url)
    await a.runner.start()
    // Stop while the last windows are still open (only the first window has fired).
    await waitFor(async () => (await storedResults(redis)).latest['p-0'], { message: 'first results' })
    await a.stop()
    expect(a.runner.state).toBe('stopped')
    expect(await a.runner.finished).toBe(0)

    const lastTs = Math.max(...first.map((e) => e.timestamp!))
    const base2 = Math.floor((lastTs + (Date.now() - t1) + 2 * WINDOW_MS) / WINDOW_MS) * WINDOW_MS
    const second = events(base2, 2, 5, 50)
    await produceEvents(input, second)
    const b = runnerFor(app, input, redis.url)
    try {
      await b.runner.start()
      const expected = expectedResults([...first, ...second])
      await expectStoredResults(redis, expected, 'exact results after the restart')
      // The restarted instance resumed from the checkpoint taken at the stop (open windows restored from the
      // changelog, offsets committed with it): no record of the first run was read again.
      const readAgain = (await status(b.runner)).counters!.eventsIn - second.length
      expect(readAgain).toBe(0)
    } finally {
      await b.stop()
    }
  })

  it('moves partitions to a second instance that joins; both together give exact results', async () => {
    const input = uniqueTopic('events')
    await createTopics([{ topic: input, partitions: 4 }])
    const redis = await freshRedis()
    const app = uniqueTopic('app')
    const first = events(pastWindowStart(), 3, 8, 80)
    const t1 = Date.now()
    await produceEvents(input, first)
    const a = runnerFor(app, input, redis.url, 'partition')
    const b = runnerFor(app, input, redis.url, 'partition')
    try {
      await a.runner.start()
      await waitFor(async () => (await status(a.runner)).partitions.length === 4, { message: 'A owns all 4' })
      await b.runner.start()
      await waitFor(
        async () => {
          const [sa, sb] = [await status(a.runner), await status(b.runner)]
          return (
            sa.partitions.length > 0 && sb.partitions.length > 0 && sa.partitions.length + sb.partitions.length === 4
          )
        },
        { timeoutMs: 60_000, message: 'partitions split between A and B' },
      )
      const lastTs = Math.max(...first.map((e) => e.timestamp!))
      const base2 = Math.floor((lastTs + (Date.now() - t1) + 2 * WINDOW_MS) / WINDOW_MS) * WINDOW_MS
      const second = events(base2, 2, 8, 80)
      await produceEvents(input, second)
      const expected = expectedResults([...first, ...second])
      await waitFor(async () => isDeepStrictEqual(await storedResults(redis), expected) || null, {
        timeoutMs: 90_000,
        message: 'exact results from both instances',
      }).catch(async (e) => {
        expect(await storedResults(redis)).toEqual(expected)
        throw e
      })
    } finally {
      await a.stop()
      await b.stop()
    }
  })
})
