import { waitFor } from '@ctr/testing'
import { afterAll, describe, expect, it } from 'vitest'
import { chaosStream } from './chaos-data.js'
import { expectExact, JobProcess, PacedProducer, setUpChaosRun, sleep } from './chaos-job.js'

// (b) Three instances share the partitions (one task per partition); one is killed with SIGKILL mid-stream, a
// fourth joins later. Tasks move with their state (checkpoint on revoke, restore on assign); the results are exact.
const jobs: JobProcess[] = []
afterAll(async () => {
  for (const j of jobs) await j.kill()
})

describe('chaos: instances leave and join mid-stream', () => {
  it('3 instances, one killed, one added: exact results, tasks restored on the survivors and the newcomer', async () => {
    const partitions = 6
    const { seed, rnd, topics, redis, env } = await setUpChaosRun({
      appPrefix: 'ctr-scale',
      partitions,
      tasks: 'partition',
    })
    const stream = chaosStream({ events: 120_000, products: 300, partitions, spanMs: 90_000, now: Date.now(), seed })
    const start = (name: string) => {
      const j = new JobProcess(name, env).start()
      jobs.push(j)
      return j
    }
    const [a, b, c] = [start('a'), start('b'), start('c')]
    await waitFor(() => [a, b, c].every((j) => j.count('assigned') > 0), { timeoutMs: 90_000, message: '3 members' })

    const producer = new PacedProducer(topics)
    const producing = producer.produce(stream.records, 3_000).then(() => producer.produce(stream.markers, 1_000))
    await sleep(8_000 + rnd() * 4_000)
    const killedAt = producer.sent
    const [ra, rc] = [a.count('restored'), c.count('restored')]
    await b.kill()
    // the survivors take b's tasks over, with their state, once its session expires
    await waitFor(() => a.count('restored') > ra && c.count('restored') > rc, { timeoutMs: 60_000, message: 'b moved' })
    await sleep(2_000 + rnd() * 3_000)
    const joinedAt = producer.sent
    const d = start('d')
    await waitFor(() => d.count('restored') > 0, { timeoutMs: 60_000, message: 'd restored its tasks' })
    await producing
    expect(joinedAt).toBeLessThan(stream.records.length)

    await expectExact(redis, stream.truth, 120_000)
    expect([a, c, d].every((j) => j.alive)).toBe(true)
    console.log(`[chaos] seed ${seed}: b killed at event ${killedAt}, d joined at ${joinedAt}; exact`)
  })
})
