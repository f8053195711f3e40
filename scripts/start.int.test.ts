/**
 * `npm start` without the bootstrap: scripts/start.ts against the test Kafka and a fresh Redis database,
 * on unique topics, ports and run directory, so it runs beside anything else.
 */
import { type ChildProcess, spawn } from 'node:child_process'
import { mkdtempSync, readdirSync, readFileSync } from 'node:fs'
import { createServer } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { freshRedis, kafkaBrokers, uniqueTopic, waitFor } from '@ctr/testing'
import { describe, expect, it } from 'vitest'
import { repoRoot } from './lib/paths.js'
import { processRecord } from './lib/process-record.js'

const freePort = () =>
  new Promise<number>((resolve) => {
    const s = createServer().listen(0, '127.0.0.1', () => {
      const { port } = s.address() as { port: number }
      s.close(() => resolve(port))
    })
  })

/** The pids whose parent is `pid` (from /proc: independent of any pid file). */
function childrenOf(pid: number): number[] {
  return readdirSync('/proc')
    .filter((d) => /^\d+$/.test(d))
    .filter((d) => {
      try {
        const stat = readFileSync(`/proc/${d}/stat`, 'utf8')
        return Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]) === pid
      } catch {
        return false
      }
    })
    .map(Number)
}

/** Starts scripts/start.ts with its own topics, ports and run directory; collects its output. */
async function startPipeline(redisUrl: string, extraEnv: Record<string, string> = {}) {
  const ports = { api: await freePort(), job: await freePort() }
  const runDir = mkdtempSync(join(tmpdir(), 'ctr-start-'))
  const child: ChildProcess = spawn(process.execPath, ['--import', 'tsx', 'scripts/start.ts'], {
    cwd: repoRoot,
    env: {
      ...process.env,
      KAFKA_BROKERS: kafkaBrokers(),
      REDIS_URL: redisUrl,
      IMPRESSIONS_TOPIC: uniqueTopic('impressions'),
      CLICKS_TOPIC: uniqueTopic('clicks'),
      APPLICATION_ID: uniqueTopic('ctr-start'),
      TOPIC_PARTITIONS: '3',
      PORT: String(ports.api),
      JOB_PORT: String(ports.job),
      CTR_RUN_DIR: runDir,
      ...extraEnv,
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  })
  let output = ''
  child.stdout?.on('data', (d) => {
    output += d
  })
  child.stderr?.on('data', (d) => {
    output += d
  })
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)))
  return { child, ports, runDir, exited, output: () => output }
}

describe('scripts/start.ts (npm start)', () => {
  it('brings up job, API and producers, serves live CTR values, and stops everything on SIGINT', async () => {
    const redis = await freshRedis()
    const p = await startPipeline(redis.url)
    try {
      const latest = await waitFor(
        async () => {
          const res = await fetch(`http://127.0.0.1:${p.ports.api}/ctr/latest`)
          if (!res.ok) return null // e.g. a 503 while the API is still connecting (its error body is no result)
          const body = (await res.json()) as Record<string, { ctr: number | null }>
          return Object.keys(body).length > 0 ? body : null
        },
        { timeoutMs: 90_000, intervalMs: 500, message: 'live values at /ctr/latest' },
      )
      expect(Object.keys(latest).every((k) => /^p-\d+$/.test(k))).toBe(true)
      expect(p.output()).toContain(`http://127.0.0.1:${p.ports.api}/docs`)
      expect(p.output()).toContain(`http://127.0.0.1:${p.ports.job}/status`)
      await waitFor(() => /\[status\] \d[\d,]* ev\/s \| watermark/.test(p.output()), {
        timeoutMs: 15_000,
        message: 'a status line',
      })
    } finally {
      p.child.kill('SIGINT')
    }
    expect(await p.exited).toBe(0)
    const out = p.output()
    expect(out).toContain('stopping producers, job and API')
    expect(out).toContain('Kafka is still running')
    const log = (name: string) => readFileSync(join(p.runDir, 'logs', `${name}.log`), 'utf8')
    expect(log('producers')).toContain('[producers] stopped:')
    expect(log('job')).toContain('stopped cleanly; offsets committed')
  }, 150_000)

  it('SIGKILL of npm start: job, API and producers stop by themselves, cleanly (the job commits its offsets)', async () => {
    const redis = await freshRedis()
    const p = await startPipeline(redis.url)
    await waitFor(() => p.output().includes('[start] ready:'), { timeoutMs: 90_000, message: 'the pipeline ready' })
    // the job runs bundled (scripts/lib/job-build.ts)
    const entries = ['.build/job.mjs', 'examples/producers/src/main.ts', 'packages/serving/src/main.ts']
    const entryOf = (pid: number) => processRecord(pid)?.argv.at(-1) ?? ''
    // (start.ts may have other children, e.g. tsx's esbuild service)
    const children = childrenOf(p.child.pid as number).filter((pid) =>
      entries.some((e) => entryOf(pid) === join(repoRoot, e)),
    )
    expect(children.map(entryOf).sort()).toEqual(entries.map((e) => join(repoRoot, e)))
    p.child.kill('SIGKILL')
    try {
      await waitFor(() => children.every((pid) => processRecord(pid) === null), {
        timeoutMs: 20_000,
        message: 'job, API and producers gone after the supervisor was killed',
      })
    } finally {
      for (const pid of children) if (processRecord(pid)) process.kill(pid, 'SIGKILL') // ours: started by this test
    }
    const log = (name: string) => readFileSync(join(p.runDir, 'logs', `${name}.log`), 'utf8')
    for (const name of ['job', 'api', 'producers']) expect(log(name)).toContain('[supervisor-watch] the supervisor')
    expect(log('job')).toContain('stopped cleanly; offsets committed')
    expect(log('producers')).toContain('[producers] stopped:')
  }, 150_000)

  it('names a service that dies at start, shows its log, stops the rest and exits 1', async () => {
    const redis = await freshRedis()
    const p = await startPipeline(redis.url, { HISTORY_WINDOWS: 'many' })
    expect(await p.exited).toBe(1)
    expect(p.output()).toMatch(/the job stopped unexpectedly \(exit code 1\); last lines of/)
    expect(p.output()).toContain('HISTORY_WINDOWS="many"')
    expect(p.output()).not.toContain('starting the producers')
  }, 90_000)
})
