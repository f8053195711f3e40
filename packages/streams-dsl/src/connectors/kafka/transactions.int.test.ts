import rdkafka from '@confluentinc/kafka-javascript'
import { createTopics, kafkaBrokers, uniqueTopic, waitFor } from '@ctr/testing'
import { afterEach, describe, expect, it } from 'vitest'
import { KafkaChangelogStore } from '../../checkpoint/changelog-store.js'
import { sampleCheckpoint } from '../../checkpoint/checkpoint-store.case.js'
import { KafkaTransactions } from './transactions.js'

const open: { close(): Promise<void> }[] = []
afterEach(async () => {
  for (const c of open.splice(0)) await c.close().catch(() => {})
})

/** A consumer in `groupId` that owns every partition of `topic` (it has a generation: group metadata to send). */
async function member(topic: string, groupId: string): Promise<rdkafka.KafkaConsumer> {
  const consumer = new rdkafka.KafkaConsumer(
    { 'bootstrap.servers': kafkaBrokers(), 'group.id': groupId, 'enable.auto.commit': false, log_level: 0 },
    { 'auto.offset.reset': 'earliest' },
  )
  await new Promise<void>((resolve, reject) => consumer.connect({}, (err) => (err ? reject(err) : resolve())))
  open.push({ close: () => new Promise<void>((resolve) => consumer.disconnect(() => resolve())) })
  consumer.subscribe([topic])
  await waitFor(
    async () => {
      await new Promise((r) => consumer.consume(1, () => r(undefined)))
      return consumer.assignments().length > 0 || null
    },
    { timeoutMs: 30_000, message: 'the consumer joins its group' },
  )
  return consumer
}

/** Every value in `topic` (partition 0) up to its end, as a consumer of the given isolation level reads them. */
async function values(topic: string, isolation: 'read_committed' | 'read_uncommitted'): Promise<string[]> {
  const consumer = new rdkafka.KafkaConsumer(
    {
      'bootstrap.servers': kafkaBrokers(),
      'group.id': uniqueTopic('reader'),
      'isolation.level': isolation,
      'enable.partition.eof': true,
      log_level: 0,
    },
    { 'auto.offset.reset': 'earliest' },
  )
  await new Promise<void>((resolve, reject) => consumer.connect({}, (err) => (err ? reject(err) : resolve())))
  try {
    consumer.assign([{ topic, partition: 0, offset: 0 }])
    const out: string[] = []
    let eof = false
    consumer.on('partition.eof', () => {
      eof = true
    })
    const deadline = Date.now() + 30_000
    while (!eof && Date.now() < deadline) {
      const ms = await new Promise<rdkafka.Message[]>((resolve, reject) =>
        consumer.consume(100, (err, m) => (err ? reject(err) : resolve(m))),
      )
      for (const m of ms) out.push(String(m.value))
    }
    return out
  } finally {
    await new Promise<void>((resolve) => consumer.disconnect(() => resolve()))
  }
}

async function committed(consumer: rdkafka.KafkaConsumer, topic: string): Promise<number> {
  const [tp] = await new Promise<rdkafka.TopicPartitionOffset[]>((resolve, reject) =>
    consumer.committed([{ topic, partition: 0 }], 10_000, (err, tps) => (err ? reject(err) : resolve(tps))),
  )
  return tp?.offset ?? -1
}

