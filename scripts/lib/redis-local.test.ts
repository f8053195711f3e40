/**
 * The redis-server npm start runs when none answers, with a private server on a free port (never the shared
 * Redis): it does not outlive a supervisor killed outright, and a port held by something else is one line.
 */
import { mkdirSync } from 'node:fs'
import { createServer, type Server } from 'node:net'
import { afterEach, describe, expect, it } from 'vitest'
import { alive, cleanUp, freshRunDir, pidOf, startFixture, until } from './fixtures/run-fixture.js'

// The run directory is read at import: point it at a temporary one first.
const runDir = freshRunDir()
process.env.CTR_RUN_DIR = runDir
const { ensureRedis } = await import('./redis-local.js')

const listen = (port = 0) =>
  new Promise<Server>((resolve) => {
    const s = createServer().listen(port, '127.0.0.1', () => resolve(s))
  })
const freePort = async () => {
  const s = await listen()
  const { port } = s.address() as { port: number }
  await new Promise((r) => s.close(r))
  return port
}

afterEach(async () => {
  await cleanUp(runDir)
  mkdirSync(runDir, { recursive: true }) // read once at import: keep it for the next test
})

describe('the redis-server started by npm start', () => {
  it('stops when the supervisor is SIGKILLed (the kernel sends it SIGTERM), and had a pid file', async () => {
    const port = await freePort()
    const f = startFixture(runDir, { FIXTURE_SERVICES: '[]', FIXTURE_REDIS_PORT: String(port) })
    await until(() => f.output().includes('[fixture] all up'), 30_000, 'the fixture up')
    const redis = pidOf(runDir, 'redis') as number
    expect(redis).toBeGreaterThan(0)
    expect(alive(redis)).toBe(true)
    f.child.kill('SIGKILL')
    await until(() => !alive(redis), 5000, 'redis-server gone')
  }, 60_000)

  it('a local port held by a program that is not Redis: one line naming the port and REDIS_URL', async () => {
    const holder = await listen()
    const { port } = holder.address() as { port: number }
    try {
      await expect(ensureRedis(`redis://127.0.0.1:${port}`, () => {})).rejects.toThrow(
        new RegExp(
          `^port ${port} \\(Redis\\) is in use by another program that does not answer as Redis \\(pid ${process.pid}: .*\\); stop it or set REDIS_URL$`,
        ),
      )
    } finally {
      holder.close()
    }
  }, 30_000)
})
