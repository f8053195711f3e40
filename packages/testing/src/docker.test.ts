import { mkdtempSync, rmSync } from 'node:fs'
import { createServer, type Server } from 'node:http'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterEach, describe, expect, it } from 'vitest'
import { dockerAnswers, freePort } from './docker.js'

const saved = process.env.DOCKER_HOST
let server: Server | undefined
let dir: string | undefined

afterEach(async () => {
  if (saved === undefined) delete process.env.DOCKER_HOST
  else process.env.DOCKER_HOST = saved
  if (server) await new Promise((r) => server!.close(r))
  if (dir) rmSync(dir, { recursive: true, force: true })
  server = undefined
  dir = undefined
})

function fakeEngine(status: number): Server {
  return createServer((req, res) => {
    res.statusCode = req.url === '/_ping' ? status : 404
    res.end('OK')
  })
}

describe('dockerAnswers', () => {
  it('is false, quickly, when DOCKER_HOST points at nothing', async () => {
    process.env.DOCKER_HOST = `unix://${join(tmpdir(), 'no-such-docker.sock')}`
    const started = Date.now()
    expect(await dockerAnswers(1000)).toBe(false)
    expect(Date.now() - started).toBeLessThan(1000)
  })

  it('is true when an engine answers /_ping on a unix socket', async () => {
    dir = mkdtempSync(join(tmpdir(), 'docker-test-'))
    const socketPath = join(dir, 'docker.sock')
    server = fakeEngine(200)
    await new Promise<void>((r) => server!.listen(socketPath, r))
    process.env.DOCKER_HOST = `unix://${socketPath}`
    expect(await dockerAnswers(1000)).toBe(true)
  })

  it('is false when the engine over TCP answers with an error', async () => {
    const port = await freePort()
    server = fakeEngine(500)
    await new Promise<void>((r) => server!.listen(port, '127.0.0.1', r))
    process.env.DOCKER_HOST = `tcp://127.0.0.1:${port}`
    expect(await dockerAnswers(1000)).toBe(false)
  })
})
