import { createServer, type Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import { freshRedis, type TestRedis } from '@ctr/testing'
import type { Redis } from 'ioredis'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createApi } from '../app.js'
import { createRedisClient } from '../redis.js'
import { freePort } from '../test-support.js'

// GET /pipeline/status against a stand-in for the job's /status endpoint.
type ErrorJson = { error: { code: string; message: string } }
let seed: TestRedis
let redis: Redis

beforeAll(async () => {
  seed = await freshRedis()
  redis = createRedisClient(seed.url)
  await new Promise((resolve) => redis.once('ready', resolve))
})
afterAll(async () => {
  await seed.release()
  redis.disconnect()
})

describe('GET /pipeline/status', () => {
  let job: Server
  let answer: { status: number; body: string }
  let url: string
  beforeAll(async () => {
    job = createServer((_req, res) => {
      res.writeHead(answer.status, { 'content-type': 'application/json' })
      res.end(answer.body)
    })
    await new Promise<void>((r) => job.listen(0, '127.0.0.1', r))
    url = `http://127.0.0.1:${(job.address() as AddressInfo).port}/status`
  })
  afterAll(() => new Promise<void>((r) => job.close(() => r())))

  it("passes the job's status through", async () => {
    const status = { watermark: 123, allIdle: false, partitions: [], windows: { open: 0, oldest: null }, extra: 'x' }
    answer = { status: 200, body: JSON.stringify(status) }
    const res = await createApi({ redis, jobStatusUrl: url }).request('/pipeline/status')
    expect(res.status).toBe(200)
    expect(await res.json()).toEqual(status)
  })

  it('is 502 for a bad answer and 503 when the job is unreachable', async () => {
    answer = { status: 200, body: '[1,2]' }
    const bad = await createApi({ redis, jobStatusUrl: url }).request('/pipeline/status')
    expect(bad.status).toBe(502)
    const text = await bad.text()
    expect((JSON.parse(text) as ErrorJson).error.code).toBe('job_bad_response')
    expect(text).not.toContain('127.0.0.1')
    answer = { status: 500, body: 'oops' }
    expect((await createApi({ redis, jobStatusUrl: url }).request('/pipeline/status')).status).toBe(502)
    const closed = `http://127.0.0.1:${await freePort()}/status` // nothing listens there
    const down = await createApi({ redis, jobStatusUrl: closed }).request('/pipeline/status')
    expect(down.status).toBe(503)
    expect(await down.json()).toEqual({
      error: { code: 'job_unreachable', message: "the CTR job's status is unreachable: connection refused" },
    })
  })
})
