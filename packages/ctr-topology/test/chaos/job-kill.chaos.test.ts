import { waitFor } from '@ctr/testing'
import { afterAll, describe, expect, it } from 'vitest'
import { chaosStream } from './chaos-data.js'
import { expectExact, JobProcess, PacedProducer, setUpChaosRun, sleep } from './chaos-job.js'

// (a) The job is killed with SIGKILL at random moments, 5 times, while 200k events stream in, and started again
// each time; it must end with ctr:latest / ctr:previous exactly as the ground truth says. It runs with TASKS=auto
// (the job's default): its input is routed by product through the internal repartition topic.
const jobs: JobProcess[] = []
afterAll(async () => {
  for (const j of jobs) await j.kill()
})

describe('chaos: kill -9 the job during the stream', () => {
  it('ends with exact results after 5 kills and restarts during 200k events', async () => {
    const partitions = 6
    const { seed, rnd, topics, redis, env } = await setUpChaosRun({ appPrefix: 'ctr-kill', partitions, tasks: 'auto' })
    const stream = chaosStream({ events: 200_000, products: 300, partitions, spanMs: 120_000, now: Date.now(), seed })
    const producer = new PacedProducer(topics)
    const start = () => {
      const j = new JobProcess(`job-${jobs.length}`, env).start()
      jobs.push(j)
      return j
    }
    let job = start()
    const producing = producer.produce(stream.records, 2_500).then(() => producer.produce(stream.markers, 1_000))

    for (let kill = 0; kill < 5; kill++) {
      // a random moment once the job owns its partitions and restored them (killing it while it starts up tests
      // little), at least one checkpoint interval later; the first job once it has written a checkpoint (killed
      // before that, its successor has nothing to restore and rightly starts fresh)
      const current = job
      const awaited = kill === 0 ? 'first checkpoint written' : 'restored'
      const ready = () => current.count(awaited) > 0 || !current.alive
      await waitFor(ready, { timeoutMs: 60_000, message: `seed ${seed}: ${current.name} logged "${awaited}"` }).catch(
        (e: Error) => {
          throw new Error(`${e.message}; its last log lines:\n${current.lines.slice(-15).join('\n')}`)
        },
      )
      await sleep(1_200 + rnd() * 4_000)
      expect(job.alive, `job died by itself: ${job.lines.slice(-5).join('\n')}`).toBe(true)
      await job.kill()
      await sleep(rnd() * 1_500)
      job = start()
    }
    const killedAt = producer.sent
    expect(killedAt).toBeLessThan(stream.records.length)
    await producing
    await expectExact(redis, stream.truth, 120_000)

    // TASKS=auto routed the input through the internal topic
    expect(jobs.every((j) => j.count('by-product: repartitioned via') === 1)).toBe(true)
    // every restarted job restored the task from the changelog
    expect(jobs.slice(1).map((j) => j.count('restored') > 0)).toEqual([true, true, true, true, true])
    expect(job.alive).toBe(true)
    console.log(`[chaos] seed ${seed}: 5 kills before event ${killedAt} of ${stream.records.length}; exact`)
  })
})
