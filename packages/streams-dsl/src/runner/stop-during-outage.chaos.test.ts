// Stopping a job while its Redis is down: the stop ends within SHUTDOWN_GRACE_MS (plus the time to leave the group
// and close), commits nothing that was not written, exits 75 with one line; a restart with the same application id
// re-reads what was not durable and ends exact. And when Redis comes back within the grace period, the stop is a
// clean one. A private redis-server (append-only, fsync always, so its data survives being killed), never the
// shared one.
import { type ChildProcess, spawn } from 'node:child_process'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import {
  createTopics,
  kafkaBrokers,
  type PrivateRedis,
  privateRedis,
  produce,
  testKafka,
  uniqueTopic,
  waitFor,
} from '@ctr/testing'
import { Redis } from 'ioredis'
import { afterAll, describe, expect, it } from 'vitest'
import { createSinkRedis } from '../connectors/redis/connection.js'
import { redisLatestPrevious } from '../connectors/redis/latest-previous-sink.js'
import {
  countingTopology,
  type Event,
  events,
  expectedResults,
  pastWindowStart,
  type Result,
  storedResults,
  WINDOW_MS,
} from './fixtures/counting-topology.js'
import { expectStoredResults } from './fixtures/expect-results.js'
import { httpStatus } from './fixtures/job-http.js'
import { createRunner } from './runner.js'

const main = join(dirname(fileURLToPath(import.meta.url)), 'fixtures', 'job-main.ts')
const GRACE_MS = 3_000
/** Leaving the group and closing the clients after the grace period (measured: well under 2 s). */
const CLOSE_MARGIN_MS = 8_000

const dirs: string[] = []
const servers: PrivateRedis[] = []
const jobs: ChildProcess[] = []
afterAll(async () => {
  for (const j of jobs) j.kill('SIGKILL')
  for (const s of servers) await s.kill()
  for (const d of dirs) rmSync(d, { recursive: true, force: true })
})

/** A private Redis whose data survives SIGKILL (AOF, fsync always), as a production Redis would keep it. */
async function durableRedis(): Promise<PrivateRedis> {
  const dir = mkdtempSync(join(tmpdir(), 'stop-outage-redis-'))
  dirs.push(dir)
  const r = await privateRedis(['--appendonly', 'yes', '--appendfsync', 'always', '--dir', dir])
  servers.push(r)
  return r
}

type Exit = { code: number | null; ms: number; stderr: string }

