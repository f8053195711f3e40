import { freshRedis, type TestRedis } from '@ctr/testing'
import type { Redis } from 'ioredis'
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest'
import { createApi } from './app.js'
import { createRedisClient } from './redis.js'
import { result } from './test-support.js'

// Routes through app.request() on the real Redis (a database of its own from freshRedis(), emptied before each test).
// Each test seeds Redis and then asks a new app, whose results cache loads on its first request (how the cache
// follows later writes is results-cache.int.test.ts's subject).
let seed: TestRedis
let redis: Redis
let app: ReturnType<typeof createApi>
let shutdown: AbortController
// Pub/Sub channels are shared by every database of the server: this file's own channel keeps parallel tests apart.
const CHANNEL = `ctr:updates:test-app-${process.pid}-${Date.now()}`

beforeAll(async () => {
  seed = await freshRedis()
  redis = createRedisClient(seed.url)
  await new Promise((resolve) => redis.once('ready', resolve))
})
afterAll(async () => {
  await seed.release()
  redis.disconnect()
})
beforeEach(async () => {
  await seed.flushdb()
  shutdown = new AbortController()
  app = createApi({
    redis,
    jobStatusUrl: 'http://127.0.0.1:1/status',
    updatesChannel: CHANNEL,
    shutdown: shutdown.signal,
  })
})
afterEach(() => shutdown.abort())

const get = async (path: string, init?: RequestInit) => {
  const res = await app.request(path, init)
  const text = await res.text()
  const json = res.headers.get('content-type')?.includes('json') ? JSON.parse(text) : undefined
  return { status: res.status, headers: res.headers, text, json }
}
const put = (hash: 'ctr:latest' | 'ctr:previous', r: object & { product_id: string }) =>
  seed.hset(hash, r.product_id, JSON.stringify(r))

describe('GET /ctr/latest and /ctr/previous', () => {
  it('answer {} when nothing is stored', async () => {
    expect(await get('/ctr/latest')).toMatchObject({ status: 200, json: {} })
    expect(await get('/ctr/previous')).toMatchObject({ status: 200, json: {} })
  })

  it('map product_id to the stored result, extra fields kept, invalid values skipped', async () => {
    const a = { ...result('p-1', 10_000, 100, 7), late_firing: true }
    const b = result('p/2 é', 10_000, 0, 0)
    await put('ctr:latest', a)
    await put('ctr:latest', b)
    await seed.hset('ctr:latest', 'broken', '{"product_id":')
    await seed.hset('ctr:latest', 'wrong', JSON.stringify({ product_id: 'wrong', impressions: 'many' }))
    await put('ctr:previous', result('p-1', 0, 50, 1))
    const latest = await get('/ctr/latest')
    expect(latest.status).toBe(200)
    expect(latest.json).toEqual({ 'p-1': a, 'p/2 é': b })
    expect((await get('/ctr/previous')).json).toEqual({ 'p-1': result('p-1', 0, 50, 1) })
    const metrics = (await get('/metrics')).text
    expect(metrics).toMatch(/ctr_api_bad_results_total\{key="ctr:latest"\} 2/)
  })
})

