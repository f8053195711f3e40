import { type ChildProcess, spawn } from 'node:child_process'
import { mkdtempSync, rmSync } from 'node:fs'
import { createServer } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { createTopics, kafkaBrokers, uniqueTopic, waitFor } from '@ctr/testing'
import { Redis } from 'ioredis'
import { afterAll, describe, expect, it } from 'vitest'
import { chaosStream, random } from './chaos-data.js'
import { expectExact, JobProcess, jobEnv, PacedProducer, sleep } from './chaos-job.js'

// (d) Redis is unreachable for 10 s mid-stream: a private redis-server (append-only file, fsync always, so a
// restart keeps what was acknowledged) is killed with SIGKILL and started again on the same port 10 s later.
const freePort = () =>
  new Promise<number>((resolve) => {
    const s = createServer().listen(0, '127.0.0.1', () => {
      const { port } = s.address() as { port: number }
      s.close(() => resolve(port))
    })
  })

const dir = mkdtempSync(join(tmpdir(), 'chaos-redis-'))
const children: ChildProcess[] = []
const jobs: JobProcess[] = []
afterAll(async () => {
  for (const j of jobs) await j.kill()
  for (const c of children) c.kill('SIGKILL')
  rmSync(dir, { recursive: true, force: true })
})

async function startRedis(port: number): Promise<ChildProcess> {
  const args = ['--port', String(port), '--bind', '127.0.0.1', '--dir', dir, '--save', '']
  const child = spawn('redis-server', [...args, '--appendonly', 'yes', '--appendfsync', 'always'], { stdio: 'ignore' })
  children.push(child)
  const probe = new Redis({ port, lazyConnect: true, retryStrategy: () => null, maxRetriesPerRequest: 0 })
  probe.on('error', () => {})
  await waitFor(async () => (await probe.connect().then(() => probe.ping())) === 'PONG', {
    message: `redis-server on port ${port}`,
    timeoutMs: 10_000,
  })
  probe.disconnect()
  return child
}

describe('chaos: Redis unreachable mid-stream', () => {
  it('holds the stream while Redis is down for 10 s and ends with exact results', async () => {
    const seed = Number(process.env.CHAOS_SEED ?? Date.now() % 100_000)
    const rnd = random(seed)
    const port = await freePort()
    let redisServer = await startRedis(port)
    const url = `redis://127.0.0.1:${port}`
    const partitions = 6
    const topics = { impressions: uniqueTopic('impressions'), clicks: uniqueTopic('clicks') }
    await createTopics([
      { topic: topics.impressions, partitions },
      { topic: topics.clicks, partitions },
    ])
    const env = jobEnv({
      applicationId: uniqueTopic('ctr-redis'),
      ...topics,
      redisUrl: url,
      brokers: kafkaBrokers(),
      tasks: 'auto',
    })
    const stream = chaosStream({ events: 120_000, products: 300, partitions, spanMs: 90_000, now: Date.now(), seed })
    const job = new JobProcess('job', env).start()
    jobs.push(job)
    await waitFor(() => job.count('assigned') > 0, { timeoutMs: 60_000, message: 'the job owns its partitions' })

    const producer = new PacedProducer(topics)
    const producing = producer.produce(stream.records, 3_000).then(() => producer.produce(stream.markers, 1_000))
    const reader = new Redis(url, { retryStrategy: () => 200 })
    reader.on('error', () => {})
    try {
      await sleep(5_000 + rnd() * 5_000)
      await waitFor(async () => (await reader.hlen('ctr:latest')) > 0, { message: 'results before the outage' })
      const downAt = producer.sent
      const warnings = job.count('unavailable')
      redisServer.kill('SIGKILL')
      await sleep(10_000)
      expect(job.alive, job.lines.slice(-5).join('\n')).toBe(true)
      redisServer = await startRedis(port)
      await producing
      await expectExact(reader, stream.truth, 120_000)
      expect(job.alive).toBe(true)
      expect(job.count('unavailable')).toBeGreaterThan(warnings) // the sink saw the outage and waited it out
      console.log(`[chaos] seed ${seed}: Redis down for 10 s from event ${downAt}; exact`)
    } finally {
      reader.disconnect()
    }
  })
})
