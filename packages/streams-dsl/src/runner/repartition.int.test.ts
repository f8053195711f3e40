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
import { describe, expect, it } from 'vitest'
import { z } from 'zod'
import { describeCluster } from '../connectors/kafka/admin.js'
import { createSinkRedis } from '../connectors/redis/connection.js'
import { count, json, topic, topology, tumbling } from '../index.js'
import { StagedEngine } from '../runtime/repartition/staged-engine.js'
import {
  countingTopology,
  type Event,
  events,
  expectedResults,
  pastWindowStart,
  resultSink,
} from './fixtures/counting-topology.js'
import { expectStoredResults } from './fixtures/expect-results.js'
import { createRunner } from './runner.js'

const config = (applicationId: string, redisUrl: string) => ({
  kafkaBrokers: kafkaBrokers(),
  redisUrl,
  applicationId,
  port: 0,
  logLevel: 'warn' as const,
})

/** A runner of the counting topology with `tasks: 'auto'`, 1 s checkpoints. */
function instance(app: string, input: string, redis: TestRedis) {
  const sinkRedis = createSinkRedis(redis.url)
  const runner = createRunner(countingTopology(app, input, resultSink(sinkRedis)), {
    config: config(app, redis.url),
    tasks: 'auto',
    checkpoints: { intervalMs: 1000, sessionTimeoutMs: 6000 },
  })
  let stopped: Promise<void> | undefined
  return {
    runner,
    stop: () => {
      stopped ??= runner.stop().then(async () => void (await sinkRedis.quit()))
      return stopped
    },
  }
}

const expectExact = (redis: TestRedis, all: readonly Event[]) => expectStoredResults(redis, expectedResults(all))