describe('KafkaTransactions', () => {
  it('commits records, a checkpoint and input offsets at once; an aborted transaction leaves none of them', async () => {
    const input = uniqueTopic('tx-in')
    const output = uniqueTopic('tx-out')
    const applicationId = uniqueTopic('tx-app')
    await createTopics([
      { topic: input, partitions: 1 },
      { topic: output, partitions: 1 },
    ])
    const consumer = await member(input, applicationId)
    const tx = new KafkaTransactions({ brokers: kafkaBrokers(), transactionalId: `${applicationId}-0` })
    await tx.start()
    open.push(tx)
    const store = await KafkaChangelogStore.open({
      applicationId,
      brokers: kafkaBrokers(),
      producer: tx.sender(),
    })

    await tx.send(output, [
      { key: 'a', value: 'one' },
      { key: 'b', value: 'two' },
    ])
    await store.write([sampleCheckpoint('0', 5)])
    expect(tx.open).toBe(true)
    await tx.commit([{ topic: input, partition: 0, offset: 5 }], consumer)
    expect(tx.open).toBe(false)
    expect(await committed(consumer, input)).toBe(5)
    expect(await values(output, 'read_committed')).toEqual(['one', 'two'])
    expect((await store.read(['0'])).get('0')?.task.partitions[0]?.nextOffset).toBe(5)

    // a transaction aborted: its records, its checkpoint and its offsets are not there for a read_committed reader
    await tx.send(output, [{ key: 'c', value: 'aborted' }])
    await store.write([sampleCheckpoint('0', 9)])
    await tx.abort()
    await tx.send(output, [{ key: 'd', value: 'three' }])
    await tx.commit([{ topic: input, partition: 0, offset: 7 }], consumer)
    expect(await committed(consumer, input)).toBe(7)
    expect(await values(output, 'read_committed')).toEqual(['one', 'two', 'three'])
    // ... though they were written: an uncommitted reader sees them
    expect(await values(output, 'read_uncommitted')).toEqual(['one', 'two', 'aborted', 'three'])
    expect((await store.read(['0'])).get('0')?.task.partitions[0]?.nextOffset).toBe(5)
    expect([tx.committed, tx.aborted]).toEqual([2, 1])
  })

  it('a restart with the same transactional id aborts what its predecessor left open and fences it', async () => {
    const output = uniqueTopic('tx-out')
    const id = uniqueTopic('tx-id')
    await createTopics([{ topic: output, partitions: 1 }])
    const first = new KafkaTransactions({ brokers: kafkaBrokers(), transactionalId: id })
    await first.start()
    open.push(first)
    await first.send(output, [{ key: 'a', value: 'left open' }])

    const second = new KafkaTransactions({ brokers: kafkaBrokers(), transactionalId: id })
    await second.start()
    open.push(second)
    await second.send(output, [{ key: 'b', value: 'committed' }])
    await second.commit([])
    expect(await values(output, 'read_committed')).toEqual(['committed'])
    // the first producer is fenced for good: it can commit nothing more
    await expect(first.commit([])).rejects.toThrow(/fenced|failed for good|aborted/i)
    expect(await values(output, 'read_committed')).toEqual(['committed'])
    // and it did not fence the second back (no renewal of a producer another live one fenced)
    await second.send(output, [{ key: 'c', value: 'still committing' }])
    await second.commit([])
    expect(await values(output, 'read_committed')).toEqual(['committed', 'still committing'])
  })

  it('a transaction the coordinator aborted (it outlived transaction.timeout.ms: a frozen process) is aborted here too; the next one commits', async () => {
    const output = uniqueTopic('tx-out')
    await createTopics([{ topic: output, partitions: 1 }])
    const tx = new KafkaTransactions({
      brokers: kafkaBrokers(),
      transactionalId: uniqueTopic('tx-id'),
      transactionTimeoutMs: 2_000,
      renewWhenFenced: true,
    })
    await tx.start()
    open.push(tx)
    await tx.send(output, [{ key: 'a', value: 'outlived its timeout' }])
    // the coordinator looks for timed-out transactions every 10 s (transaction.abort.timed.out.transaction.cleanup.interval.ms)
    await new Promise((r) => setTimeout(r, 14_000))
    const err = await tx.commit([]).then(
      () => undefined,
      (e: unknown) => e as Error,
    )
    expect(err?.name, String(err)).toBe('TransactionAbortedError')
    await tx.send(output, [{ key: 'b', value: 'next' }])
    await tx.commit([])
    expect(await values(output, 'read_committed')).toEqual(['next'])
    expect(tx.renewed).toBe(1)
  }, 60_000)
})