function startJob(env: Record<string, string>) {
  const child = spawn(process.execPath, ['--import', 'tsx', main], {
    env: { ...process.env, LOG_LEVEL: 'info', JOB_PORT: '0', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  })
  jobs.push(child)
  let stdout = ''
  let stderr = ''
  child.stdout!.on('data', (d) => {
    stdout += d
  })
  child.stderr!.on('data', (d) => {
    stderr += d
  })
  let signalledAt = 0
  const exit = new Promise<Exit>((resolve) =>
    child.on('exit', (code) => resolve({ code, ms: Date.now() - signalledAt, stderr })),
  )
  return {
    child,
    exit,
    stdout: () => stdout,
    /** The job's JOB_PORT, from its "running as" log line. */
    port: () => Number(/running as .* on port (\d+)/.exec(stdout)?.[1]),
    signal(s: NodeJS.Signals) {
      signalledAt = Date.now()
      child.kill(s)
    },
  }
}

const laterWindows = (first: readonly Event[], producedAt: number) => {
  const lastTs = Math.max(...first.map((e) => e.timestamp!))
  return Math.floor((lastTs + (Date.now() - producedAt) + 2 * WINDOW_MS) / WINDOW_MS) * WINDOW_MS
}

describe('stopping while Redis is down', () => {
  it('SIGTERM ends within the grace period, exit 75 with one line; a restart re-reads what was not written', async () => {
    const redis = await durableRedis()
    const reader = new Redis(redis.url, { retryStrategy: () => 200 })
    reader.on('error', () => {})
    const input = uniqueTopic('events')
    await createTopics([{ topic: input, partitions: 2 }])
    const env = {
      KAFKA_BROKERS: kafkaBrokers(),
      REDIS_URL: redis.url,
      APPLICATION_ID: uniqueTopic('app'),
      INPUT: input,
      SHUTDOWN_GRACE_MS: String(GRACE_MS),
    }
    try {
      const first = events(pastWindowStart(), 3, 4, 40)
      const producedAt = Date.now()
      await produce(
        input,
        first.map((e) => ({ key: e.product_id, value: e })),
      )
      const a = startJob(env)
      await waitFor(() => a.stdout().includes('running as'), { message: 'job started', timeoutMs: 60_000 })
      await waitFor(async () => (await storedResults(reader)).latest['p-0'], { message: 'first results' })

      // Redis goes down; the windows of the next events fire and cannot be written.
      await redis.kill()
      const second = events(laterWindows(first, producedAt), 3, 4, 40)
      await produce(
        input,
        second.map((e) => ({ key: e.product_id, value: e })),
      )
      await waitFor(async () => (await httpStatus(a.port())).sinks[0]?.state === 'unavailable' || null, {
        message: 'the job reports Redis unavailable',
        timeoutMs: 30_000,
      })

      a.signal('SIGTERM')
      const ended = await Promise.race([a.exit, new Promise<null>((r) => setTimeout(() => r(null), GRACE_MS + 30_000))])
      expect(ended, 'the job ended after SIGTERM').not.toBeNull()
      const { code, ms, stderr } = ended!
      expect(ms).toBeGreaterThanOrEqual(GRACE_MS)
      expect(ms).toBeLessThan(GRACE_MS + CLOSE_MARGIN_MS)
      expect(code).toBe(75)
      const lines = stderr.trim().split('\n')
      expect(lines).toHaveLength(1)
      expect(lines[0]).toMatch(
        /^output not flushed: stop gave up after the 3 s grace period \(SHUTDOWN_GRACE_MS\) with redis-latest-previous\(ctr:latest,ctr:previous\) unavailable: .+; offsets are committed only up to the last durable output, so the next start re-reads the rest$/,
      )
      expect(stderr).not.toMatch(/\n\s+at /)
      expect(a.stdout()).not.toContain('stopped cleanly')
      // It left the consumer group (rather than being dropped after the session timeout).
      const admin = testKafka().admin()
      await admin.connect()
      try {
        const { groups } = await admin.describeGroups([env.APPLICATION_ID])
        expect(groups[0]?.members).toEqual([])
      } finally {
        await admin.disconnect()
      }

      // Redis back (with what it had), a new instance with the same application id: exact results.
      await redis.start()
      const b = startJob(env)
      try {
        await expectStoredResults(reader, expectedResults([...first, ...second]), 'exact results after the restart')
      } finally {
        b.signal('SIGINT')
        expect((await b.exit).code).toBe(0)
      }
    } finally {
      reader.disconnect()
    }
  })

  it('stop() waits for Redis when it comes back within the grace period: a clean stop (0), nothing lost', async () => {
    const redis = await durableRedis()
    const reader = new Redis(redis.url, { retryStrategy: () => 200 })
    reader.on('error', () => {})
    const input = uniqueTopic('events')
    await createTopics([{ topic: input, partitions: 2 }])
    const sinkRedis = createSinkRedis(redis.url)
    // A sink is closed with its runner: one per runner.
    const sink = () =>
      redisLatestPrevious<Result>({
        latest: 'ctr:latest',
        previous: 'ctr:previous',
        field: (r) => r.product_id,
        windowStart: 'window_start',
        redis: sinkRedis,
        logger: { warn: () => {}, info: () => {} },
      })
    const config = {
      kafkaBrokers: kafkaBrokers(),
      redisUrl: redis.url,
      applicationId: uniqueTopic('app'),
      port: 0,
      logLevel: 'warn',
      shutdownGraceMs: 20_000,
    } as const
    const runner = createRunner(countingTopology('stop-outage', input, sink()), { config })
    const again = createRunner(countingTopology('stop-outage', input, sink()), { config })
    try {
      await runner.start()
      const first = events(pastWindowStart(), 3, 4, 40)
      const producedAt = Date.now()
      await produce(
        input,
        first.map((e) => ({ key: e.product_id, value: e })),
      )
      await waitFor(async () => (await storedResults(reader)).latest['p-0'], { message: 'first results' })
      await redis.kill()
      const second = events(laterWindows(first, producedAt), 3, 4, 40)
      await produce(
        input,
        second.map((e) => ({ key: e.product_id, value: e })),
      )
      await waitFor(() => runner.status().sinks[0]?.state === 'unavailable' || null, {
        message: 'the sink reports Redis unavailable',
        timeoutMs: 30_000,
      })
      const stopped = runner.stop()
      await new Promise((r) => setTimeout(r, 2_000))
      expect(runner.state).toBe('stopping')
      await redis.start()
      await stopped
      expect(await runner.finished).toBe(0)
      expect(runner.state).toBe('stopped')
      // The last windows were still open at the stop (a stop never fires a window early): the next instance
      // fires them from the committed offsets and checkpoint.
      await again.start()
      await expectStoredResults(reader, expectedResults([...first, ...second]), 'exact results after the restart')
    } finally {
      await runner.stop()
      await again.stop()
      reader.disconnect()
      sinkRedis.disconnect()
    }
  })
})
