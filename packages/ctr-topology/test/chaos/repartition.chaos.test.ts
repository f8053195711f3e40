import { describeCluster } from '@ctr/streams-dsl/kafka'
import { kafkaBrokers, waitFor } from '@ctr/testing'
import { afterAll, describe, expect, it } from 'vitest'
import { chaosStream } from './chaos-data.js'
import { expectExact, JobProcess, PacedProducer, setUpChaosRun, sleep } from './chaos-job.js'

// (b) with repartitioning: the input is not partitioned by product (key null, random partitions, 6 impressions
// partitions and 4 clicks partitions), so TASKS=auto routes it by product through the internal topic
// `<application-id>-by-product-repartition`. Three instances share the source and repartition partitions; one is
// killed with SIGKILL mid-stream, a fourth joins later. The results are exact.
const jobs: JobProcess[] = []
afterAll(async () => {
  for (const j of jobs) await j.kill()
})

describe('chaos: repartitioned input, instances leave and join mid-stream', () => {
  it('3 instances on null-keyed 6+4 partition input, one killed, one added: exact results', async () => {
    const partitions = { impressions: 6, clicks: 4 }
    const { seed, applicationId, rnd, topics, redis, env } = await setUpChaosRun({
      appPrefix: 'ctr-repart',
      partitions,
      tasks: 'auto',
    })
    const stream = chaosStream({
      events: 120_000,
      products: 300,
      partitions,
      spanMs: 90_000,
      now: Date.now(),
      seed,
      keyed: false,
    })
    expect(stream.records.every((r) => r.key === null)).toBe(true)
    const start = (name: string) => {
      const j = new JobProcess(name, env).start()
      jobs.push(j)
      return j
    }
    const [a, b, c] = [start('a'), start('b'), start('c')]
    await waitFor(() => [a, b, c].every((j) => j.count('assigned') > 0), { timeoutMs: 90_000, message: '3 members' })

    // the job routes by product through the internal topic, one partition per partition of the widest source
    const internal = `${applicationId}-by-product-repartition`
    expect((await describeCluster(kafkaBrokers())).topics.get(internal)).toBe(6)
    for (const j of [a, b, c]) expect(j.count(`by-product: repartitioned via ${internal}`)).toBe(1)

    const producer = new PacedProducer(topics)
    const producing = producer.produce(stream.records, 3_000).then(() => producer.produce(stream.markers, 1_000))
    await sleep(8_000 + rnd() * 4_000)
    const killedAt = producer.sent
    const [ra, rc] = [a.count('restored'), c.count('restored')]
    await b.kill()
    // the survivors take b's partitions over, with their checkpointed state, once its session expires
    await waitFor(() => a.count('restored') > ra || c.count('restored') > rc, { timeoutMs: 60_000, message: 'b moved' })
    await sleep(2_000 + rnd() * 3_000)
    const joinedAt = producer.sent
    const d = start('d')
    await waitFor(() => d.count('restored') > 0, { timeoutMs: 60_000, message: 'd restored its tasks' })
    await producing
    expect(joinedAt).toBeLessThan(stream.records.length)

    await expectExact(redis, stream.truth, 60_000)
    for (const j of [a, c, d]) expect(j.alive, `${j.name} died: ${j.lines.slice(-5).join('\n')}`).toBe(true)
    console.log(`[chaos] seed ${seed}: b killed at event ${killedAt}, d joined at ${joinedAt}; exact`)
  })
})
