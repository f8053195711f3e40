import { Redis } from 'ioredis'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createApi } from './app.js'
import { createRedisClient } from './redis.js'
import { eventually, PrivateRedis, result } from './test-support.js'

// A redis-server of this test's own, stopped and started again: the API answers 503 while it is down and
// recovers by itself (same client, no restart) when it is back.
let server: PrivateRedis
beforeAll(async () => {
  server = await PrivateRedis.start()
})
afterAll(async () => {
  await server.stop()
})

const seed = async () => {
  const c = new Redis(server.url)
  await c.hset('ctr:latest', 'p-1', JSON.stringify(result('p-1', 10_000, 10, 2)))
  await c.zadd('ctr:history:p-1', 10_000, JSON.stringify(result('p-1', 10_000, 10, 2)))
  c.disconnect()
}

type ErrorJson = { error: { code: string; message: string } }
/** What a 503 body must not say: where Redis (or anything else) is. */
const NO_ADDRESS = /127\.0\.0\.1|localhost|:\d{2,5}\b|redis:\/\/|https?:\/\//

const DATA_ROUTES = ['/ctr/latest', '/ctr/previous', '/ctr/p-1', '/ctr/p-1/history', '/ctr/top', '/ctr/stream']

describe('Redis down', () => {
  it('answers 503 on every data route and /healthz, then recovers when Redis is back', async () => {
    await seed()
    const warnings: string[] = []
    const logger = { info() {}, error() {}, warn: (_o: object | string, msg?: string) => warnings.push(msg ?? '') }
    const redis = createRedisClient(server.url, { logger })
    const app = createApi({ redis })
    try {
      await eventually('the API to serve', async () => (await app.request('/ctr/p-1')).status === 200)
      expect((await app.request('/ctr/latest')).status).toBe(200) // the cache holds a fresh copy

      await server.stop()
      await eventually('the client to notice', async () => redis.status !== 'ready')
      // The cached routes too, though their copy is fresh: docs/contract.md §4.2 says 503 while Redis is down.
      for (const path of DATA_ROUTES) {
        const res = await app.request(path)
        expect(res.status, path).toBe(503)
        const text = await res.text()
        expect((JSON.parse(text) as ErrorJson).error.code, path).toBe('redis_unavailable')
        expect(text, path).not.toMatch(NO_ADDRESS)
      }
      const health = await app.request('/healthz')
      expect(health.status).toBe(503)
      const healthText = await health.text()
      expect(healthText).not.toMatch(NO_ADDRESS)
      const body = JSON.parse(healthText) as ErrorJson & { status: string; reason: string }
      expect(body.status).toBe('unavailable')
      expect(body.reason).toMatch(/^Redis is unreachable: /)
      expect(body.error.code).toBe('redis_unavailable')
      await eventually('the outage to be logged', async () => warnings.length > 0)
      await new Promise((r) => setTimeout(r, 500)) // a few reconnect attempts
      expect(warnings.filter((w) => w.startsWith('Redis unreachable'))).toHaveLength(1) // one line, not one per retry
      // By now the client has failed to connect (ECONNREFUSED 127.0.0.1:<port>): the bodies say so without the address.
      for (const path of ['/healthz', ...DATA_ROUTES]) {
        const text = await (await app.request(path)).text()
        expect(text, path).toContain('Redis is unreachable: connection refused')
        expect(text, path).not.toMatch(NO_ADDRESS)
      }

      const metrics = await app.request('/metrics')
      expect(metrics.status).toBe(200)
      const errors = (await metrics.text()).match(/^ctr_api_redis_errors_total (\d+)/m)
      expect(Number(errors?.[1])).toBeGreaterThan(0)

      await server.start() // empty again: no persistence
      await seed()
      await eventually('the API to recover', async () => (await app.request('/ctr/p-1')).status === 200, 20_000)
      expect((await app.request('/healthz')).status).toBe(200)
      expect(((await (await app.request('/ctr/p-1/history')).json()) as { items: unknown[] }).items).toHaveLength(1)
    } finally {
      redis.disconnect()
    }
  })

  it('keeps an open /ctr/stream across a Redis restart: it subscribes again by itself', async () => {
    const redis = createRedisClient(server.url)
    const app = createApi({ redis })
    await eventually('the API to serve', async () => (await app.request('/healthz')).status === 200)
    const res = await app.request('/ctr/stream')
    expect(res.status).toBe(200)
    const reader = (res.body as ReadableStream<Uint8Array>).pipeThrough(new TextDecoderStream()).getReader()
    let text = ''
    const readUntil = async (needle: string) => {
      while (!text.includes(needle)) {
        const { value, done } = await reader.read()
        if (done) throw new Error(`stream ended before ${needle}`)
        text += value
      }
    }
    await readUntil('event: ready')
    const publisher = () => new Redis(server.url, { maxRetriesPerRequest: 1, retryStrategy: () => null })
    try {
      await server.stop()
      await server.start()
      const pub = publisher()
      const r = JSON.stringify(result('after-restart', 0, 1, 1))
      // Publish until the resubscribed connection receives it.
      await eventually('a subscriber again', async () => (await pub.publish('ctr:updates', r)) > 0, 20_000)
      pub.disconnect()
      await readUntil('after-restart')
    } finally {
      await reader.cancel()
      redis.disconnect()
    }
  })

  it('starts while Redis is unreachable, answers 503, and serves once it is up', async () => {
    await server.stop()
    const redis = createRedisClient(server.url)
    const app = createApi({ redis })
    try {
      expect((await app.request('/ctr/latest')).status).toBe(503)
      expect((await app.request('/healthz')).status).toBe(503)
      await server.start()
      await seed()
      await eventually('the API to serve', async () => (await app.request('/healthz')).status === 200, 20_000)
      const res = await app.request('/ctr/latest')
      expect(res.status).toBe(200)
      expect(Object.keys((await res.json()) as object)).toEqual(['p-1'])
    } finally {
      redis.disconnect()
    }
  })
})
