import { describe, expect, inject, it } from 'vitest'
import { withAdmin } from '../../../scripts/lib/kafka-admin.js'
import { consume, createTopics, kafkaBrokers, kafkaMode, produce, uniqueTopic } from './index.js'

describe('Kafka round trip (acks=all, @confluentinc/kafka-javascript)', () => {
  it('gets the brokers from the global setup, in inject() and in the worker environment', () => {
    expect(inject('kafkaBrokers')).toBe(kafkaBrokers())
    expect(process.env.KAFKA_BROKERS).toBe(kafkaBrokers())
    expect(['env', 'docker', 'native']).toContain(kafkaMode())
  })

  it('delivers every message once, in order within each partition, replicated to every broker', async () => {
    const brokers = kafkaBrokers().split(',').length
    const replication = Math.min(3, brokers)
    const topic = uniqueTopic('roundtrip')
    await createTopics([
      {
        topic,
        partitions: 6,
        replicationFactor: replication,
        config: { 'min.insync.replicas': String(Math.min(2, replication)) },
      },
    ])

    const layout = await withAdmin(kafkaBrokers(), (admin) => admin.fetchTopicMetadata({ topics: [topic] }))
    const partitions = layout[0]?.partitions ?? []
    expect(partitions).toHaveLength(6)
    for (const p of partitions) expect(p.replicas).toHaveLength(replication)
    if (kafkaMode() === 'native') expect(replication).toBe(3)

    const keys = Array.from({ length: 40 }, (_, i) => `p-${i}`)
    const sent = Array.from({ length: 2000 }, (_, i) => ({
      key: keys[i % keys.length]!,
      value: { seq: i, key: keys[i % keys.length] },
    }))
    const reports = await produce(topic, sent)
    expect(reports.length).toBeGreaterThan(0)
    expect(reports.filter((r) => r.errorCode !== 0)).toEqual([])

    const got = await consume(topic, { count: sent.length, timeoutMs: 60_000 })
    const seqs = got.map((m) => JSON.parse(m.value!).seq as number)
    // Each message exactly once.
    expect(new Set(seqs).size).toBe(sent.length)
    expect(seqs.length).toBe(sent.length)
    // In order per partition (offsets increase) and per key (a key stays on one partition, in send order).
    const byPartition = new Map<number, number[]>()
    const byKey = new Map<string, number[]>()
    for (const m of got) {
      byPartition.set(m.partition, [...(byPartition.get(m.partition) ?? []), m.offset])
      byKey.set(m.key!, [...(byKey.get(m.key!) ?? []), JSON.parse(m.value!).seq])
    }
    for (const offsets of byPartition.values()) expect(offsets).toEqual([...offsets].sort((a, b) => a - b))
    for (const [key, list] of byKey) {
      expect(list).toEqual([...list].sort((a, b) => a - b))
      expect(new Set(got.filter((m) => m.key === key).map((m) => m.partition)).size).toBe(1)
    }
  })
})
