import {
  consume,
  createTopics,
  freshRedis,
  kafkaBrokers,
  produce,
  type TestRedis,
  uniqueTopic,
  waitFor,
} from '@ctr/testing'
import pino from 'pino'
import { describe, expect, it } from 'vitest'
import { changelogTopic } from '../checkpoint/changelog-store.js'
import { encodeCheckpoint } from '../checkpoint/checkpoint-codec.js'
import { sampleCheckpoint } from '../checkpoint/checkpoint-store.case.js'
import { createSinkRedis } from '../connectors/redis/connection.js'
import {
  countingTopology,
  events,
  expectedResults,
  pastWindowStart,
  resultSink,
  storedResults,
  WINDOW_MS,
} from './fixtures/counting-topology.js'
import { expectStoredResults } from './fixtures/expect-results.js'
import { httpStatus, metric } from './fixtures/job-http.js'
import { createRunner } from './runner.js'

/** A runner of the counting topology whose warnings and errors are kept in `logs`. */
function instance(app: string, input: string, redis: TestRedis) {
  const logs: string[] = []
  const logger = pino({ level: 'warn' }, { write: (line: string) => void logs.push(line) })
  const sinkRedis = createSinkRedis(redis.url)
  const runner = createRunner(countingTopology(app, input, resultSink(sinkRedis)), {
    config: { kafkaBrokers: kafkaBrokers(), redisUrl: redis.url, applicationId: app, port: 0 },
    checkpoints: { intervalMs: 300 },
    logger,
  })
  return {
    runner,
    logs,
    stop: async () => {
      await runner.stop()
      await sinkRedis.quit()
    },
  }
}

describe('checkpoint failures are visible', () => {
  it('a checkpoint larger than the changelog accepts: warned at start, /status degraded with the reason, counted in /metrics, nothing committed', async () => {
    const input = uniqueTopic('events')
    const app = uniqueTopic('app-cpbig')
    // an existing changelog with other settings: compacted, but records of at most 200 bytes
    await createTopics([
      { topic: input, partitions: 1 },
      {
        topic: changelogTopic(app),
        partitions: 1,
        config: { 'cleanup.policy': 'compact', 'max.message.bytes': '200' },
      },
    ])
    const redis = await freshRedis()
    const all = events(pastWindowStart(), 3, 4, 40)
    await produce(
      input,
      all.map((e) => ({ key: e.product_id, value: e })),
    )
    const job = instance(app, input, redis)
    try {
      await job.runner.start()
      expect(job.logs.join('')).toContain(
        `changelog topic ${changelogTopic(app)} accepts records of at most 200 bytes (max.message.bytes)`,
      )
      const port = job.runner.port as number
      const s = await waitFor(
        async () => {
          const st = await httpStatus(port)
          return st.state === 'degraded' ? st : null
        },
        { timeoutMs: 60_000, message: '/status says degraded' },
      )
      expect(s.reason).toMatch(/^checkpoints failing: \d+ in a row for \d+ s \(last success: none since the start\)/)
      expect(s.reason).toContain(`more than changelog topic ${changelogTopic(app)} accepts (max.message.bytes=200)`)
      expect(s.reason).toContain(`--entity-name ${changelogTopic(app)} --add-config max.message.bytes=`)
      expect(s.checkpoints?.succeeded).toBe(0)
      expect(s.checkpoints?.failed).toBeGreaterThan(0)
      // results still reach the sink; offsets are never committed past a checkpoint, so none is committed
      await expectStoredResults(redis, expectedResults(all))
      expect((await httpStatus(port)).partitions.map((p) => p.committed)).toEqual([null])
      expect(await metric(port, 'streams_checkpoint_failures_total')).toBeGreaterThan(0)
      expect(await metric(port, 'streams_checkpoints_total')).toBe(0)
      expect(await metric(port, 'streams_checkpoint_age_seconds')).toBeGreaterThan(0)
    } finally {
      await job.stop()
      await redis.release()
    }
  })

  it('a healthy job: state running, checkpoints counted, no failures', async () => {
    const input = uniqueTopic('events')
    await createTopics([{ topic: input, partitions: 1 }])
    const redis = await freshRedis()
    const all = events(pastWindowStart(), 2, 3, 20)
    await produce(
      input,
      all.map((e) => ({ key: e.product_id, value: e })),
    )
    const job = instance(uniqueTopic('app-cpok'), input, redis)
    try {
      await job.runner.start()
      await expectStoredResults(redis, expectedResults(all))
      const port = job.runner.port as number
      await waitFor(async () => ((await httpStatus(port)).checkpoints?.succeeded ?? 0) > 0, {
        message: 'a checkpoint succeeded',
      })
      const s = await httpStatus(port)
      expect(s.state).toBe('running')
      expect(s.reason).toBeUndefined()
      expect(s.checkpoints?.failed).toBe(0)
      expect(await metric(port, 'streams_checkpoint_failures_total')).toBe(0)
      expect(await metric(port, 'streams_checkpoints_total')).toBeGreaterThan(0)
    } finally {
      await job.stop()
      await redis.release()
    }
  })

  it('refuses an existing changelog topic that is not compacted, in one line naming the fix', async () => {
    const input = uniqueTopic('events')
    const app = uniqueTopic('app-cpdel')
    await createTopics([
      { topic: input, partitions: 1 },
      { topic: changelogTopic(app), partitions: 1, config: { 'cleanup.policy': 'delete' } },
    ])
    const redis = await freshRedis()
    const job = instance(app, input, redis)
    try {
      const error = await job.runner.start().then(
        () => undefined,
        (e: Error) => e,
      )
      expect(error?.name).toBe('ConfigError')
      expect(error?.message).toBe(
        `changelog topic ${changelogTopic(app)} has cleanup.policy=delete: checkpoints need a compacted topic (retention would delete a task's newest checkpoint, and a restore would miss it); run \`kafka-configs.sh --bootstrap-server ${kafkaBrokers()} --alter --entity-type topics --entity-name ${changelogTopic(app)} --add-config cleanup.policy=compact\``,
      )
    } finally {
      await job.stop()
      await redis.release()
    }
  })
})

