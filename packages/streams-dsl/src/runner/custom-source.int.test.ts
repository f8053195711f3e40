// The runner on a source of the user's (option `source`): the real runner (its tick and commit loops, the
// idleness evidence, backpressure, /status) reading a MemorySource, writing to a real Redis and its DLQ to Kafka.
import { freshRedis, kafkaBrokers, uniqueTopic, waitFor } from '@ctr/testing'
import { describe, expect, it } from 'vitest'
import { createSinkRedis } from '../connectors/redis/connection.js'
import { MemorySource } from '../testing/memory-source.js'
import {
  countingTopology,
  type Event,
  events,
  expectedResults,
  pastWindowStart,
  resultSink,
  storedResults,
} from './fixtures/counting-topology.js'
import { expectStoredResults } from './fixtures/expect-results.js'
import { createRunner, type RunnerOptions } from './runner.js'

const PARTITIONS = 3
const config = (applicationId: string, redisUrl: string) => ({
  kafkaBrokers: kafkaBrokers(),
  redisUrl,
  applicationId,
  port: 0,
  commitIntervalMs: 200,
  logLevel: 'warn' as const,
})
const push = (source: MemorySource, input: string, list: readonly Event[]) =>
  Promise.all(
    Array.from({ length: PARTITIONS }, (_, p) =>
      source.push(
        input,
        p,
        list
          .filter((_, i) => i % PARTITIONS === p)
          .map((e) => ({ key: Buffer.from(e.product_id), value: Buffer.from(JSON.stringify(e)) })),
      ),
    ),
  )

describe('runner on a source of your own (option source)', () => {
  it('reads a MemorySource: exact results in Redis, offsets committed through the source, /status from it', async () => {
    const input = uniqueTopic('mem-in')
    const redis = await freshRedis()
    const sinkRedis = createSinkRedis(redis.url)
    const source = new MemorySource({ [input]: PARTITIONS })
    const asked: string[][] = []
    const runner = createRunner(countingTopology(uniqueTopic('mem-app'), input, resultSink(sinkRedis)), {
      config: config(uniqueTopic('mem-app'), redis.url),
      source: (spec) => {
        asked.push([...spec.topics])
        return source
      },
    })
    const all = events(pastWindowStart(), 4, 6, 60)
    try {
      await runner.start()
      expect(asked).toEqual([[input]])
      await push(source, input, all)
      await expectStoredResults(redis, expectedResults(all))
      // the runner commits through the source, up to the end of every partition once the windows are purged
      await waitFor(
        () =>
          source.all().every((tp) => source.committed.get(`${tp.topic}:${tp.partition}`) === all.length / PARTITIONS),
        { message: 'every partition committed to its end' },
      )
      const s = runner.status()
      expect(s.counters?.eventsIn).toBe(all.length)
      expect(s.partitions.map((p) => [p.partition, p.position, p.lag])).toEqual(
        Array.from({ length: PARTITIONS }, (_, p) => [p, all.length / PARTITIONS, 0]),
      )
    } finally {
      await runner.stop()
      await sinkRedis.quit()
    }
  })

  it('a partition the source cannot read holds the watermark: nothing fires or is late until it is back', async () => {
    const input = uniqueTopic('mem-in')
    const redis = await freshRedis()
    const sinkRedis = createSinkRedis(redis.url)
    const source = new MemorySource({ [input]: PARTITIONS })
    const app = uniqueTopic('mem-app')
    const runner = createRunner(countingTopology(app, input, resultSink(sinkRedis)), {
      config: config(app, redis.url),
      source: () => source,
    })
    const all = events(pastWindowStart(), 4, 6, 60)
    try {
      await runner.start()
      source.outage([{ topic: input, partition: 2 }])
      await push(source, input, all)
      // far past the idle timeout (1 s): partition 2 has no evidence that it holds nothing unread, so it is
      // never idle, and the windows wait for it
      await new Promise((r) => setTimeout(r, 3000))
      expect(await storedResults(redis)).toEqual({ latest: {}, previous: {} })
      expect(runner.status().windows.oldest?.waitingFor.map((p) => p.partition)).toEqual([2])
      await source.recover()
      await expectStoredResults(redis, expectedResults(all))
      expect(runner.status().counters?.late).toBe(0)
    } finally {
      await runner.stop()
      await sinkRedis.quit()
    }
  })

  it.each<[string, RunnerOptions, RegExp]>([
    ['tasks auto', { tasks: 'auto' }, /tasks 'auto' repartitions through Kafka topics/],
    ['a bounded run', { untilEnd: true }, /has no end offsets for a bounded run/],
    [
      'exactly-once',
      { guarantee: 'exactly-once', checkpoints: { enabled: true } },
      /cannot commit its offsets in a Kafka transaction/,
    ],
  ])('is refused with a one-line ConfigError for %s', async (_, options, message) => {
    const input = uniqueTopic('mem-in')
    const redis = await freshRedis()
    const app = uniqueTopic('mem-app')
    const runner = createRunner(countingTopology(app, input, resultSink()), {
      config: config(app, redis.url),
      ...options,
      source: () => new MemorySource({ [input]: PARTITIONS }),
    })
    const error = await runner.start().then(
      () => undefined,
      (e: Error) => e,
    )
    expect(error?.name).toBe('ConfigError')
    expect(error?.message).toMatch(message)
    expect(error?.message).not.toContain('\n')
    expect(runner.port).toBeUndefined() // refused before the status server started
  })
})
