// A job whose Redis (a private redis-server, never the shared one) runs out of memory under maxmemory with
// noeviction: an outage like Redis being down, not a crash; once memory is freed the job ends with exact results.
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

describe('Redis refusing writes with OOM', () => {
  it('pauses the input, shows the sink unavailable (OOM) in /status and /metrics, and ends exact once memory is freed', async () => {
    redis = await privateRedis(['--maxmemory-policy', 'noeviction'])
    const { url } = redis
    const admin = new Redis(url)
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
    const runner = createRunner(countingTopology('oom', input, sink), {
      config: {
        kafkaBrokers: kafkaBrokers(),
        redisUrl: url,
        applicationId: uniqueTopic('app'),
        port: 0,
        commitIntervalMs: 200,
        logLevel: 'warn',
      },
    })
    try {
      await runner.start()
      const first = events(pastWindowStart(), 3, 5, 40)
      const t1 = Date.now()
      await produce(
        input,
        first.map((e) => ({ key: e.product_id, value: e })),
      )
      await waitFor(async () => (await storedResults(admin)).latest['p-0'], { message: 'first results' })

      // maxmemory below what Redis uses: every write that may grow memory is refused with OOM.
      const used = Number(/used_memory:(\d+)/.exec(await admin.info('memory'))![1])
      await admin.config('SET', 'maxmemory', String(used - 200_000))
      const lastTs = Math.max(...first.map((e) => e.timestamp!))
      const base2 = Math.floor((lastTs + (Date.now() - t1) + 2 * WINDOW_MS) / WINDOW_MS) * WINDOW_MS
      const second: Event[] = events(base2, 3, 5, 40)
      await produce(
        input,
        second.map((e) => ({ key: e.product_id, value: e })),
      )
      await waitFor(() => runner.status().sinks[0]?.state === 'unavailable' || null, {
        message: 'the sink reports the OOM outage',
        timeoutMs: 30_000,
      })
      await waitFor(() => runner.status().paused || null, { message: 'the input paused', timeoutMs: 10_000 })
      const during = await httpStatus(runner.port!)
      expect(during.state).toBe('running')
      expect(during.sinks).toEqual([
        expect.objectContaining({ name: sink.name, state: 'unavailable', reason: 'OOM', outages: { OOM: 1 } }),
      ])
      expect(during.sinks[0]!.error).toContain("OOM command not allowed when used memory > 'maxmemory'")
      expect(await metric(runner.port!, 'streams_sink_available', { sink: sink.name })).toBe(0)
      expect(await metric(runner.port!, 'streams_sink_outages_total', { sink: sink.name, reason: 'OOM' })).toBe(1)
      expect(await metric(runner.port!, 'streams_source_paused')).toBe(1)
      const committed = runner.status().partitions.map((p) => p.committed)
      await new Promise((r) => setTimeout(r, 2_000))
      // Still running, still refused, nothing committed past the unwritten results.
      expect(runner.status().state).toBe('running')
      expect(runner.status().partitions.map((p) => p.committed)).toEqual(committed)

      await admin.config('SET', 'maxmemory', '0')
      await expectStoredResults(admin, expectedResults([...first, ...second]), 'exact results once memory is freed')
      await waitFor(() => !runner.status().paused || null, { message: 'the input resumed', timeoutMs: 10_000 })
      const after = await httpStatus(runner.port!)
      expect(after.sinks).toEqual([expect.objectContaining({ name: sink.name, state: 'ok', outages: { OOM: 1 } })])
      expect(await metric(runner.port!, 'streams_sink_available', { sink: sink.name })).toBe(1)
      expect(lines.filter((l) => l.level === 'warn').map((l) => l.msg)).toEqual([expect.stringContaining('OOM')])
      expect(lines.filter((l) => l.level === 'info').map((l) => l.msg)).toEqual([
        expect.stringContaining('accepts writes again'),
      ])
    } finally {
      await runner.stop()
      admin.disconnect()
      sinkRedis.disconnect()
    }
  })
})
