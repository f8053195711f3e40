import {
  consume,
  createTopics,
  produce,
  runningNodeIds,
  startBroker,
  startCluster,
  stopBroker,
  uniqueTopic,
  waitForIsr,
} from '@ctr/testing'
import { afterEach, describe, expect, it } from 'vitest'
import { withAdmin } from './lib/kafka-admin.js'

// Works on the native 3-broker cluster of `pnpm kafka:up` whatever Kafka the other tests use.
describe('one broker of three down (RF 3, min ISR 2)', () => {
  const STOPPED = 2

  afterEach(async () => {
    // Never leave the cluster short of a broker for whoever comes next (a retried attempt included).
    if (runningNodeIds().length < 3) await startCluster({ size: 3 })
  })

  it('still takes acks=all writes and serves reads, and the broker rejoins the ISR when it is back', async () => {
    const { bootstrap, size } = await startCluster({ size: 3 })
    expect(size).toBe(3)
    const topic = uniqueTopic('failover')
    await createTopics([{ topic, partitions: 6, replicationFactor: 3, config: { 'min.insync.replicas': '2' } }], {
      brokers: bootstrap,
    })
    const before = Array.from({ length: 300 }, (_, i) => ({ key: `k-${i % 30}`, value: `before-${i}` }))
    await produce(topic, before)

    expect(await stopBroker(STOPPED)).toBe(true)
    expect(runningNodeIds()).toEqual([1, 3])
    // The broker's controlled shutdown takes it out of every ISR.
    const isr = await withAdmin(bootstrap, async (admin) => {
      const [md] = await admin.fetchTopicMetadata({ topics: [topic] })
      return md?.partitions.map((p) => p.isr) ?? []
    })
    for (const members of isr) expect(members).not.toContain(STOPPED)

    const during = Array.from({ length: 300 }, (_, i) => ({ key: `k-${i % 30}`, value: `during-${i}` }))
    const reports = await produce(topic, during)
    expect(reports.filter((r) => r.errorCode !== 0)).toEqual([])
    const got = await consume(topic, { count: 600, timeoutMs: 60_000 })
    expect(new Set(got.map((m) => m.value))).toEqual(new Set([...before, ...during].map((m) => m.value)))

    await startBroker(STOPPED)
    expect(runningNodeIds()).toEqual([1, 2, 3])
    const sizes = await waitForIsr(topic, 3, { brokers: bootstrap, timeoutMs: 120_000 })
    expect(sizes).toEqual([3, 3, 3, 3, 3, 3])
    const replicas = await withAdmin(bootstrap, async (admin) => {
      const [md] = await admin.fetchTopicMetadata({ topics: [topic] })
      return md?.partitions.flatMap((p) => p.isr) ?? []
    })
    expect(replicas.filter((id) => id === STOPPED)).toHaveLength(6)
  })

  it('survives a broker crash (SIGKILL): writes resume once it is fenced, and it recovers its log on restart', async () => {
    const CRASHED = 3
    const { bootstrap } = await startCluster({ size: 3 })
    const topic = uniqueTopic('crash')
    await createTopics([{ topic, partitions: 3, replicationFactor: 3, config: { 'min.insync.replicas': '2' } }], {
      brokers: bootstrap,
    })
    await produce(
      topic,
      Array.from({ length: 100 }, (_, i) => ({ key: `k-${i % 10}`, value: `before-${i}` })),
    )

    expect(await stopBroker(CRASHED, { signal: 'SIGKILL' })).toBe(true)
    expect(runningNodeIds()).toEqual([1, 2])
    const reports = await produce(
      topic,
      Array.from({ length: 100 }, (_, i) => ({ key: `k-${i % 10}`, value: `after-${i}` })),
    )
    expect(reports.filter((r) => r.errorCode !== 0)).toEqual([])

    await startBroker(CRASHED)
    expect(await waitForIsr(topic, 3, { brokers: bootstrap })).toEqual([3, 3, 3])
    const got = await consume(topic, { count: 200, timeoutMs: 60_000 })
    expect(got.filter((m) => m.value?.startsWith('before-'))).toHaveLength(100)
    expect(got.filter((m) => m.value?.startsWith('after-'))).toHaveLength(100)
  })
})