describe('GET /ctr/{product_id}', () => {
  it('returns latest, previous and the change of ctr', async () => {
    await put('ctr:latest', result('p-1', 10_000, 100, 10))
    await put('ctr:previous', result('p-1', 0, 100, 4))
    const { status, json } = await get('/ctr/p-1')
    expect(status).toBe(200)
    expect(json).toEqual({
      product_id: 'p-1',
      latest: result('p-1', 10_000, 100, 10),
      previous: result('p-1', 0, 100, 4),
      ctr_change: 0.1 - 0.04,
    })
  })

  it('has ctr_change null when previous is missing or a ctr is null', async () => {
    await put('ctr:latest', result('only', 10_000, 10, 1))
    await put('ctr:latest', result('zero', 10_000, 0, 0))
    await put('ctr:previous', result('zero', 0, 10, 1))
    expect((await get('/ctr/only')).json).toEqual({
      product_id: 'only',
      latest: result('only', 10_000, 10, 1),
      previous: null,
      ctr_change: null,
    })
    expect((await get('/ctr/zero')).json.ctr_change).toBeNull()
  })

  it('decodes the id: %2F is a slash, unicode works', async () => {
    await put('ctr:latest', result('a/b', 0, 2, 1))
    await put('ctr:latest', result('prodé✓', 0, 4, 1))
    expect((await get('/ctr/a%2Fb')).json.latest.ctr).toBe(0.5)
    expect((await get(`/ctr/${encodeURIComponent('prodé✓')}`)).json.latest.ctr).toBe(0.25)
  })

  it('is 404 in the contract shape for a product with no result', async () => {
    const { status, json } = await get('/ctr/nothing-here')
    expect(status).toBe(404)
    expect(json).toEqual({ error: { code: 'not_found', message: 'no result for product "nothing-here"' } })
  })

  it('is 400 for an invalid product id', async () => {
    // The job's rule (contract.ts): what it sends to the DLQ as invalid_event or invalid_json is a 400 here.
    const invalid = {
      '/ctr/': 'product_id must not be empty',
      [`/ctr/${'x'.repeat(129)}`]: 'product_id must be at most 128 characters',
      '/ctr/a%00b': 'product_id must not contain control characters',
      '/ctr/a%01b': 'product_id must not contain control characters',
      '/ctr/%0A': 'product_id must not contain control characters',
      '/ctr/%7F': 'product_id must not contain control characters',
      '/ctr/c1%C2%85': 'product_id must not contain control characters',
      // percent-encoded bytes that are not UTF-8: a lone surrogate (ED A0 80), 0xFF, 0xFE
      '/ctr/%ED%A0%80': 'product_id must be UTF-8 once percent-decoded',
      '/ctr/p%FF': 'product_id must be UTF-8 once percent-decoded',
      '/ctr/p%FE/history': 'product_id must be UTF-8 once percent-decoded',
      '/ctr/%C3%A9%FF': 'product_id must be UTF-8 once percent-decoded',
    }
    for (const [path, message] of Object.entries(invalid)) {
      const { status, json } = await get(path)
      expect(status, path).toBe(400)
      expect(json.error, path).toEqual({ code: 'invalid_product_id', message })
    }
    // A literal percent sign is an ordinary character: "%FF" spelled %25FF is an id (a 404: nothing is stored).
    expect((await get('/ctr/%25FF')).json.error.message).toBe('no result for product "%FF"')
    expect((await get('/ctr/50%OFF')).json.error.message).toBe('no result for product "50%OFF"')
    // 128 characters is fine (a 404 here, as nothing is stored); so are 128 astral characters.
    expect((await get(`/ctr/${'x'.repeat(128)}`)).status).toBe(404)
    expect((await get(`/ctr/${encodeURIComponent('😀'.repeat(128))}`)).status).toBe(404)
    expect((await get(`/ctr/${encodeURIComponent('😀'.repeat(129))}`)).status).toBe(400)
  })

  it('never takes latest, previous, top or stream for a product id', async () => {
    await put('ctr:latest', result('top', 0, 1, 1))
    expect((await get('/ctr/top')).json).toHaveProperty('items')
    expect((await get('/ctr/latest')).json).toHaveProperty('top')
    expect((await get('/ctr/previous')).json).toEqual({})
  })
})

describe('product ids named like Object.prototype members', () => {
  const SPECIAL = ['__proto__', 'constructor', 'hasOwnProperty', 'toString']
  /** The JSON body's own property `id` (a `__proto__` key of JSON.parse is an own property, not the prototype). */
  const own = (body: object, id: string) => Object.getOwnPropertyDescriptor(body, id)?.value

  it('are served like any other product by every route', async () => {
    for (const [i, id] of SPECIAL.entries()) {
      await put('ctr:latest', result(id, 10_000, 10, i + 1))
      await put('ctr:previous', result(id, 0, 10, i))
      await seed.zadd(`ctr:history:${id}`, 10_000, JSON.stringify(result(id, 10_000, 10, i + 1)))
    }
    await put('ctr:latest', result('p-1', 10_000, 10, 0))
    const latest = (await get('/ctr/latest')).json
    expect(Object.keys(latest).sort()).toEqual([...SPECIAL, 'p-1'].sort())
    const previous = (await get('/ctr/previous')).json
    expect(Object.keys(previous).sort()).toEqual([...SPECIAL].sort())
    for (const [i, id] of SPECIAL.entries()) {
      expect(own(latest, id), id).toEqual(result(id, 10_000, 10, i + 1))
      expect(own(previous, id), id).toEqual(result(id, 0, 10, i))
      const one = await get(`/ctr/${id}`)
      expect(one.status, id).toBe(200)
      expect(one.json, id).toEqual({
        product_id: id,
        latest: result(id, 10_000, 10, i + 1),
        previous: result(id, 0, 10, i),
        ctr_change: (i + 1) / 10 - i / 10,
      })
      expect((await get(`/ctr/${id}/history`)).json.items, id).toEqual([result(id, 10_000, 10, i + 1)])
    }
    const top = (await get('/ctr/top?limit=10')).json.items.map((r: { product_id: string }) => r.product_id)
    expect(top).toEqual(['toString', 'hasOwnProperty', 'constructor', '__proto__', 'p-1']) // ctr .4 .3 .2 .1 0
  })
})

