import { type ChildProcess, spawn } from 'node:child_process'
import { createServer } from 'node:net'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { createTopics, freshRedis, kafkaBrokers, produce, uniqueTopic, waitFor } from '@ctr/testing'
import { describe, expect, it } from 'vitest'
import { events, expectedResults, pastWindowStart, storedResults } from './fixtures/counting-topology.js'
import { expectStoredResults } from './fixtures/expect-results.js'

const here = dirname(fileURLToPath(import.meta.url))
const main = join(here, 'fixtures', 'job-main.ts')

type Exit = { code: number | null; stdout: string; stderr: string }

function startJob(env: Record<string, string>): { child: ChildProcess; exit: Promise<Exit>; output: () => string } {
  const child = spawn(process.execPath, ['--import', 'tsx', main], {
    env: { ...process.env, LOG_LEVEL: 'info', JOB_PORT: '0', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  })
  let stdout = ''
  let stderr = ''
  child.stdout!.on('data', (d) => {
    stdout += d
  })
  child.stderr!.on('data', (d) => {
    stderr += d
  })
  const exit = new Promise<Exit>((resolve) => child.on('exit', (code) => resolve({ code, stdout, stderr })))
  return { child, exit, output: () => stdout }
}

describe('run() as a process', () => {
  it.each([
    [{ JOB_PORT: 'abc' }, 'JOB_PORT="abc" must be an integer from 0 to 65535'],
    [{ KAFKA_BROKERS: '127.0.0.1:1' }, 'Kafka not reachable at 127.0.0.1:1'],
    [{ REDIS_URL: 'redis://127.0.0.1:1' }, 'Redis not reachable at redis://127.0.0.1:1'],
  ])('with %o exits 1 with one line saying what was tried and how to fix it', async (env, expected) => {
    const { exit } = startJob({ KAFKA_BROKERS: kafkaBrokers(), INPUT: 'unused', ...env })
    const { code, stderr } = await exit
    expect(code).toBe(1)
    expect(stderr.trim().split('\n')).toHaveLength(1)
    expect(stderr).toContain(expected)
    expect(stderr).toMatch(/pnpm kafka:up|redis-server|JOB_PORT/)
    expect(stderr).not.toMatch(/\n\s+at /)
  })

  it('exits 1 with one line when JOB_PORT is taken', async () => {
    const server = createServer().listen(0, '0.0.0.0')
    await new Promise((r) => server.once('listening', r))
    const port = (server.address() as { port: number }).port
    try {
      const input = uniqueTopic('events')
      await createTopics([{ topic: input, partitions: 1 }])
      const { code, stderr } = await startJob({
        KAFKA_BROKERS: kafkaBrokers(),
        INPUT: input,
        APPLICATION_ID: uniqueTopic('app'),
        JOB_PORT: String(port),
      }).exit
      expect(code).toBe(1)
      expect(stderr.trim()).toBe(`JOB_PORT ${port} is not available (EADDRINUSE); set JOB_PORT to a free port or 0`)
    } finally {
      server.close()
    }
  })

  it('refuses CHECKPOINTS=off for a topology with windows: exit 1, one line saying what to set', async () => {
    const input = uniqueTopic('events')
    await createTopics([{ topic: input, partitions: 1 }])
    const redis = await freshRedis()
    const job = startJob({
      KAFKA_BROKERS: kafkaBrokers(),
      REDIS_URL: redis.url,
      APPLICATION_ID: uniqueTopic('app'),
      INPUT: input,
      CHECKPOINTS: 'off',
    })
    // before the refusal the job ran: stop it once it says so, so the test fails instead of hanging
    let exited = false
    void job.exit.then(() => {
      exited = true
    })
    await waitFor(() => exited || (job.output().includes('running as') && job.child.kill('SIGTERM')), {
      timeoutMs: 60_000,
    })
    const { code, stderr } = await job.exit
    expect(code).toBe(1)
    expect(stderr).toBe(
      'CHECKPOINTS=off cannot run topology "fixture-job": it has windows (window-4), and a restart without checkpoints would rebuild a window that already fired from part of its records and overwrite its complete result; set CHECKPOINTS=on (the default) or unset CHECKPOINTS\n',
    )
  })

  it('exits 1 with one line saying what to fix when Redis refuses the writes for good (WRONGTYPE)', async () => {
    const input = uniqueTopic('events')
    await createTopics([{ topic: input, partitions: 1 }])
    const redis = await freshRedis()
    await redis.set('ctr:latest', 'not a hash')
    const all = events(pastWindowStart(), 3, 2, 10)
    await produce(
      input,
      all.map((e) => ({ key: e.product_id, value: e })),
    )
    const { code, stderr } = await startJob({
      KAFKA_BROKERS: kafkaBrokers(),
      REDIS_URL: redis.url,
      APPLICATION_ID: uniqueTopic('app'),
      INPUT: input,
    }).exit
    expect(code).toBe(1)
    expect(stderr.trim().split('\n')).toHaveLength(1)
    expect(stderr).toMatch(
      /^redis-latest-previous\(ctr:latest,ctr:previous\) -> redis:\/\/127\.0\.0\.1:\d+\/\d+: Redis refused the write \(WRONGTYPE .*\); a key this sink writes holds another Redis type: delete or rename that key, or configure other key names\n$/,
    )
    expect(await redis.get('ctr:latest')).toBe('not a hash')
  })

  it('stops cleanly on SIGTERM (exit 0) and a restart completes the results exactly', async () => {
    const input = uniqueTopic('events')
    await createTopics([{ topic: input, partitions: 2 }])
    const redis = await freshRedis()
    const all = events(pastWindowStart(), 3, 4, 40)
    await produce(
      input,
      all.map((e) => ({ key: e.product_id, value: e })),
    )
    const env = {
      KAFKA_BROKERS: kafkaBrokers(),
      REDIS_URL: redis.url,
      APPLICATION_ID: uniqueTopic('app'),
      INPUT: input,
    }
    const first = startJob(env)
    await waitFor(() => first.output().includes('running as'), { message: 'job started', timeoutMs: 60_000 })
    await waitFor(async () => (await storedResults(redis)).latest['p-0'], { message: 'first results' })
    first.child.kill('SIGTERM')
    const { code, stdout } = await first.exit
    expect(code).toBe(0)
    expect(stdout).toContain('stopped cleanly')

    const second = startJob(env)
    try {
      const expected = expectedResults(all)
      await expectStoredResults(redis, expected, 'exact results after the restart')
    } finally {
      second.child.kill('SIGINT')
      expect((await second.exit).code).toBe(0)
    }
  })
})
