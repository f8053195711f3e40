import { consume, createTopics, kafkaBrokers, produce, uniqueTopic, waitFor } from '@ctr/testing'
import { describe, expect, it } from 'vitest'
import type { InputBatch, TopicPartition } from '../types.js'
import { describeCluster, describePartitions, ensureTopics } from './admin.js'
import { kafkaSink } from './kafka-sink.js'
import { KafkaSource } from './kafka-source.js'

const quiet = { info: () => {}, warn: () => {}, error: () => {}, debug: () => {} } as never

describe('Kafka connectors', () => {
  it('kafkaSink delivers keyed JSON records and rejects when delivery fails', async () => {
    const topic = uniqueTopic('sink')
    await createTopics([{ topic, partitions: 2 }])
    const sink = kafkaSink<{ id: string; n: number }>({
      topic,
      key: (r) => r.id,
      brokers: kafkaBrokers(),
      logger: quiet,
    })
    try {
      await sink.write([
        { id: 'a', n: 1 },
        { id: 'b', n: 2 },
      ])
      const got = await consume(topic, { count: 2 })
      expect(got.map((m) => [m.key, m.value]).sort()).toEqual([
        ['a', '{"id":"a","n":1}'],
        ['b', '{"id":"b","n":2}'],
      ])
    } finally {
      await sink.close?.()
    }
    const tooSmall = kafkaSink<string>({
      topic,
      value: (s) => s,
      brokers: kafkaBrokers(),
      logger: quiet,
      rdkafka: { 'message.max.bytes': 1000 },
    })
    try {
      await expect(tooSmall.write(['x'.repeat(5000)])).rejects.toThrow()
    } finally {
      await tooSmall.close?.()
    }
  })

  it('ensureTopics creates missing topics (compacted ones too), leaves existing ones, describes partitions', async () => {
    const existing = uniqueTopic('existing')
    const fresh = uniqueTopic('fresh')
    const compacted = uniqueTopic('changelog')
    await createTopics([{ topic: existing, partitions: 2 }])
    const created = await ensureTopics(
      [
        { topic: existing, partitions: 8 },
        { topic: fresh, partitions: 3 },
        { topic: compacted, compacted: true },
      ],
      kafkaBrokers(),
    )
    expect(created.sort()).toEqual([compacted, fresh].sort())
    const cluster = await describeCluster(kafkaBrokers())
    expect(cluster.topics.get(existing)).toBe(2)
    expect(cluster.topics.get(fresh)).toBe(3)
    expect(cluster.topics.get(compacted)).toBe(1)
    expect(await ensureTopics([{ topic: fresh }], kafkaBrokers())).toEqual([])
    await produce(fresh, [{ value: 'x', partition: 1 }])
    expect(await describePartitions(fresh, kafkaBrokers())).toEqual([
      { partition: 0, low: 0, high: 0 },
      { partition: 1, low: 0, high: 1 },
      { partition: 2, low: 0, high: 0 },
    ])
  })

  it('KafkaSource: batches per partition in offset order, pause holds a partition, commits only what it is told', async () => {
    const topic = uniqueTopic('source')
    await createTopics([{ topic, partitions: 2 }])
    await produce(
      topic,
      Array.from({ length: 20 }, (_, i) => ({ value: String(i), partition: i % 2 })),
    )
    const groupId = uniqueTopic('group')
    const seen = new Map<number, number[]>()
    const assigned: TopicPartition[] = []
    const source = new KafkaSource({ topics: [topic], groupId, brokers: kafkaBrokers(), logger: quiet })
    const onBatches = async (bs: readonly InputBatch[]) => {
      for (const b of bs) {
        expect(b.records.every((r) => r.topic === topic && r.partition === b.partition)).toBe(true)
        seen.set(b.partition, [...(seen.get(b.partition) ?? []), ...b.records.map((r) => r.offset)])
      }
    }
    await source.start({
      onBatches,
      onAssigned: async (tps) => {
        assigned.push(...tps)
      },
      onRevoked: async () => {},
    })
    try {
      await waitFor(() => (seen.get(0)?.length ?? 0) + (seen.get(1)?.length ?? 0) === 20, { message: '20 records' })
      expect(assigned.map((t) => t.partition).sort()).toEqual([0, 1])
      expect(seen.get(0)).toEqual([...Array(10).keys()])
      expect(seen.get(1)).toEqual([...Array(10).keys()])

      source.pause([{ topic, partition: 0 }])
      await produce(topic, [
        { value: 'p0', partition: 0 },
        { value: 'p1', partition: 1 },
      ])
      await waitFor(() => seen.get(1)?.length === 11, { message: 'partition 1 goes on' })
      await new Promise((r) => setTimeout(r, 1000))
      expect(seen.get(0)).toHaveLength(10)
      source.resume([{ topic, partition: 0 }])
      await waitFor(() => seen.get(0)?.length === 11, { message: 'partition 0 after resume' })
      expect(seen.get(0)).toEqual([...Array(11).keys()])

      await source.commit([{ topic, partition: 0, offset: 5 }])
      // the log end of a quiet partition is asked of the brokers within a few seconds (idleness evidence)
      await waitFor(() => source.partitions().find((p) => p.partition === 0)?.lag === 0 || null, {
        message: 'the log end of partition 0',
      })
      expect(source.partitions().find((p) => p.partition === 0)).toMatchObject({
        committed: 5,
        position: 11,
        lag: 0,
        evidence: { caughtUp: true, logEnd: 11 },
      })
    } finally {
      await source.stop()
    }
    // A new instance of the group starts from the committed offset (5) on partition 0 and, with no commit,
    // from the earliest offset on partition 1.
    const again = new Map<number, number[]>()
    const second = new KafkaSource({ topics: [topic], groupId, brokers: kafkaBrokers(), logger: quiet })
    await second.start({
      onBatches: async (bs) => {
        for (const b of bs)
          again.set(b.partition, [...(again.get(b.partition) ?? []), ...b.records.map((r) => r.offset)])
      },
      onAssigned: async () => {},
      onRevoked: async () => {},
    })
    try {
      await waitFor(() => again.get(0)?.length === 6 && again.get(1)?.length === 11, { message: 'resumed reads' })
      expect(again.get(0)).toEqual([5, 6, 7, 8, 9, 10])
    } finally {
      await second.stop()
    }
  })
  it('KafkaSource.rejoin: every owned partition is revoked before it is assigned again, then read from the returned offsets', async () => {
    const topic = uniqueTopic('rejoin')
    await createTopics([{ topic, partitions: 3 }])
    await produce(
      topic,
      Array.from({ length: 30 }, (_, i) => ({ value: String(i), partition: i % 3 })),
    )
    const groupId = uniqueTopic('group')
    const events: string[] = []
    const owned = new Set<number>()
    const reads = new Map<number, number[]>()
    const source = new KafkaSource({ topics: [topic], groupId, brokers: kafkaBrokers(), logger: quiet })
    await source.start({
      onBatches: async (bs) => {
        for (const b of bs)
          reads.set(b.partition, [...(reads.get(b.partition) ?? []), ...b.records.map((r) => r.offset)])
      },
      onAssigned: async (tps) => {
        // a partition assigned while still owned: the rejoin kept it, its task was never dropped
        for (const tp of tps) {
          if (owned.has(tp.partition)) events.push(`assigned ${tp.partition} while owned`)
          owned.add(tp.partition)
        }
        events.push(`assigned ${tps.length}`)
        // start every partition again from offset 7 (as a restored checkpoint would)
        return tps.map((tp) => ({ ...tp, offset: 7 }))
      },
      onRevoked: async (tps) => {
        for (const tp of tps) owned.delete(tp.partition)
        events.push(`revoked ${tps.length}`)
      },
    })
    try {
      for (let round = 1; round <= 3; round++) {
        await waitFor(() => owned.size === 3, { timeoutMs: 30_000, message: `round ${round}: 3 partitions owned` })
        await waitFor(() => [0, 1, 2].every((p) => reads.get(p)?.at(-1) === 9), {
          message: `round ${round}: every partition read to its end`,
        })
        reads.clear()
        source.rejoin()
        await waitFor(() => events.filter((e) => e.startsWith('revoked')).length >= round, {
          timeoutMs: 30_000,
          message: `round ${round}: the owned partitions revoked`,
        })
      }
      await waitFor(() => owned.size === 3 && [0, 1, 2].every((p) => reads.get(p)?.at(-1) === 9), {
        timeoutMs: 30_000,
        message: 'assigned and read again after the last rejoin',
      })
      expect(events.filter((e) => e.includes('while owned'))).toEqual([])
      expect(events.filter((e) => e.startsWith('revoked')).length).toBe(3)
      // read again from the offsets onAssigned returned, not from where the reads had got to
      for (const p of [0, 1, 2]) expect(reads.get(p)).toEqual([7, 8, 9])
    } finally {
      await source.stop()
    }
  })

  it('KafkaSource hands partitions over on a rebalance: commit on revoke, the joiner resumes there (no gaps, no repeats)', async () => {
    const topic = uniqueTopic('handover')
    await createTopics([{ topic, partitions: 4 }])
    const groupId = uniqueTopic('group')
    const seen: { who: string; partition: number; offset: number }[] = []
    const revoked = { a: [] as number[], b: [] as number[] }
    const start = (who: string) => {
      const source: KafkaSource = new KafkaSource({ topics: [topic], groupId, brokers: kafkaBrokers(), logger: quiet })
      const position = new Map<number, number>()
      return source
        .start({
          onBatches: async (bs) => {
            for (const b of bs) {
              for (const r of b.records) seen.push({ who, partition: r.partition, offset: r.offset })
              position.set(b.partition, b.records[b.records.length - 1]!.offset + 1)
            }
          },
          onAssigned: async () => {},
          // What a runner does: commit what the revoked partitions produced before giving them up.
          onRevoked: async (tps) => {
            revoked[who as 'a' | 'b'].push(...tps.map((t) => t.partition))
            await source.commit(
              tps.flatMap((t) => (position.has(t.partition) ? [{ ...t, offset: position.get(t.partition)! }] : [])),
            )
          },
        })
        .then(() => source)
    }
    await produce(
      topic,
      Array.from({ length: 40 }, (_, i) => ({ value: String(i), partition: i % 4 })),
    )
    const a = await start('a')
    let b: KafkaSource | undefined
    try {
      await waitFor(() => seen.length === 40, { message: 'A reads everything' })
      b = await start('b')
      await waitFor(() => revoked.a.length > 0 && b!.partitions().length > 0, {
        message: 'partitions moved to B',
        timeoutMs: 60_000,
      })
      // Cooperative: A gave up only what B took.
      expect(revoked.a.sort()).toEqual(
        b
          .partitions()
          .map((p) => p.partition)
          .sort(),
      )
      expect(a.partitions().length + b.partitions().length).toBe(4)
      await produce(
        topic,
        Array.from({ length: 40 }, (_, i) => ({ value: String(i), partition: i % 4 })),
      )
      await waitFor(() => seen.length >= 80, { message: 'the second 40 records', timeoutMs: 60_000 })
      await new Promise((r) => setTimeout(r, 500))
      const keys = seen.map((s) => `${s.partition}:${s.offset}`)
      expect(new Set(keys).size).toBe(keys.length)
      expect(keys).toHaveLength(80)
      for (const p of b.partitions())
        expect(seen.filter((s) => s.who === 'b' && s.partition === p.partition)).toHaveLength(10)
    } finally {
      await b?.stop()
      await a.stop()
    }
  })
})