describe('GET /ctr/{product_id}/history', () => {
  it('lists the stored windows newest first, up to limit', async () => {
    for (let i = 0; i < 5; i++) {
      const r = result('h', i * 10_000, 10, i)
      await seed.zadd('ctr:history:h', i * 10_000, JSON.stringify(r))
    }
    const all = await get('/ctr/h/history')
    expect(all.status).toBe(200)
    expect(all.json.product_id).toBe('h')
    expect(all.json.items.map((r: { window_start: number }) => r.window_start)).toEqual([
      40_000, 30_000, 20_000, 10_000, 0,
    ])
    const two = await get('/ctr/h/history?limit=2')
    expect(two.json.items).toEqual([result('h', 40_000, 10, 4), result('h', 30_000, 10, 3)])
  })

  it('is 200 with no items when only a latest result exists, 404 when there is nothing', async () => {
    await put('ctr:latest', result('nohist', 0, 1, 0))
    expect(await get('/ctr/nohist/history')).toMatchObject({ status: 200, json: { product_id: 'nohist', items: [] } })
    expect((await get('/ctr/ghost/history')).status).toBe(404)
  })

  it('rejects a bad limit with 400 invalid_query', async () => {
    for (const q of ['0', '1001', '-1', 'abc', '1.5', '', '10&limit=20']) {
      const { status, json } = await get(`/ctr/h/history?limit=${q}`)
      expect(status, q).toBe(400)
      expect(json.error.code, q).toBe('invalid_query')
    }
  })
})

describe('GET /ctr/top', () => {
  it('ranks the latest results by ctr, then impressions; honours limit and min_impressions', async () => {
    await put('ctr:latest', result('a', 0, 10, 5)) // 0.5
    await put('ctr:latest', result('b', 0, 100, 50)) // 0.5, more impressions
    await put('ctr:latest', result('c', 0, 1, 1)) // 1.0
    await put('ctr:latest', result('d', 0, 0, 0)) // null: never ranked
    await put('ctr:latest', result('e', 0, 200, 2)) // 0.01
    const ids = (body: { items: { product_id: string }[] }) => body.items.map((r) => r.product_id)
    expect(ids((await get('/ctr/top')).json)).toEqual(['c', 'b', 'a', 'e'])
    expect((await get('/ctr/top?limit=2')).json).toMatchObject({ limit: 2, min_impressions: 0 })
    expect(ids((await get('/ctr/top?limit=2')).json)).toEqual(['c', 'b'])
    expect(ids((await get('/ctr/top?min_impressions=50')).json)).toEqual(['b', 'e'])
  })

  it('rejects bad query values', async () => {
    for (const q of ['limit=0', 'limit=x', 'min_impressions=-1', 'min_impressions=1e400']) {
      expect((await get(`/ctr/top?${q}`)).status, q).toBe(400)
    }
  })
})

describe('Redis answering with an error', () => {
  it('is a 503 redis_error, not a 500', async () => {
    await seed.set('ctr:latest', 'not a hash')
    for (const path of ['/ctr/latest', '/ctr/p-1', '/ctr/top']) {
      const { status, json } = await get(path)
      expect(status, path).toBe(503)
      expect(json.error.code, path).toBe('redis_error')
      expect(json.error.message, path).toMatch(/WRONGTYPE/)
    }
  })
})

