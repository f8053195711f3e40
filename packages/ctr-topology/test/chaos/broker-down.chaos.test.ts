import {
  createTopics,
  freshRedis,
  runningNodeIds,
  startBroker,
  startCluster,
  stopBroker,
  uniqueTopic,
  waitFor,
} from '@ctr/testing'
import { afterEach, describe, expect, it } from 'vitest'
import { chaosStream, random } from './chaos-data.js'
import { expectExact, JobProcess, jobEnv, PacedProducer, sleep } from './chaos-job.js'

// (c) One of the three brokers stops mid-stream and starts again later, while the job reads, writes its
// changelog and commits. Works on the native cluster of `pnpm kafka:up` (RF 3, min ISR 2).
const STOPPED = 2
const jobs: JobProcess[] = []
afterEach(async () => {
  for (const j of jobs.splice(0)) await j.kill()
  // never leave the cluster short of a broker for whoever comes next (a retried attempt included)
  if (runningNodeIds().length < 3) await startCluster({ size: 3 })
})

describe('chaos: a broker stops mid-stream', () => {
  it('ends with exact results when one of 3 brokers is down for a while and comes back', async () => {
    const seed = Number(process.env.CHAOS_SEED ?? Date.now() % 100_000)
    const rnd = random(seed)
    const { bootstrap, size } = await startCluster({ size: 3 })
    expect(size).toBe(3)
    const partitions = 6
    const topics = { impressions: uniqueTopic('impressions'), clicks: uniqueTopic('clicks') }
    await createTopics(
      [
        { topic: topics.impressions, partitions },
        { topic: topics.clicks, partitions },
      ],
      { brokers: bootstrap },
    )
    const redis = await freshRedis()
    const env = jobEnv({
      applicationId: uniqueTopic('ctr-broker'),
      ...topics,
      redisUrl: redis.url,
      brokers: bootstrap,
      tasks: 'auto',
    })
    const stream = chaosStream({ events: 120_000, products: 300, partitions, spanMs: 90_000, now: Date.now(), seed })
    const job = new JobProcess('job', env).start()
    jobs.push(job)
    await waitFor(() => job.count('assigned') > 0, { timeoutMs: 60_000, message: 'the job owns its partitions' })

    const producer = new PacedProducer(topics)
    const producing = producer.produce(stream.records, 3_000).then(() => producer.produce(stream.markers, 1_000))
    await sleep(5_000 + rnd() * 5_000)
    const stoppedAt = producer.sent
    expect(await stopBroker(STOPPED)).toBe(true)
    expect(runningNodeIds()).not.toContain(STOPPED)
    await sleep(10_000)
    const restartedAt = producer.sent
    await startBroker(STOPPED)
    expect(runningNodeIds()).toContain(STOPPED)
    await producing
    expect(restartedAt).toBeGreaterThan(stoppedAt) // the stream went on while the broker was down

    await expectExact(redis, stream.truth, 120_000)
    expect(job.alive).toBe(true)
    console.log(`[chaos] seed ${seed}: broker ${STOPPED} down from event ${stoppedAt} to ${restartedAt}; exact`)
  })
})
