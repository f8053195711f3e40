import { type ChildProcess, spawn } from 'node:child_process'
import { networkInterfaces } from 'node:os'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { Redis } from 'ioredis'
import { afterAll, describe, expect, it } from 'vitest'
import { eventually, freePort, PrivateRedis, result } from './test-support.js'

// `pnpm api` as a process: configuration errors, Redis down at start, recovery, graceful shutdown.
const main = join(dirname(fileURLToPath(import.meta.url)), 'main.ts')
const children: ChildProcess[] = []

function start(env: Record<string, string>) {
  const child = spawn(process.execPath, ['--import', 'tsx', main], {
    env: { ...process.env, LOG_LEVEL: 'info', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  })
  children.push(child)
  const out = { stdout: '', stderr: '' }
  child.stdout?.on('data', (d) => {
    out.stdout += d
  })
  child.stderr?.on('data', (d) => {
    out.stderr += d
  })
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)))
  return { child, out, exited }
}

afterAll(() => {
  for (const c of children) if (c.exitCode === null) c.kill('SIGKILL')
})

describe('main', () => {
  it('refuses a bad configuration with one line and exit code 2', async () => {
    const { out, exited } = start({ PORT: 'eighty', REDIS_URL: 'localhost:6379' })
    expect(await exited).toBe(2)
    expect(out.stderr.trim().split('\n')).toEqual([
      '[api] invalid configuration: PORT must be a port number (got "eighty"); REDIS_URL must be a redis://… or rediss://… URL (got "localhost:6379")',
    ])
  })

  it('listens on 127.0.0.1 unless HOST opens it', async () => {
    const external = Object.values(networkInterfaces())
      .flat()
      .find((a) => a && a.family === 'IPv4' && !a.internal)?.address
    expect(external, 'a non-loopback IPv4 address to test with').toBeDefined()
    const status = (host: string, port: number) =>
      fetch(`http://${host}:${port}/healthz`, { signal: AbortSignal.timeout(2000) }).then(
        (r) => r.status,
        () => 'refused',
      )
    const redisPort = await freePort() // nothing there: /healthz answers 503, which is enough to see who can connect
    for (const host of [undefined, '0.0.0.0']) {
      const port = await freePort()
      const { child, exited } = start({
        PORT: String(port),
        REDIS_URL: `redis://127.0.0.1:${redisPort}`,
        HOST: host ?? '', // empty counts as unset
      })
      await eventually('the API to listen', async () => (await status('127.0.0.1', port)) === 503, 30_000)
      expect(await status(external as string, port), `HOST=${host}`).toBe(host ? 503 : 'refused')
      child.kill('SIGTERM')
      await exited
    }
  })

  it('with Redis up, its very first answer is 200: Redis is connected before the port opens', async () => {
    const port = await freePort()
    const redis = await PrivateRedis.start(await freePort())
    try {
      const { child, exited } = start({ PORT: String(port), HOST: '127.0.0.1', REDIS_URL: `${redis.url}/3` })
      // ask as fast as possible from before the port opens: the first answer is what a supervisor's client sees
      let first: number | undefined
      const deadline = Date.now() + 30_000
      while (first === undefined && Date.now() < deadline) {
        first = await fetch(`http://127.0.0.1:${port}/ctr/latest`).then(
          (r) => r.status,
          () => undefined,
        )
        if (first === undefined) await new Promise((r) => setTimeout(r, 2))
      }
      expect(first).toBe(200)
      child.kill('SIGTERM')
      expect(await exited).toBe(0)
    } finally {
      await redis.stop()
    }
  })

  it('starts with Redis down, answers 503, recovers when Redis comes up, and stops cleanly on SIGTERM', async () => {
    const port = await freePort()
    const redisPort = await freePort()
    const { child, out, exited } = start({
      PORT: String(port),
      HOST: '127.0.0.1',
      REDIS_URL: `redis://127.0.0.1:${redisPort}/2`,
    })
    const health = () => fetch(`http://127.0.0.1:${port}/healthz`).then((r) => r.status)
    await eventually('the API to listen', async () => (await health()) === 503, 30_000)
    expect(out.stdout).toContain('Redis unreachable at redis://127.0.0.1:')
    expect(out.stdout).not.toMatch(/\n\s+at /) // no stack trace

    const redis = await PrivateRedis.start(redisPort)
    try {
      await eventually('recovery', async () => (await health()) === 200, 20_000)
      expect(out.stdout).toContain('is reachable again')
      // The database number of REDIS_URL is honoured: database 2 is read, database 0 is not.
      for (const db of [0, 2]) {
        const c = new Redis(`${redis.url}/${db}`)
        await c.hset('ctr:latest', `in-db-${db}`, JSON.stringify(result(`in-db-${db}`, 0, 1, 1)))
        c.disconnect()
      }
      const res = await fetch(`http://127.0.0.1:${port}/ctr/latest`)
      expect(Object.keys((await res.json()) as object)).toEqual(['in-db-2'])
      const stream = await fetch(`http://127.0.0.1:${port}/ctr/stream`) // an open SSE client must not block shutdown
      expect(stream.status).toBe(200)
      child.kill('SIGTERM')
      expect(await exited).toBe(0)
      expect(out.stdout).toContain('"msg":"stopped"')
    } finally {
      await redis.stop()
    }
  })
})
