import { createTopics, kafkaBrokers, produce, uniqueTopic, waitFor } from '@ctr/testing'
import { describe, expect, it } from 'vitest'
import type { TopicPartition } from '../types.js'
import { KafkaSource } from './kafka-source.js'

const quiet = { info: () => {}, warn: () => {}, error: () => {}, debug: () => {} } as never
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms))

// max.poll.interval.ms 6 s: a handler held 18 s must not make the member leave the group (the source keeps
// polling while its handlers work), and a paused partition delivers nothing meanwhile.
const HOLD_MS = 18_000

describe('KafkaSource pause', () => {
  it('keeps the group membership while a paused partition holds a batch past max.poll.interval.ms', async () => {
    const topic = uniqueTopic('paused')
    await createTopics([{ topic, partitions: 2 }])
    const source = new KafkaSource({
      topics: [topic],
      groupId: uniqueTopic('paused-group'),
      brokers: kafkaBrokers(),
      logger: quiet,
      rdkafka: { 'session.timeout.ms': 6000, 'heartbeat.interval.ms': 1000, 'max.poll.interval.ms': 6000 },
    })
    const seen: string[] = []
    const assigned: TopicPartition[][] = []
    const revoked: TopicPartition[][] = []
    let release!: () => void
    const held = new Promise<void>((r) => {
      release = r
    })
    let holding = false
    try {
      await source.start({
        async onBatches(bs) {
          for (const b of bs) for (const r of b.records) seen.push(String(r.value))
          if (bs.some((b) => b.partition === 0) && !holding) {
            holding = true
            await held
          }
        },
        async onAssigned(tps) {
          assigned.push([...tps])
        },
        async onRevoked(tps) {
          revoked.push([...tps])
        },
      })
      await waitFor(() => assigned.flat().length === 2 || null, { message: 'both partitions assigned' })
      await produce(topic, [{ key: 'a', value: 'p0-1', partition: 0 }])
      await waitFor(() => holding || null, { message: 'the first batch is held' })
      const owned = source.partitions().map(({ topic: t, partition }) => ({ topic: t, partition }))
      source.pause(owned)
      await produce(topic, [
        { key: 'a', value: 'p0-2', partition: 0 },
        { key: 'b', value: 'p1-1', partition: 1 },
      ])
      await sleep(HOLD_MS)
      // Paused: nothing more was fetched (partition 1 had handed out nothing yet: paused all the same), and the
      // member never left the group.
      expect(seen).toEqual(['p0-1'])
      expect(revoked).toEqual([])
      release()
      source.resume(owned)
      await waitFor(() => seen.length === 3 || null, { message: 'input after resume', timeoutMs: 30_000 })
      expect(seen.slice(1).sort()).toEqual(['p0-2', 'p1-1'])
      await waitFor(() => source.partitions().every((p) => p.position !== null) || null, {
        message: 'positions after resume',
      })
      expect(source.partitions().map((p) => [p.partition, p.position])).toEqual(
        expect.arrayContaining([
          [0, 2],
          [1, 1],
        ]),
      )
      expect(assigned.flat()).toHaveLength(2)
      expect(revoked).toEqual([])
    } finally {
      release()
      await source.stop()
    }
  })

  // The client drops what it prefetched for a paused partition and seeks back to the last offset it handed out;
  // a partition that handed out nothing yet had no such offset, and lost its prefetched records (the bench saw
  // partitions that never delivered anything after a pause and resume). Paused before their first batch, they
  // must deliver every record once resumed.
  it('loses nothing of partitions paused before their first batch', async () => {
    const topic = uniqueTopic('paused-early')
    const PARTITIONS = 6
    const PER = 3000
    await createTopics([{ topic, partitions: PARTITIONS }])
    for (let p = 0; p < PARTITIONS; p++)
      await produce(
        topic,
        Array.from({ length: PER }, (_, i) => ({ key: null, value: `${p}:${i}`, partition: p })),
      )
    const source = new KafkaSource({
      topics: [topic],
      groupId: uniqueTopic('paused-early-group'),
      brokers: kafkaBrokers(),
      logger: quiet,
    })
    const offsets = new Map<number, number[]>()
    let release!: () => void
    const held = new Promise<void>((r) => {
      release = r
    })
    let holding = false
    try {
      await source.start({
        async onBatches(bs) {
          for (const b of bs) {
            const list = offsets.get(b.partition) ?? []
            offsets.set(b.partition, list)
            for (const r of b.records) list.push(r.offset)
          }
          if (!holding) {
            holding = true
            await held
          }
        },
        async onAssigned() {},
        async onRevoked() {},
      })
      await waitFor(() => holding || null, { message: 'the first batch is held' })
      // let the client prefetch the other partitions meanwhile
      await sleep(1500)
      const owned = source.partitions().map(({ topic: t, partition }) => ({ topic: t, partition }))
      expect(owned).toHaveLength(PARTITIONS)
      source.pause(owned)
      await sleep(1500)
      release()
      source.resume(owned)
      await waitFor(() => [...offsets.values()].reduce((n, l) => n + l.length, 0) >= PARTITIONS * PER || null, {
        timeoutMs: 30_000,
        message: 'every record delivered',
      }).catch(() => {})
      const want = Array.from({ length: PER }, (_, i) => i)
      for (let p = 0; p < PARTITIONS; p++) {
        const got = [...new Set(offsets.get(p) ?? [])].sort((a, b) => a - b)
        expect(got, `offsets of partition ${p}`).toEqual(want)
      }
    } finally {
      release()
      await source.stop()
    }
  }, 60_000)
})
