import { connect } from 'node:net'
import { freshRedis, type TestRedis } from '@ctr/testing'
import fc from 'fast-check'
import type { Redis } from 'ioredis'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createApi } from './app.js'
import { createRedisClient } from './redis.js'
import { type RunningServer, startServer } from './server.js'
import { result } from './test-support.js'

// Whatever a client sends, the answer is never a 500, and every error is the contract's JSON.
let seed: TestRedis
let redis: Redis
let app: ReturnType<typeof createApi>
const unhandled: string[] = []

beforeAll(async () => {
  seed = await freshRedis()
  await seed.hset('ctr:latest', 'p-1', JSON.stringify(result('p-1', 0, 10, 1)))
  redis = createRedisClient(seed.url)
  await new Promise((resolve) => redis.once('ready', resolve))
  const logger = {
    info() {},
    warn() {},
    error: (o: object | string, msg?: string) => {
      if (msg === 'unhandled error') unhandled.push(JSON.stringify(o))
    },
  }
  app = createApi({ redis, logger, jobStatusUrl: 'http://127.0.0.1:1/status' })
})
afterAll(async () => {
  await seed.release()
  redis.disconnect()
})

const ALLOWED = new Set([200, 400, 404, 405, 503])

async function check(path: string, init?: RequestInit) {
  let res: Response
  try {
    res = await app.request(path, init)
  } catch (err) {
    // A string no Request can be built from never reaches a server either.
    if (err instanceof TypeError) return
    throw err
  }
  const body = await res.text()
  expect(ALLOWED.has(res.status), `${init?.method ?? 'GET'} ${JSON.stringify(path)} -> ${res.status} ${body}`).toBe(
    true,
  )
  if (res.status >= 400 && !(init?.method === 'HEAD')) {
    const json = JSON.parse(body)
    expect(typeof json.error.code).toBe('string')
    expect(typeof json.error.message).toBe('string')
    expect(body).not.toMatch(/\n\s+at /) // no stack trace
  }
}

describe('bad input never gives a 500', () => {
  it('odd product ids and paths', async () => {
    const paths = [
      '/ctr/%00',
      '/ctr/a%00',
      '/ctr/%2F',
      '/ctr/%2F%2F',
      '/ctr/a%2Fb/history',
      '/ctr/%',
      '/ctr/%zz',
      '/ctr/%E0%A4%A',
      '/ctr/%ED%A0%80',
      '/ctr/%FF%FE',
      '/ctr/..%2F..%2Fetc%2Fpasswd',
      `/ctr/${'a'.repeat(10_000)}`,
      `/ctr/${'%41'.repeat(5000)}`,
      '/ctr/ ',
      '/ctr/%20',
      '/ctr/🙂',
      '/ctr/\u202e',
      '/ctr/p-1/',
      '/ctr/p-1/history/',
      '/ctr/p-1/history/x',
      '/ctr//',
      '/ctr//history',
      '//ctr/p-1',
      '/ctr/latest/',
      '/CTR/LATEST',
      '/ctr/stream/x',
      '/assets/',
      '/assets/%2e%2e%2fpackage.json',
      '/docs/swagger-ui-dist/..%2F..%2Fpackage.json',
      '/ctr/top?limit=%00',
      '/ctr/top?limit=99999999999999999999999',
      '/ctr/top?limit=1&limit=2',
      '/ctr/top?min_impressions=NaN',
      '/ctr/top?min_impressions=Infinity',
      '/ctr/p-1/history?limit=%FF',
      '/ctr/p-1/history?limit[]=1',
      '/healthz?x=%00',
      '/metrics/x',
      '/openapi.json/x',
      '/pipeline/status?x=1',
    ]
    for (const path of paths) await check(path)
  })

  it('wrong methods', async () => {
    for (const method of ['POST', 'PUT', 'DELETE', 'PATCH', 'OPTIONS', 'HEAD']) {
      for (const path of ['/ctr/latest', '/ctr/p-1', '/ctr/p-1/history', '/healthz', '/nope']) {
        await check(path, { method, body: method === 'POST' || method === 'PUT' ? '{"x":' : undefined })
      }
    }
  })

  it('arbitrary path strings (property)', async () => {
    const segment = fc.oneof(
      fc.string({ unit: 'binary', maxLength: 40 }),
      fc.string({ unit: 'grapheme', maxLength: 40 }),
      fc.stringMatching(/^(%[0-9A-Fa-f]{0,2}|[a-z/.?&=-])*$/, { maxLength: 40 }),
    )
    const prefix = fc.constantFrom(
      '/ctr/',
      '/ctr/p-1/',
      '/',
      '/ctr/top?',
      '/ctr/p-1/history?limit=',
      '/assets/',
      '/docs/',
    )
    await fc.assert(
      fc.asyncProperty(prefix, segment, fc.boolean(), async (p, s, encode) => {
        await check(p + (encode ? encodeURIComponent(s) : s))
      }),
      { numRuns: 1500 },
    )
  })

  it('raw malformed HTTP requests on a real server get a 400, not a 500', async () => {
    const server: RunningServer = await startServer(app, { port: 0, host: '127.0.0.1' })
    try {
      const raw = (request: string) =>
        new Promise<string>((resolve, reject) => {
          const socket = connect(server.port, '127.0.0.1', () => socket.end(request))
          let data = ''
          socket.on('data', (d) => {
            data += d
          })
          socket.on('end', () => resolve(data))
          socket.on('error', reject)
        })
      for (const request of [
        'GET /ctr\\p-1 HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n',
        'GET /ctr/p-1 HTTP/1.1\r\nHost: bad host\r\nConnection: close\r\n\r\n',
        'GET http://[::1 HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n',
        'GET /ctr/%00 HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n',
      ]) {
        const response = await raw(request)
        const status = Number(response.split(' ')[1])
        expect(status, `${JSON.stringify(request)} -> ${response}`).toBeGreaterThanOrEqual(400)
        expect(status, `${JSON.stringify(request)} -> ${response}`).toBeLessThan(500)
      }
    } finally {
      await server.close()
    }
  })

  it('reached no last-resort error handler', () => {
    expect(unhandled).toEqual([])
  })
})