describe('operations', () => {
  it('GET /healthz is ok while Redis answers', async () => {
    expect(await get('/healthz')).toMatchObject({ status: 200, json: { status: 'ok' } })
  })

  it('GET /metrics counts requests by route pattern and status', async () => {
    await get('/ctr/not-there-1')
    await get('/ctr/not-there-2')
    await get('/ctr/latest')
    await get('/ctr/top')
    await get('/no-such-route')
    const { status, text, headers } = await get('/metrics')
    expect(status).toBe(200)
    expect(headers.get('content-type')).toContain('text/plain')
    const line = text
      .split('\n')
      .find((l) => l.startsWith('ctr_api_http_requests_total{method="GET",route="/ctr/:product_id",status="404"}'))
    expect(Number(line?.split(' ').pop())).toBeGreaterThanOrEqual(2)
    // Labelled with the route that answered, though /ctr/latest also matches /ctr/:product_id.
    expect(text).toMatch(/^ctr_api_http_requests_total\{method="GET",route="\/ctr\/latest",status="200"\} [1-9]/m)
    expect(text).toMatch(/^ctr_api_http_requests_total\{method="GET",route="\/ctr\/top",status="200"\} [1-9]/m)
    expect(text).toMatch(/^ctr_api_http_requests_total\{method="GET",route="unmatched",status="404"\} [1-9]/m)
    expect(text).toContain('ctr_api_http_request_duration_seconds_bucket')
    expect(text).toContain('ctr_api_redis_errors_total')
  })

  it('unknown routes are 404 JSON and other methods 405 JSON', async () => {
    expect(await get('/nope')).toMatchObject({ status: 404, json: { error: { code: 'not_found' } } })
    const post = await get('/ctr/latest', { method: 'POST' })
    expect(post).toMatchObject({ status: 405, json: { error: { code: 'method_not_allowed' } } })
    expect(post.headers.get('allow')).toBe('GET, HEAD')
    expect((await get('/ctr/p-1', { method: 'DELETE' })).status).toBe(405)
  })

  it('sends CORS headers only when configured', async () => {
    expect(
      (await get('/healthz', { headers: { origin: 'http://x.test' } })).headers.get('access-control-allow-origin'),
    ).toBeNull()
    const withCors = createApi({ redis, cors: 'http://x.test' })
    const res = await withCors.request('/healthz', { headers: { origin: 'http://x.test' } })
    expect(res.headers.get('access-control-allow-origin')).toBe('http://x.test')
  })
})

describe('documentation', () => {
  it('GET /openapi.json is an OpenAPI 3.x document of every route', async () => {
    const { status, json } = await get('/openapi.json')
    expect(status).toBe(200)
    expect(json.openapi).toMatch(/^3\./)
    expect(Object.keys(json.paths).sort()).toEqual(
      [
        '/',
        '/assets/{file}',
        '/ctr/latest',
        '/ctr/previous',
        '/ctr/stream',
        '/ctr/top',
        '/ctr/{product_id}',
        '/ctr/{product_id}/history',
        '/docs',
        '/docs/swagger-ui-dist/{file}',
        '/healthz',
        '/metrics',
        '/openapi.json',
        '/pipeline/status',
      ].sort(),
    )
    const product = json.paths['/ctr/{product_id}'].get
    expect(Object.keys(product.responses).sort()).toEqual(['200', '400', '404', '503'])
    expect(product.parameters[0]).toMatchObject({ name: 'product_id', in: 'path', required: true })
    const top = json.paths['/ctr/top'].get.parameters
    expect(top).toEqual([
      expect.objectContaining({
        name: 'limit',
        in: 'query',
        schema: expect.objectContaining({ type: 'integer', maximum: 1000 }),
      }),
      expect.objectContaining({
        name: 'min_impressions',
        schema: expect.objectContaining({ type: 'integer', minimum: 0 }),
      }),
    ])
  })

  it('GET /docs is Swagger UI loading its files from this server only', async () => {
    const { status, text, headers } = await get('/docs')
    expect(status).toBe(200)
    expect(headers.get('content-type')).toContain('text/html')
    const refs = [...text.matchAll(/(?:src|href)="([^"]+)"/g)].map((m) => m[1] as string)
    expect(refs.sort()).toEqual(['/docs/swagger-ui-dist/swagger-ui-bundle.js', '/docs/swagger-ui-dist/swagger-ui.css'])
    for (const ref of refs) expect((await app.request(ref)).status, ref).toBe(200)
    expect(text).not.toMatch(/https?:\/\//)
  })

  it('serves the dashboard and its files', async () => {
    const page = await get('/')
    expect(page.status).toBe(200)
    const refs = [...page.text.matchAll(/(?:src|href)="(\/[^"]+)"/g)].map((m) => m[1] as string)
    expect(refs.length).toBeGreaterThanOrEqual(4)
    for (const ref of refs) expect((await app.request(ref)).status, ref).toBe(200)
    expect((await get('/assets/../package.json')).status).toBe(404)
  })
})
