import { createTopics, kafkaBrokers, uniqueTopic } from '@ctr/testing'
import { describe, expect, it } from 'vitest'
import { KafkaProducer } from '../connectors/kafka/kafka-producer.js'
import { changelogTopic, KafkaChangelogStore } from './changelog-store.js'
import { checkpointStoreContract, sampleCheckpoint } from './checkpoint-store.case.js'

checkpointStoreContract(
  'kafka changelog',
  () => KafkaChangelogStore.open({ applicationId: uniqueTopic('cl'), partitions: 3, brokers: kafkaBrokers() }),
  async (store, taskId, value, key) => {
    const p = new KafkaProducer({ brokers: kafkaBrokers() })
    await p.send(store.topic, [{ key: key ?? taskId, value, partition: store.partitionOf(taskId) }])
    await p.close()
  },
)

describe('KafkaChangelogStore', () => {
  it('creates a compacted topic named <application-id>-<store>-changelog and maps tasks to partitions', async () => {
    const applicationId = uniqueTopic('cl')
    const store = await KafkaChangelogStore.open({ applicationId, partitions: 4, brokers: kafkaBrokers() })
    expect(store.topic).toBe(changelogTopic(applicationId))
    expect(store.topic.endsWith('-windows-changelog')).toBe(true)
    expect([store.partitionOf('0'), store.partitionOf('5'), store.partitionOf('3')]).toEqual([0, 1, 3])
    expect(store.partitionOf('impressions-x')).toBe(store.partitionOf('impressions-x'))
    await store.close()
  })

  it('finds the newest checkpoint of a task behind many newer records of other tasks on its partition', async () => {
    const applicationId = uniqueTopic('cl')
    const store = await KafkaChangelogStore.open({ applicationId, partitions: 1, brokers: kafkaBrokers() })
    await store.write([sampleCheckpoint('7', 1), sampleCheckpoint('7', 2)])
    for (let i = 0; i < 30; i++) await store.write([sampleCheckpoint('1', i), sampleCheckpoint('2', i)])
    const got = await store.read(['7', '2', '9'])
    expect(got.get('7')?.task.partitions[0]?.nextOffset).toBe(2)
    expect(got.get('2')?.task.partitions[0]?.nextOffset).toBe(29)
    expect(got.has('9')).toBe(false)
    await store.close()
  })

  it('keeps the partition count of an existing topic', async () => {
    const applicationId = uniqueTopic('cl')
    await createTopics([
      { topic: changelogTopic(applicationId), partitions: 2, config: { 'cleanup.policy': 'compact' } },
    ])
    const store = await KafkaChangelogStore.open({ applicationId, partitions: 6, brokers: kafkaBrokers() })
    expect(store.partitions).toBe(2)
    await store.write([sampleCheckpoint('5', 3)])
    expect((await store.read(['5'])).get('5')?.taskId).toBe('5')
    await store.close()
  })
})
