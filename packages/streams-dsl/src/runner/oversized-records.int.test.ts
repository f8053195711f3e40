import { randomBytes } from 'node:crypto'
import { consume, createTopics, freshRedis, kafkaBrokers, type TestRedis, uniqueTopic, waitFor } from '@ctr/testing'
import { describe, expect, it } from 'vitest'
import { KafkaProducer } from '../connectors/kafka/kafka-producer.js'
import { describeTopicConfigs } from '../connectors/kafka/topic-configs.js'
import { createSinkRedis } from '../connectors/redis/connection.js'
import {
  countingTopology,
  type Event,
  events,
  expectedResults,
  pastWindowStart,
  resultSink,
} from './fixtures/counting-topology.js'
import { expectStoredResults } from './fixtures/expect-results.js'
import { httpStatus } from './fixtures/job-http.js'
import { capturedLogger, runnerReport } from './fixtures/runner-report.js'
import { createRunner } from './runner.js'

const MiB = 1024 * 1024
/** Source topics that accept records of up to 3 MiB (the broker default is 1 MiB). */
const BIG_TOPIC = { 'max.message.bytes': String(3 * MiB) }

/** Bytes that do not compress (so no producer's compression hides their size). */
const noise = (n: number) =>
  randomBytes(Math.ceil((n * 3) / 4) + 3)
    .toString('base64')
    .slice(0, n)
/** A valid event whose JSON is `bytes` long: the schema's fields plus a field the schema does not name. */
const paddedEvent = (e: Event, bytes: number) => {
  const head = JSON.stringify({ ...e, pad: '' })
  return `${head.slice(0, -2)}${noise(bytes - head.length)}"}`
}

/** Produces with a client that takes large records (the test helper's keeps librdkafka's 1,000,000 bytes). */
async function produceRaw(topic: string, messages: { key: string | null; value: string; partition?: number }[]) {
  const p = new KafkaProducer({ brokers: kafkaBrokers(), rdkafka: { 'message.max.bytes': 8 * MiB } })
  try {
    await p.send(topic, messages)
  } finally {
    await p.close()
  }
}

function instance(app: string, input: string, redis: TestRedis, tasks: 'single' | 'auto') {
  const sinkRedis = createSinkRedis(redis.url)
  const { logger, lines } = capturedLogger(app)
  const runner = createRunner(countingTopology(app, input, resultSink(sinkRedis)), {
    config: { kafkaBrokers: kafkaBrokers(), redisUrl: redis.url, applicationId: app, port: 0, logLevel: 'info' },
    tasks,
    checkpoints: { intervalMs: 500 },
    logger,
  })
  return {
    runner,
    /** Its status and last log lines, for a failure's message. */
    report: () => runnerReport(runner.port, lines),
    stop: async () => {
      await runner.stop()
      await sinkRedis.quit()
    },
  }
}

/** Waits until every partition of the input is committed up to its end (nothing stuck behind a record). */
const committedToEnd = (job: ReturnType<typeof instance>, input: string) =>
  waitFor(
    async () => {
      const s = await httpStatus(job.runner.port as number)
      const parts = s.partitions.filter((p) => p.topic === input)
      return parts.length > 0 && parts.every((p) => p.committed !== null && p.committed === p.highWatermark)
    },
    { timeoutMs: 60_000, message: 'input committed to its end' },
  ).catch(async (e) => {
    throw new Error(`${(e as Error).message}\n${await job.report()}`)
  })