describe('runner, tasks auto: repartitioning through an internal topic', () => {
  it('two instances share null-keyed input exactly, through <app>-<keyBy>-repartition; one leaves, the other goes on', async () => {
    const input = uniqueTopic('unkeyed')
    await createTopics([{ topic: input, partitions: 4 }])
    const redis = await freshRedis()
    const app = uniqueTopic('app-rp')
    const start = pastWindowStart(8)
    // null keys: the producer spreads records over the partitions, so a product's events are in all of them
    const first = events(start, 3, 12, 80)
    await produce(
      input,
      first.map((e, i) => ({ key: null, value: e, partition: i % 4 })),
    )
    const a = instance(app, input, redis)
    const b = instance(app, input, redis)
    try {
      await a.runner.start()
      await b.runner.start()
      const engines = [a.runner.engine, b.runner.engine]
      expect(engines.every((e) => e instanceof StagedEngine)).toBe(true)
      const topics = (await describeCluster(kafkaBrokers())).topics
      const internal = `${app}-keyBy-3-repartition`
      expect(topics.get(internal)).toBe(4)

      // the group spreads the 8 partitions (4 source, 4 repartition) over both instances
      const owned = (e: unknown) => (e as StagedEngine).upstream.inputs.length + (e as StagedEngine).downstream.size
      await waitFor(() => engines.every((e) => owned(e) > 0) && engines.reduce((n, e) => n + owned(e), 0) === 8, {
        timeoutMs: 60_000,
        message: 'both instances own partitions',
      })
      await expectExact(redis, first)

      // /status of an instance: source partitions, not the internal topic
      const s = a.runner.status()
      expect(s.partitions.every((p) => p.topic === input || p.topic === internal)).toBe(true)

      // b leaves (graceful): a takes every task over from the checkpoints and counts what follows exactly
      await b.stop()
      await waitFor(() => owned(a.runner.engine) === 8, { timeoutMs: 60_000, message: 'a owns all 8 partitions' })
      // Meanwhile every partition went idle and event time followed the wall clock from phase 1 (docs/contract.md §2.4),
      // so phase 2 is recent; and it is one window, so no partition's records can make another's late, whatever
      // the order they arrive in (idle partitions do not hold W back).
      const second = events(pastWindowStart(1), 1, 12, 80)
      await produce(
        input,
        second.map((e, i) => ({ key: null, value: e, partition: (i * 3) % 4 })),
      )
      await expectExact(redis, [...first, ...second])
    } finally {
      await a.stop()
      await b.stop()
      await redis.release()
    }
  })

  it('a foreign and a corrupt record in the repartition topic are dead letters (invalid_internal_record), counted; the job goes on, exact', async () => {
    const input = uniqueTopic('unkeyed')
    await createTopics([{ topic: input, partitions: 2 }])
    const redis = await freshRedis()
    const app = uniqueTopic('app-rp-poison')
    const start = pastWindowStart(4)
    const all = events(start, 3, 6, 40)
    const a = instance(app, input, redis)
    try {
      await a.runner.start()
      const internal = `${app}-keyBy-3-repartition`
      // what another program (or a bit flip) could put there, ahead of the real records: not a bundle, and a
      // JSON look-alike of an event
      await produce(internal, [
        { key: 'x', value: 'not a repartition record', partition: 0 },
        { key: null, value: { product_id: 'p-0', kind: 'impression', timestamp: start }, partition: 1 },
      ])
      await produce(
        input,
        all.map((e, i) => ({ key: null, value: e, partition: i % 2 })),
      )
      await expectExact(redis, all)
      await waitFor(() => a.runner.status().deadLetters.invalid_internal_record === 2 || null, {
        timeoutMs: 30_000,
        message: 'both internal records dead-lettered',
      })
      expect(a.runner.status().state).toBe('running')
      const dlq = await consume(`${app}-dlq`, { count: 2, timeoutMs: 30_000 })
      expect(dlq.map((m) => m.headers['error.reason'])).toEqual(['invalid_internal_record', 'invalid_internal_record'])
      expect(dlq.every((m) => m.headers['source.topic'] === internal)).toBe(true)
      expect(dlq.map((m) => m.value)).toContain('not a repartition record')
    } finally {
      await a.stop()
      await redis.release()
    }
  })

  it('a keyBy declared co-partitioned is not repartitioned when the partition counts agree, and is when they differ', async () => {
    const [x, y, z2] = [uniqueTopic('cx'), uniqueTopic('cy'), uniqueTopic('cz')]
    await createTopics([
      { topic: x, partitions: 3 },
      { topic: y, partitions: 3 },
      { topic: z2, partitions: 2 },
    ])
    const redis = await freshRedis()
    const Ev = z.object({ k: z.string() })
    const build = (name: string, a: string, b: string) => {
      const t = topology(name)
      t.source(topic(a, { value: json(Ev) }))
        .merge(t.source(topic(b, { value: json(Ev) })))
        .keyBy((e) => e.k, { copartitioned: true, name: 'by-k' })
        .window(tumbling('10s'))
        .aggregate(count())
        .to({ name: 'none', write: async () => {} })
      return t.build()
    }
    const same = uniqueTopic('app-same')
    const differ = uniqueTopic('app-differ')
    const r1 = createRunner(build(same, x, y), { config: config(same, redis.url), tasks: 'auto' })
    const r2 = createRunner(build(differ, x, z2), { config: config(differ, redis.url), tasks: 'auto' })
    try {
      await r1.start()
      await r2.start()
      expect(r1.engine instanceof StagedEngine).toBe(false)
      expect(r2.engine instanceof StagedEngine).toBe(true)
      const topics = (await describeCluster(kafkaBrokers())).topics
      expect(topics.has(`${same}-by-k-repartition`)).toBe(false)
      expect(topics.get(`${differ}-by-k-repartition`)).toBe(3)
    } finally {
      await r1.stop()
      await r2.stop()
      await redis.release()
    }
  })

  it('refuses CHECKPOINTS=off for a windowed topology before touching Kafka, in one line', async () => {
    const input = uniqueTopic('nocp')
    await createTopics([{ topic: input, partitions: 2 }])
    const redis = await freshRedis()
    const app = uniqueTopic('app-nocp')
    const runner = createRunner(countingTopology(app, input, { name: 'none', write: async () => {} }), {
      config: config(app, redis.url),
      tasks: 'auto',
      checkpoints: { enabled: false },
    })
    try {
      const error = await runner.start().then(
        () => undefined,
        (e: Error) => e,
      )
      expect(error?.name).toBe('ConfigError')
      expect(error?.message).toMatch(
        /^CHECKPOINTS=off cannot run topology "[^"]+": it has windows \(window-4\), .* set CHECKPOINTS=on \(the default\)/,
      )
      expect(runner.state).toBe('starting')
      expect((await describeCluster(kafkaBrokers())).topics.has(`${app}-dlq`)).toBe(false)
      expect(error?.message).not.toContain('\n')
    } finally {
      await runner.stop()
      await redis.release()
    }
  })
})
