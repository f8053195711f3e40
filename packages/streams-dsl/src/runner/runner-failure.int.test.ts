import { createTopics, freshRedis, kafkaBrokers, produce, uniqueTopic, waitFor } from '@ctr/testing'
import { describe, expect, it } from 'vitest'
import { createSinkRedis } from '../connectors/redis/connection.js'
import { countingTopology, events, pastWindowStart, resultSink } from './fixtures/counting-topology.js'
import { createRunner } from './runner.js'

describe('runner when a sink fails for good', () => {
  it('stops with exit code 1 and commits nothing past the failed write', async () => {
    const input = uniqueTopic('events')
    await createTopics([{ topic: input, partitions: 1 }])
    const redis = await freshRedis()
    // `ctr:latest` as a string: the latest/previous script gets WRONGTYPE, an error waiting will not fix.
    await redis.set('ctr:latest', 'not a hash')
    const all = events(pastWindowStart(), 3, 3, 30)
    await produce(
      input,
      all.map((e) => ({ key: e.product_id, value: e })),
    )
    const sinkRedis = createSinkRedis(redis.url)
    const runner = createRunner(countingTopology(uniqueTopic('app'), input, resultSink(sinkRedis)), {
      config: {
        kafkaBrokers: kafkaBrokers(),
        redisUrl: redis.url,
        applicationId: uniqueTopic('app'),
        port: 0,
        commitIntervalMs: 100,
        logLevel: 'silent',
      },
      checkpoints: { intervalMs: 100 },
    })
    try {
      await runner.start()
      expect(await runner.finished).toBe(1)
      expect(runner.state).toBe('failed')
      expect(runner.status().error).toContain('WRONGTYPE')
      // The first window fired (and failed) once the watermark passed it: nothing of it may be committed.
      const committed = runner.status().partitions.map((p) => p.committed)
      expect(committed.every((c) => c === null || c === 0)).toBe(true)
    } finally {
      await runner.stop()
      sinkRedis.disconnect()
    }
    await waitFor(async () => (await redis.get('ctr:latest')) === 'not a hash', { message: 'Redis untouched' })
  })
})
