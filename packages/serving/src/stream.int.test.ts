import { freshRedis, type TestRedis } from '@ctr/testing'
import type { Redis } from 'ioredis'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createApi } from './app.js'
import { ApiMetrics } from './metrics.js'
import { createRedisClient } from './redis.js'
import { type RunningServer, startServer } from './server.js'
import { eventually, result } from './test-support.js'

// GET /ctr/stream on a real HTTP server: Server-Sent Events of what is published on ctr:updates.
let seed: TestRedis
let redis: Redis
let server: RunningServer
const metrics = new ApiMetrics({ processMetrics: false })
const shutdown = new AbortController()
// Pub/Sub channels are shared by every database of the server: this file's own channel keeps parallel tests apart.
const CHANNEL = `ctr:updates:test-${process.pid}-${Date.now()}`

beforeAll(async () => {
  seed = await freshRedis()
  redis = createRedisClient(seed.url)
  await new Promise((resolve) => redis.once('ready', resolve))
  server = await startServer(createApi({ redis, metrics, shutdown: shutdown.signal, updatesChannel: CHANNEL }), {
    port: 0,
    host: '127.0.0.1',
  })
})
afterAll(async () => {
  await server.close()
  await seed.release()
  redis.disconnect()
})

/** An SSE client that collects parsed events. */
async function open() {
  const abort = new AbortController()
  const res = await fetch(`${server.url}/ctr/stream`, { signal: abort.signal })
  expect(res.status).toBe(200)
  expect(res.headers.get('content-type')).toContain('text/event-stream')
  const events: { event: string; data: string }[] = []
  let ended = false
  const reader = (res.body as ReadableStream<Uint8Array>).pipeThrough(new TextDecoderStream()).getReader()
  void (async () => {
    let buffer = ''
    try {
      for (;;) {
        const { value, done } = await reader.read()
        if (done) break
        buffer += value
        let end = buffer.indexOf('\n\n')
        while (end >= 0) {
          const block = buffer.slice(0, end)
          buffer = buffer.slice(end + 2)
          const event = block.match(/^event: (.*)$/m)?.[1]
          const data = [...block.matchAll(/^data: (.*)$/gm)].map((m) => m[1]).join('\n')
          if (event) events.push({ event, data })
          end = buffer.indexOf('\n\n')
        }
      }
    } catch {
      // aborted by the test
    }
    ended = true
  })()
  await eventually('the ready event', async () => events.some((e) => e.event === 'ready'))
  return { events, close: () => abort.abort(), ended: () => ended }
}

const subscribers = async () => (await seed.pubsub('NUMSUB', CHANNEL))[1] as number
const gauge = async () => (await metrics.sseClients.get()).values[0]?.value

describe('GET /ctr/stream', () => {
  it('delivers every published result to every client over one subscriber connection', async () => {
    const a = await open()
    const b = await open()
    expect(await subscribers()).toBe(1)
    expect(await gauge()).toBe(2)

    const r1 = { ...result('p-1', 10_000, 10, 3), late_firing: true }
    const r2 = result('p/2', 20_000, 0, 0)
    await seed.publish(CHANNEL, 'not json')
    await seed.publish(CHANNEL, JSON.stringify({ product_id: 'x' }))
    await seed.publish(CHANNEL, JSON.stringify(r1))
    await seed.publish(CHANNEL, JSON.stringify(r2))
    for (const client of [a, b]) {
      await eventually('two ctr events', async () => client.events.filter((e) => e.event === 'ctr').length >= 2)
      const data = client.events.filter((e) => e.event === 'ctr').map((e) => JSON.parse(e.data))
      expect(data).toEqual([r1, r2]) // the invalid messages were skipped
    }
    const text = await metrics.registry.metrics()
    expect(text).toMatch(/ctr_api_bad_results_total\{key="ctr:updates"\} 4/) // 2 per client

    a.close()
    await eventually('one client left', async () => (await gauge()) === 1)
    expect(await subscribers()).toBe(1)
    b.close()
    await eventually('the subscriber connection to close', async () => (await subscribers()) === 0)
    expect(await gauge()).toBe(0)
  })

  it('subscribes again for a new client after the last one left', async () => {
    const c = await open()
    expect(await subscribers()).toBe(1)
    await seed.publish(CHANNEL, JSON.stringify(result('again', 0, 1, 1)))
    await eventually('the update', async () => c.events.some((e) => e.event === 'ctr'))
    c.close()
    await eventually('the subscriber connection to close', async () => (await subscribers()) === 0)
  })

  it('answers HEAD without subscribing', async () => {
    const res = await fetch(`${server.url}/ctr/stream`, { method: 'HEAD' })
    expect(res.status).toBe(200)
    expect(res.headers.get('content-type')).toContain('text/event-stream')
    await new Promise((r) => setTimeout(r, 200))
    expect(await gauge()).toBe(0)
    expect(await subscribers()).toBe(0)
  })

  it('streams a product named __proto__ like any other', async () => {
    const c = await open()
    const r = result('__proto__', 0, 4, 1)
    await seed.publish(CHANNEL, JSON.stringify(r))
    await eventually('the update', async () => c.events.some((e) => e.event === 'ctr'))
    const data = JSON.parse(c.events.find((e) => e.event === 'ctr')?.data ?? 'null')
    expect(Object.getOwnPropertyDescriptor(data, 'product_id')?.value).toBe('__proto__')
    expect(data).toEqual(r)
    c.close()
    await eventually('the subscriber connection to close', async () => (await subscribers()) === 0)
  })

  it('answers 503 too_many_streams past SSE_MAX_CLIENTS, with Retry-After, and takes a client again once one left', async () => {
    const capped = await startServer(createApi({ redis, updatesChannel: CHANNEL, maxStreamClients: 2 }), {
      port: 0,
      host: '127.0.0.1',
    })
    const streams: AbortController[] = []
    const connect = async () => {
      const abort = new AbortController()
      streams.push(abort)
      const res = await fetch(`${capped.url}/ctr/stream`, { signal: abort.signal })
      return { res, abort }
    }
    try {
      const [a, b] = await Promise.all([connect(), connect()])
      expect([a.res.status, b.res.status]).toEqual([200, 200])
      const refused = await Promise.all([connect(), connect(), connect()])
      for (const { res } of refused) {
        expect(res.status).toBe(503)
        expect(res.headers.get('retry-after')).toBe('10')
        const text = await res.text()
        expect(JSON.parse(text)).toEqual({
          error: {
            code: 'too_many_streams',
            message: '2 live streams are open, the most this API serves at once (SSE_MAX_CLIENTS); retry later',
          },
        })
        expect(text).not.toMatch(/127\.0\.0\.1|localhost|:\d{2,5}\b|https?:\/\//)
      }
      a.abort.abort()
      await eventually('a free slot', async () => {
        const c = await connect()
        if (c.res.status === 200) return true
        await c.res.body?.cancel()
        return false
      })
    } finally {
      for (const s of streams) s.abort()
      await capped.close()
    }
  })

  it('ends open streams on shutdown', async () => {
    const d = await open()
    shutdown.abort()
    await eventually('the stream to end', async () => d.ended())
    await eventually('the subscriber connection to close', async () => (await subscribers()) === 0)
  })
})
