/**
 * `npm start` without the bootstrap: scripts/start.ts against the test Kafka and a fresh Redis database,
 * on unique topics, ports and run directory, so it runs beside anything else.
 */
import { type ChildProcess, spawn } from 'node:child_process'
import { mkdtempSync, readFileSync } from 'node:fs'
import { createServer } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { freshRedis, kafkaBrokers, uniqueTopic, waitFor } from '@ctr/testing'
import { describe, expect, it } from 'vitest'
import { repoRoot } from './lib/paths.js'

const freePort = () =>
  new Promise<number>((resolve) => {
    const s = createServer().listen(0, '127.0.0.1', () => {
      const { port } = s.address() as { port: number }
      s.close(() => resolve(port))
    })
  })

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

  it('names a service that dies at start, shows its log, stops the rest and exits 1', async () => {
    const redis = await freshRedis()
    const p = await startPipeline(redis.url, { HISTORY_WINDOWS: 'many' })
    expect(await p.exited).toBe(1)
    expect(p.output()).toMatch(/the job stopped unexpectedly \(exit code 1\); last lines of/)
    expect(p.output()).toContain('HISTORY_WINDOWS="many"')
    expect(p.output()).not.toContain('starting the producers')
  }, 90_000)
})