describe('records near and above Kafka size limits', () => {
  it('TASKS=single: a valid 2 MiB record is counted; invalid ones go to a smaller DLQ, whole when they fit, else truncated with their size', async () => {
    const input = uniqueTopic('big')
    const app = uniqueTopic('app-big')
    // the DLQ exists already with the broker default limit (1048588 bytes)
    await createTopics([
      { topic: input, partitions: 1, config: BIG_TOPIC },
      { topic: `${app}-dlq`, partitions: 1 },
    ])
    const redis = await freshRedis()
    const start = pastWindowStart()
    const before = events(start, 2, 3, 20)
    const big: Event = { product_id: 'p-0', kind: 'impression', timestamp: start + 20_500 }
    const after = events(start + 20_000, 1, 3, 20)
    const nearLimit = noise(1_040_000) // not JSON: invalid_json, and just fits the DLQ's 1 MiB
    const tooBig = noise(2 * MiB) // not JSON, twice what the DLQ takes
    await produceRaw(input, [
      ...before.map((e) => ({ key: e.product_id, value: JSON.stringify(e) })),
      { key: 'near', value: nearLimit },
      { key: 'p-0', value: paddedEvent(big, 2 * MiB) },
      { key: 'over', value: tooBig },
      ...after.map((e) => ({ key: e.product_id, value: JSON.stringify(e) })),
    ])
    const job = instance(app, input, redis, 'single')
    try {
      await job.runner.start()
      await expectStoredResults(redis, expectedResults([...before, big, ...after]), undefined, undefined, job.report)
      await committedToEnd(job, input)
      expect(job.runner.state).toBe('running')

      const dlq = await consume(`${app}-dlq`, { count: 2, timeoutMs: 60_000 })
      const byKey = Object.fromEntries(dlq.map((m) => [m.key, m]))
      expect(byKey.near?.value).toBe(nearLimit)
      expect(byKey.near?.headers['error.reason']).toBe('invalid_json')
      expect(byKey.near?.headers['error.value.truncated']).toBeUndefined()
      const over = byKey.over
      expect(over?.headers).toMatchObject({
        'error.reason': 'invalid_json',
        'error.value.truncated': 'true',
        'error.value.bytes': String(2 * MiB),
        'source.topic': input,
        'source.offset': String(before.length + 2),
      })
      expect(over?.headers['error.message']).toMatch(
        /\(value truncated to its first \d+ of 2097152 bytes: the DLQ topic accepts records of at most 1048588 bytes\)$/,
      )
      expect(tooBig.startsWith(over?.value ?? '-')).toBe(true)
      expect(over?.value?.length).toBeGreaterThan(1_000_000)
      expect(over?.value?.length).toBeLessThan(1_048_588)
      expect((await httpStatus(job.runner.port as number)).deadLetters).toEqual({ invalid_json: 2 })
    } finally {
      await job.stop()
      await redis.release()
    }
  })

  it('TASKS=auto: a record near the repartition topic limit is routed and counted; one above it is a record_too_large dead letter, whole in a DLQ sized from the sources', async () => {
    const input = uniqueTopic('big-unkeyed')
    const app = uniqueTopic('app-big-rp')
    const repartition = `${app}-keyBy-3-repartition`
    // the repartition topic exists already with the broker default limit
    await createTopics([
      { topic: input, partitions: 2, config: BIG_TOPIC },
      { topic: repartition, partitions: 2 },
    ])
    const redis = await freshRedis()
    const start = pastWindowStart()
    const small = events(start, 2, 4, 40)
    const near: Event = { product_id: 'p-1', kind: 'click', timestamp: start + 2000 }
    const over: Event = { product_id: 'p-2', kind: 'impression', timestamp: start + 3000 }
    const overValue = paddedEvent(over, 2 * MiB)
    await produceRaw(input, [
      ...small.map((e, i) => ({ key: null, value: JSON.stringify(e), partition: i % 2 })),
      { key: null, value: paddedEvent(near, 1_040_000), partition: 0 },
      { key: 'over', value: overValue, partition: 1 },
    ])
    const job = instance(app, input, redis, 'auto')
    try {
      await job.runner.start()
      await expectStoredResults(redis, expectedResults([...small, near]), undefined, undefined, job.report)
      await committedToEnd(job, input)
      // the DLQ is created to take what the sources take
      const dlqLimit = Number(
        (await describeTopicConfigs([`${app}-dlq`], kafkaBrokers())).get(`${app}-dlq`)?.get('max.message.bytes'),
      )
      expect(dlqLimit).toBeGreaterThan(3 * MiB)
      const [letter] = await consume(`${app}-dlq`, { count: 1, timeoutMs: 60_000 })
      expect(letter?.key).toBe('over')
      expect(letter?.value).toBe(overValue)
      expect(letter?.headers['error.reason']).toBe('record_too_large')
      expect(letter?.headers['error.message']).toMatch(
        new RegExp(
          `^record of \\d+ bytes \\(key, value and headers\\) cannot be routed through repartition topic ${repartition}, which accepts records of at most 1048588 bytes \\(max.message.bytes\\)`,
        ),
      )
      expect(letter?.headers['error.value.truncated']).toBeUndefined()
      expect((await httpStatus(job.runner.port as number)).deadLetters).toEqual({ record_too_large: 1 })
      expect(job.runner.state).toBe('running')
    } finally {
      await job.stop()
      await redis.release()
    }
  })
})
