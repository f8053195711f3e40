import { ctrResultsSink } from '@ctr/ctr-topology'
import { freshRedis, type TestRedis } from '@ctr/testing'
import { Redis } from 'ioredis'
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest'
import { createApi } from './app.js'
import { createRedisClient } from './redis.js'
import { eventually, PrivateRedis, result } from './test-support.js'

// The results cache on the real Redis: changes the job publishes are served at once, any other write within the
// staleness bound, and no request reads a whole hash.
let seed: TestRedis
const shutdowns: AbortController[] = []
// Pub/Sub channels are shared by every database of the server: this file's own channel keeps parallel tests apart.
const CHANNEL = `ctr:updates:test-cache-${process.pid}-${Date.now()}`

beforeAll(async () => {
  seed = await freshRedis()
})
afterAll(async () => {
  await seed.release()
})
afterEach(async () => {
  for (const s of shutdowns.splice(0)) s.abort()
  await seed.flushdb()
})

/** An app on its own client whose Redis commands are counted by name. */
async function api(url: string, maxStalenessMs: number) {
  const redis = createRedisClient(url)
  await new Promise((resolve) => redis.once('ready', resolve))
  const commands: string[] = []
  const send = redis.sendCommand.bind(redis)
  redis.sendCommand = ((command: { name: string }, ...rest: unknown[]) => {
    commands.push(command.name)
    return (send as (...args: unknown[]) => unknown)(command, ...rest)
  }) as typeof redis.sendCommand
  const shutdown = new AbortController()
  shutdowns.push(shutdown)
  shutdown.signal.addEventListener('abort', () => redis.disconnect())
  const app = createApi({
    redis,
    updatesChannel: CHANNEL,
    shutdown: shutdown.signal,
    cacheMaxStalenessMs: maxStalenessMs,
  })
  const get = async (path: string) => {
    const res = await app.request(path)
    return { status: res.status, json: (await res.json()) as Record<string, unknown> & { error?: { message: string } } }
  }
  return { app, get, commands }
}

const subscribers = async (redis: Redis, channel: string) => (await redis.pubsub('NUMSUB', channel))[1] as number

describe('the results cache', () => {
  it('serves what the job writes and publishes at once, long before the bound, without reading whole hashes', async () => {
    // The job's own sink: the atomic Lua script, which PUBLISHes every change.
    const writer = new Redis(seed.url)
    const sink = ctrResultsSink({ redis: writer, publish: CHANNEL })
    const { get, commands } = await api(seed.url, 60_000) // only the updates can explain a change seen here
    try {
      await sink.write([result('p-1', 0, 10, 1)])
      expect((await get('/ctr/latest')).json).toEqual({ 'p-1': result('p-1', 0, 10, 1) })
      await eventually('the subscription', async () => (await subscribers(seed, CHANNEL)) === 1)

      // a new window shifts latest to previous; a late firing replaces a window in place; a new product
      await sink.write([result('p-1', 10_000, 20, 4), result('p-2', 0, 5, 5)])
      await sink.write([result('p-2', 0, 10, 5)])
      const started = Date.now()
      await eventually(
        'the changes to be served',
        async () =>
          JSON.stringify((await get('/ctr/latest')).json) ===
          JSON.stringify({ 'p-1': result('p-1', 10_000, 20, 4), 'p-2': result('p-2', 0, 10, 5) }),
        5000,
      )
      expect(Date.now() - started).toBeLessThan(5000)
      expect((await get('/ctr/previous')).json).toEqual({ 'p-1': result('p-1', 0, 10, 1) })
      expect((await get('/ctr/p-1')).json).toEqual({
        product_id: 'p-1',
        latest: result('p-1', 10_000, 20, 4),
        previous: result('p-1', 0, 10, 1),
        ctr_change: 0.2 - 0.1,
      })
      expect(((await get('/ctr/top')).json.items as { product_id: string }[]).map((r) => r.product_id)).toEqual([
        'p-2',
        'p-1',
      ])

      // 300 reads of the cached routes: no HGETALL, no HGET, and no command at all but the updates' re-reads.
      const before = commands.length
      for (let i = 0; i < 100; i++) {
        await get('/ctr/latest')
        await get('/ctr/p-1')
        await get('/ctr/top?limit=1')
      }
      expect(commands.slice(before)).toEqual([])
      // the first load and the one after subscribing
      expect(commands.filter((c) => c === 'hgetall').length).toBeGreaterThanOrEqual(2)
      expect(commands.filter((c) => c === 'hgetall').length).toBeLessThanOrEqual(4)
      expect(commands).not.toContain('hget')
      expect(commands).toContain('hmget') // the updates' re-reads
    } finally {
      await sink.close?.()
      writer.disconnect()
    }
  })

  it('serves a write nobody published (a lost message) once the bound has passed, never later', async () => {
    const bound = 300
    const { get } = await api(seed.url, bound)
    await seed.hset('ctr:latest', 'p-1', JSON.stringify(result('p-1', 0, 10, 1)))
    expect((await get('/ctr/p-1')).json.latest).toEqual(result('p-1', 0, 10, 1))
    for (const [i, clicks] of [2, 3, 4].entries()) {
      await seed.hset('ctr:latest', 'p-1', JSON.stringify(result('p-1', 0, 10, clicks)))
      await seed.hset('ctr:latest', `new-${i}`, JSON.stringify(result(`new-${i}`, 0, 1, 1)))
      await seed.hdel('ctr:latest', i === 0 ? 'none' : `new-${i - 1}`)
      // Any response from `bound` ms after the write on reflects it: the copy it comes from was loaded after it.
      await new Promise((r) => setTimeout(r, bound + 1))
      expect((await get('/ctr/p-1')).json.latest, `write ${i}`).toEqual(result('p-1', 0, 10, clicks))
      expect(Object.keys((await get('/ctr/latest')).json).sort(), `write ${i}`).toEqual([`new-${i}`, 'p-1'])
    }
  })

  it('loads everything again as soon as a dropped subscription is back', async () => {
    const server = await PrivateRedis.start()
    const admin = new Redis(server.url)
    try {
      const { get } = await api(server.url, 60_000)
      await admin.hset('ctr:latest', 'p-1', JSON.stringify(result('p-1', 0, 10, 1)))
      expect(Object.keys((await get('/ctr/latest')).json)).toEqual(['p-1'])
      await eventually('the subscription', async () => (await subscribers(admin, CHANNEL)) === 1)
      // A change whose message is lost: written while the subscriber connection is cut.
      await admin.hset('ctr:latest', 'p-2', JSON.stringify(result('p-2', 0, 10, 1)))
      expect(await admin.client('KILL', 'TYPE', 'pubsub')).toBe(1)
      await eventually(
        'the reload after resubscribing',
        async () => Object.keys((await get('/ctr/latest')).json).length === 2,
        10_000,
      )
    } finally {
      admin.disconnect()
      await server.stop()
    }
  })

  it('reads the hashes on every request with a bound of 0', async () => {
    const { get, commands } = await api(seed.url, 0)
    await seed.hset('ctr:latest', 'p-1', JSON.stringify(result('p-1', 0, 10, 1)))
    expect((await get('/ctr/p-1')).json.latest).toEqual(result('p-1', 0, 10, 1))
    await seed.hset('ctr:latest', 'p-1', JSON.stringify(result('p-1', 0, 10, 2)))
    expect((await get('/ctr/p-1')).json.latest).toEqual(result('p-1', 0, 10, 2))
    expect(commands.filter((c) => c === 'hgetall')).toHaveLength(4)
  })
})
