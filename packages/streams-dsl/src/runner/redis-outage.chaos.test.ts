import {
  createTopics,
  kafkaBrokers,
  type PrivateRedis,
  privateRedis,
  produce,
  uniqueTopic,
  waitFor,
} from '@ctr/testing'
import { Redis } from 'ioredis'
import { afterAll, describe, expect, it } from 'vitest'
import { createSinkRedis } from '../connectors/redis/connection.js'
import { redisLatestPrevious } from '../connectors/redis/latest-previous-sink.js'
import {
  countingTopology,
  type Event,
  events,
  expectedResults,
  pastWindowStart,
  type Result,
  storedResults,
  WINDOW_MS,
} from './fixtures/counting-topology.js'
import { expectStoredResults } from './fixtures/expect-results.js'
import { httpStatus, metric } from './fixtures/job-http.js'
import { createRunner } from './runner.js'

let redis: PrivateRedis | undefined
afterAll(() => redis?.kill())

describe('Redis stopped mid-stream', () => {
  it('holds the input while Redis is down, logs it once, and ends with exact results', async () => {
    redis = await privateRedis()
    const { url } = redis
    const input = uniqueTopic('events')
    await createTopics([{ topic: input, partitions: 3 }])
    const lines: { level: string; msg: string }[] = []
    const logger = {
      warn: (_o: object, msg: string) => lines.push({ level: 'warn', msg }),
      info: (_o: object, msg: string) => lines.push({ level: 'info', msg }),
    }
    const sinkRedis = createSinkRedis(url)
    const sink = redisLatestPrevious<Result>({
      latest: 'ctr:latest',
      previous: 'ctr:previous',
      field: (r) => r.product_id,
      windowStart: 'window_start',
      redis: sinkRedis,
      logger,
    })
    const runner = createRunner(countingTopology('outage', input, sink), {
      config: {
        kafkaBrokers: kafkaBrokers(),
        redisUrl: url,
        applicationId: uniqueTopic('app'),
        port: 0,
        commitIntervalMs: 200,
        logLevel: 'warn',
      },
    })
    const reader = new Redis(url, { retryStrategy: () => 200 })
    reader.on('error', () => {})
    try {
      await runner.start()
      const first = events(pastWindowStart(), 3, 5, 40)
      const t1 = Date.now()
      await produce(
        input,
        first.map((e) => ({ key: e.product_id, value: e })),
      )
      await waitFor(async () => (await storedResults(reader)).latest['p-0'], { message: 'first results' })

      // Kill Redis, then keep the stream going: the windows that fire now cannot be written.
      await redis.kill()
      await waitFor(() => lines.length > 0 || sinkRedis.status !== 'ready', { message: 'the sink sees the outage' })
      const lastTs = Math.max(...first.map((e) => e.timestamp!))
      const base2 = Math.floor((lastTs + (Date.now() - t1) + 2 * WINDOW_MS) / WINDOW_MS) * WINDOW_MS
      const second: Event[] = events(base2, 3, 5, 40)
      await produce(
        input,
        second.map((e) => ({ key: e.product_id, value: e })),
      )
      await waitFor(() => lines.some((l) => l.level === 'warn'), { message: 'the outage logged', timeoutMs: 30_000 })
      // Backpressure: the sink reports the outage and the runner pauses the input, visible in /status and /metrics.
      await waitFor(() => runner.status().paused, { message: 'the input paused during the outage', timeoutMs: 10_000 })
      const during = await httpStatus(runner.port!)
      expect(during.paused).toBe(true)
      expect(during.sinks).toEqual([expect.objectContaining({ name: sink.name, state: 'unavailable' })])
      expect(await metric(runner.port!, 'streams_source_paused')).toBe(1)
      const committedDuringOutage = runner.status().partitions.map((p) => p.committed)
      await new Promise((r) => setTimeout(r, 3_000))
      // Nothing past the unwritten results was committed while Redis was down.
      expect(runner.status().partitions.map((p) => p.committed)).toEqual(committedDuringOutage)
      expect(runner.status().state).toBe('running')

      await redis.start()
      const expected = expectedResults([...first, ...second])
      await expectStoredResults(reader, expected, 'exact results after Redis came back')
      // Resumed once the writes went through, after exactly one pause for this outage.
      await waitFor(() => !runner.status().paused || null, { message: 'the input resumed', timeoutMs: 10_000 })
      const after = await httpStatus(runner.port!)
      expect(after.paused).toBe(false)
      expect(after.pauses).toBe(1)
      expect(after.sinks).toEqual([expect.objectContaining({ name: sink.name, state: 'ok' })])
      expect(await metric(runner.port!, 'streams_source_paused')).toBe(0)
      expect(await metric(runner.port!, 'streams_source_pauses_total')).toBe(1)
      // And it keeps consuming: new input after the outage is processed and committed past the outage's offsets.
      const third = events(base2 + 3 * WINDOW_MS, 3, 2, 10)
      await produce(
        input,
        third.map((e) => ({ key: e.product_id, value: e })),
      )
      await waitFor(
        () =>
          runner.status().partitions.reduce((n, p) => n + (p.position ?? 0), 0) >=
            first.length + second.length + third.length || null,
        { message: 'input after the outage consumed', timeoutMs: 30_000 },
      )
      // One line when it started failing, one when it recovered (per sink write that waited: just one here).
      expect(lines.filter((l) => l.level === 'warn')).toHaveLength(1)
      expect(lines.filter((l) => l.level === 'info')).toHaveLength(1)
      expect(lines[1]!.msg).toContain('accepts writes again')
    } finally {
      await runner.stop()
      reader.disconnect()
      sinkRedis.disconnect()
    }
  })
})