describe('poison records in the changelog', () => {
  it('a corrupt and a foreign record as the newest checkpoint of the task: dead-lettered and counted; the restart restores the checkpoint before them and ends exact', async () => {
    const input = uniqueTopic('events')
    const app = uniqueTopic('app-poison')
    await createTopics([{ topic: input, partitions: 1 }])
    const redis = await freshRedis()
    const first = events(pastWindowStart(), 3, 4, 40)
    const t1 = Date.now()
    await produce(
      input,
      first.map((e) => ({ key: e.product_id, value: e })),
    )
    const a = instance(app, input, redis)
    await a.runner.start()
    await waitFor(async () => (await storedResults(redis)).latest['p-0'], { message: 'first results' })
    await a.stop()
    expect(await a.runner.finished).toBe(0)

    // the newest records of task 0 (the only task): garbage, then another topology's checkpoint
    await produce(changelogTopic(app), [
      { key: '0', value: 'not a checkpoint' },
      { key: '0', value: encodeCheckpoint({ ...sampleCheckpoint('0', 5), topology: 'someone-else' }) },
    ])

    const lastTs = Math.max(...first.map((e) => e.timestamp!))
    const base2 = Math.floor((lastTs + (Date.now() - t1) + 2 * WINDOW_MS) / WINDOW_MS) * WINDOW_MS
    const second = events(base2, 2, 4, 40)
    await produce(
      input,
      second.map((e) => ({ key: e.product_id, value: e })),
    )
    const b = instance(app, input, redis)
    try {
      await b.runner.start()
      await expectStoredResults(redis, expectedResults([...first, ...second]), 'exact results after the restart')
      const port = b.runner.port as number
      const s = await httpStatus(port)
      expect(s.state).toBe('running')
      // restored from the valid checkpoint the first run wrote at its stop: nothing of the first run read again
      expect((s.counters?.eventsIn ?? 0) - second.length).toBe(0)
      expect(s.deadLetters).toEqual({ invalid_internal_record: 2 })
      expect(await metric(port, 'streams_dead_letters_total', { reason: 'invalid_internal_record' })).toBe(2)
      const dlq = await consume(`${app}-dlq`, { count: 2, timeoutMs: 30_000 })
      expect(dlq.map((m) => m.headers['error.reason'])).toEqual(['invalid_internal_record', 'invalid_internal_record'])
      expect(dlq.every((m) => m.headers['source.topic'] === changelogTopic(app) && m.key === '0')).toBe(true)
      const messages = dlq.map((m) => m.headers['error.message']).sort()
      expect(messages[0]).toMatch(
        new RegExp(
          `^changelog record ${changelogTopic(app)}-0@\\d+ \\(task 0\\) skipped: checkpoint record is not a gzipped JSON checkpoint`,
        ),
      )
      expect(messages[1]).toContain(`skipped: it belongs to topology "someone-else", not "${app}"`)
      expect(dlq.map((m) => m.value)).toContain('not a checkpoint')
      expect(b.logs.join('')).toContain('task 0 is restored from the checkpoint before it')
    } finally {
      await b.stop()
      await redis.release()
    }
  })
})
