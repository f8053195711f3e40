/**
 * End to end on the real cluster: the dataset of test/dataset.ts, produced in phases to fresh topics
 * (impressions 6 partitions, clicks 3), the CTR job in-process on the runner with a fresh Redis database,
 * then `ctr:latest`, `ctr:previous`, the DLQ and the API compared with what test/oracle.ts computes
 * from docs/contract.md on its own.
 */
import { createApi } from '@ctr/serving'
import { createRunner, type Runner } from '@ctr/streams-dsl/runner'
import {
  consume,
  createTopics,
  freshRedis,
  kafkaBrokers,
  type TestRedis,
  testKafka,
  uniqueTopic,
  waitFor,
} from '@ctr/testing'
import { afterAll, beforeAll, describe, expect, it, onTestFinished } from 'vitest'
import { buildPhases, CLICK_PARTITIONS, IMPRESSION_PARTITIONS } from '../test/dataset.js'
import { type Expected, expectedOutcome, type ProducedRecord, S } from '../test/oracle.js'
import { ctrResultsSink } from './results-sink.js'
import { ctrTopology } from './topology.js'

const IDLE_TIMEOUT_MS = 8_000

// TASKS=single: one task; TASKS=auto: repartitioned by product_id through the internal topic (the job's default).
for (const tasks of ['single', 'auto'] as const) {
  const topics = { impressions: uniqueTopic('impressions'), clicks: uniqueTopic('clicks') }
  const applicationId = uniqueTopic(`ctr-e2e-${tasks}`)
  const producer = testKafka('ctr-e2e-producer').producer({ kafkaJS: { acks: -1, idempotent: true } })
  /** Records produced so far per `topic:partition`, i.e. the next offset once all are consumed. */
  const produced = new Map<string, number>()
  let redis: TestRedis
  let runner: Runner

  async function produce(records: readonly ProducedRecord[]): Promise<void> {
    for (const topic of ['impressions', 'clicks'] as const) {
      const messages = records
        .filter((r) => r.topic === topic)
        .map((r) => ({ key: r.key, value: r.value, partition: r.partition, timestamp: String(r.recordTimestamp) }))
      if (messages.length > 0) await producer.send({ topic: topics[topic], messages })
    }
    for (const r of records) {
      const id = `${topics[r.topic]}:${r.partition}`
      produced.set(id, (produced.get(id) ?? 0) + 1)
    }
  }

  /** Waits until the engine has processed every record produced so far, on every partition. */
  async function waitConsumed(phase: number): Promise<void> {
    await waitFor(
      () => {
        const parts = runner.status().partitions
        return [...produced].every(([id, n]) =>
          parts.some((p) => `${p.topic}:${p.partition}` === id && (p.nextOffset ?? 0) >= n),
        )
      },
      { timeoutMs: 60_000, intervalMs: 50, message: `the job consuming phase ${phase}` },
    )
  }

  describe(`CTR pipeline end to end, TASKS=${tasks}`, () => {
    let expected: Expected
    let phases: ProducedRecord[][]

    beforeAll(async () => {
      await createTopics([
        { topic: topics.impressions, partitions: IMPRESSION_PARTITIONS },
        { topic: topics.clicks, partitions: CLICK_PARTITIONS },
      ])
      redis = await freshRedis()
      await producer.connect()
      const now = Date.now()
      const T = Math.floor((now - 600_000) / S) * S // aligned, 10 minutes back: far from the future guard
      phases = buildPhases(T, now)
      expected = expectedOutcome(phases, now)
    })

    afterAll(async () => {
      await runner?.stop()
      await producer.disconnect()
      await redis?.release()
    })

    it('gives exactly the latest/previous results and DLQ counts of the contract, and the API serves them', async () => {
      // Phase 1 is in Kafka before the job starts: a new application id reads from the beginning.
      await produce(phases[0]!)
      runner = createRunner(
        ctrTopology({
          applicationId,
          impressionsTopic: topics.impressions,
          clicksTopic: topics.clicks,
          results: ctrResultsSink({ publish: false }),
          idleTimeout: IDLE_TIMEOUT_MS,
        }),
        {
          env: {},
          config: { kafkaBrokers: kafkaBrokers(), redisUrl: redis.url, port: 0, logLevel: 'warn', applicationId },
          tasks,
        },
      )
      await runner.start()
      for (let k = 0; k < phases.length; k++) {
        if (k > 0) await produce(phases[k]!)
        await waitConsumed(k + 1)
        // the watermark the oracle expects after this phase: the premise of every lateness judgement. Repartitioned,
        // the tasks learn it from the markers that follow the data: wait for it, and never see it overshoot.
        if (tasks === 'auto')
          await waitFor(() => (runner.status().watermark ?? Number.NEGATIVE_INFINITY) >= expected.watermarks[k]!, {
            timeoutMs: 10_000,
            message: `the tasks reaching the watermark of phase ${k + 1}`,
          })
        expect(runner.status().watermark, `job watermark after phase ${k + 1}`).toBe(expected.watermarks[k])
      }

      // Traffic stops: every partition goes idle, event time follows the wall clock, the last windows close.
      await waitFor(() => runner.status().allIdle && runner.status().windows.open === 0, {
        timeoutMs: 60_000,
        message: 'every window closed and purged',
      })
      const read = async (key: string) =>
        Object.fromEntries(Object.entries(await redis.hgetall(key)).map(([k, v]) => [k, JSON.parse(v)]))
      expect(await read('ctr:latest')).toEqual(expected.latest)
      expect(await read('ctr:previous')).toEqual(expected.previous)

      // The DLQ: one message per bad or late record, with its reason and origin.
      const total = Object.values(expected.dlq).reduce((a, b) => a + b, 0)
      const dlq = await consume(`${applicationId}-dlq`, { count: total, timeoutMs: 30_000 })
      const byReason: Record<string, number> = {}
      for (const m of dlq)
        byReason[m.headers['error.reason'] ?? '?'] = (byReason[m.headers['error.reason'] ?? '?'] ?? 0) + 1
      expect(byReason).toEqual(expected.dlq)
      expect(runner.status().deadLetters).toEqual(expected.dlq)
      // late events are judged after the repartition topic, yet name their original partition and offset
      const late = dlq.filter((m) => m.headers['error.reason'] === 'late_event')
      expect(late.length).toBeGreaterThan(0)
      for (const m of late) {
        expect(m.headers['source.topic'] === topics.impressions || m.headers['source.topic'] === topics.clicks).toBe(
          true,
        )
        expect(Object.keys(m.headers).filter((h) => h.startsWith('origin.'))).toEqual([])
      }
      const bad = dlq.filter((m) => m.headers['error.reason'] === 'invalid_json')
      const cut = bad.find((m) => m.headers['source.partition'] === '1')
      expect(cut?.headers).toMatchObject({ 'source.topic': topics.impressions })
      expect(cut?.value).toBe('{"event_id": "x", "product_id": "p-1", "timest')
      // the record with a 0xFF byte in its product_id: not UTF-8, so not JSON (never "p\ufffd")
      const notUtf8 = bad.find((m) => m.headers['source.partition'] === '2')
      expect(notUtf8?.headers['error.message']).toBe('not JSON: invalid UTF-8 in a string (JSON text must be UTF-8)')
      const unicode = dlq.filter((m) => m.headers['error.message']?.startsWith('product_id: must'))
      expect(unicode.map((m) => m.headers['error.message']).sort()).toEqual([
        'product_id: must be at most 128 characters',
        'product_id: must be valid Unicode (no unpaired surrogates)',
        'product_id: must not be empty',
        'product_id: must not contain control characters',
      ])

      // The API serves the same values.
      const shutdown = new AbortController() // closes the API's subscription to ctr:updates at the end
      onTestFinished(() => shutdown.abort())
      const api = createApi({ redis, shutdown: shutdown.signal })
      const get = async (path: string) => {
        const res = await api.request(path)
        return { status: res.status, body: await res.json() }
      }
      expect(await get('/ctr/latest')).toEqual({ status: 200, body: expected.latest })
      expect(await get('/ctr/previous')).toEqual({ status: 200, body: expected.previous })
      const latest = expected.latest['p-6']!
      const previous = expected.previous['p-6']!
      expect(await get('/ctr/p-6')).toEqual({
        status: 200,
        body: { product_id: 'p-6', latest, previous, ctr_change: latest.ctr! - previous.ctr! },
      })
      expect((await get('/ctr/p-999')).status).toBe(404)
      // Object.prototype names are products like any other, counted by the job and served by the API.
      const proto = Object.getOwnPropertyDescriptor(expected.latest, '__proto__')?.value
      expect(proto).toMatchObject({ impressions: 1, clicks: 1 })
      expect(await get('/ctr/__proto__')).toEqual({
        status: 200,
        body: { product_id: '__proto__', latest: proto, previous: null, ctr_change: null },
      })
    })
  })
}
