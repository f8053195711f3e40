import { freshRedis, type TestRedis } from '@ctr/testing'
import fc from 'fast-check'
import { Redis } from 'ioredis'
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest'
import { createSinkRedis } from './connection.js'
import { redisLatestPrevious } from './latest-previous-sink.js'

// A database of our own (leased from the harness), flushed before each property run.
let reader: TestRedis
let redis: Redis

beforeAll(async () => {
  reader = await freshRedis()
  redis = createSinkRedis(reader.url)
})
afterAll(async () => {
  await redis.quit()
  await reader.release()
})
beforeEach(async () => {
  await reader.flushdb()
})

type Result = { product_id: string; window_start: number; impressions: number; clicks: number }
const result = (product_id: string, window_start: number, impressions = 1): Result => ({
  product_id,
  window_start,
  impressions,
  clicks: 0,
})

/** Reference model: per product, the last JSON written for each window; latest/previous = the two greatest windows. */
function model(writes: readonly Result[], historyMax: number) {
  const byProduct = new Map<string, Map<number, string>>()
  for (const w of writes) {
    let m = byProduct.get(w.product_id)
    if (!m) {
      m = new Map()
      byProduct.set(w.product_id, m)
    }
    m.set(w.window_start, JSON.stringify(w))
  }
  const latest: Record<string, string> = {}
  const previous: Record<string, string> = {}
  const history: Record<string, string[]> = {}
  for (const [p, m] of byProduct) {
    const starts = [...m.keys()].sort((a, b) => b - a)
    latest[p] = m.get(starts[0]!)!
    if (starts.length > 1) previous[p] = m.get(starts[1]!)!
    history[p] = starts
      .slice(0, historyMax)
      .reverse()
      .map((s) => m.get(s)!)
  }
  return { latest, previous, history }
}

async function stored(products: readonly string[]) {
  const history: Record<string, string[]> = {}
  for (const p of products) {
    const h = await reader.zrange(`t:history:${p}`, 0, -1)
    if (h.length) history[p] = h
  }
  return { latest: await reader.hgetall('t:latest'), previous: await reader.hgetall('t:previous'), history }
}

describe('redisLatestPrevious', () => {
  const options = {
    latest: 't:latest',
    previous: 't:previous',
    field: (r: Result) => r.product_id,
    windowStart: 'window_start',
    history: { prefix: 't:history:', max: 3 },
  } as const

  it('keeps the two greatest windows, whatever the order and batching of writes (property)', async () => {
    const products = ['p-1', 'p-2', 'p-3']
    const write = fc.record({
      product_id: fc.constantFrom(...products),
      window_start: fc.integer({ min: 0, max: 6 }).map((i) => 1_764_330_000_000 + i * 10_000),
      impressions: fc.integer({ min: 1, max: 4 }),
      clicks: fc.constant(0),
    })
    await fc.assert(
      fc.asyncProperty(fc.array(fc.array(write, { minLength: 1, maxLength: 8 }), { maxLength: 8 }), async (batches) => {
        await reader.flushdb()
        const sink = redisLatestPrevious<Result>({ ...options, redis })
        for (const b of batches) await sink.write(b)
        const all = batches.flat()
        const expected = model(all, 3)
        expect(await stored(products)).toEqual(expected)
        // A replay of results already written (any order) changes nothing.
        await sink.write([...all].reverse().filter((w) => JSON.stringify(w) === lastFor(all, w)))
        expect(await stored(products)).toEqual(expected)
      }),
      { numRuns: 60 },
    )
  })

  it('replaces a stored window in place: a late firing of the previous window does not shift', async () => {
    const sink = redisLatestPrevious<Result>({ ...options, redis })
    await sink.write([result('p', 10_000), result('p', 20_000)])
    await sink.write([result('p', 10_000, 5)])
    expect(JSON.parse((await reader.hget('t:latest', 'p'))!)).toMatchObject({ window_start: 20_000, impressions: 1 })
    expect(JSON.parse((await reader.hget('t:previous', 'p'))!)).toMatchObject({ window_start: 10_000, impressions: 5 })
    await sink.write([result('p', 0, 9)]) // older than both: ignored, only in history
    expect(JSON.parse((await reader.hget('t:previous', 'p'))!)).toMatchObject({ window_start: 10_000 })
    expect(await reader.zrangebyscore('t:history:p', 0, 0)).toEqual([JSON.stringify(result('p', 0, 9))])
  })

  it('says the results are readable once latest/previous hold them, then writes the history', async () => {
    const sink = redisLatestPrevious<Result>({ ...options, redis })
    let atReadable: Promise<string | null> | undefined
    await sink.write([result('p', 10_000, 2), result('q', 10_000, 3)], () => {
      atReadable = reader.hget('t:latest', 'q')
    })
    expect(JSON.parse((await atReadable) ?? 'null')).toMatchObject({ window_start: 10_000, impressions: 3 })
    expect(await reader.zrange('t:history:q', 0, -1)).toHaveLength(1) // written before the write resolved
  })

  it('sends each script call as soon as it is packed; a call that fails is sent again with the rest, applied once', async () => {
    // A client that counts pipelines and fails the second latest/previous call sent outside one (as a connection
    // lost mid-write would): the write must still apply every result, and publish each change once.
    const own = createSinkRedis(reader.url)
    await new Promise((r) => own.once('ready', r))
    let pipelines = 0
    let direct = 0
    const client = new Proxy(own, {
      get(target, prop) {
        const v = Reflect.get(target, prop, target)
        if (prop === 'pipeline')
          return () => {
            pipelines++
            return target.pipeline()
          }
        if (prop === 'streamsLatestPrevious' && typeof v === 'function')
          return (...args: unknown[]) => {
            direct++
            if (failSecond && direct === 2) return Promise.reject(new Error('Connection is closed.'))
            return v.apply(target, args)
          }
        return typeof v === 'function' ? v.bind(target) : v
      },
    })
    let failSecond = false
    const sink = redisLatestPrevious<Result>({ ...options, publish: 't:streamed', redis: client })
    const products = Array.from({ length: 1200 }, (_, i) => `p${i}`) // 3 script calls of at most 500 results
    await sink.write(products.map((p) => result(p, 10_000)))
    expect({ direct, pipelines }).toEqual({ direct: 3, pipelines: 1 }) // the history only
    expect(await reader.hlen('t:latest')).toBe(1200)

    const sub = new Redis(reader.url)
    let published = 0
    await sub.subscribe('t:streamed')
    const ended = new Promise<void>((resolve) =>
      sub.on('message', (_c, m) => {
        published++
        if (m === 'end') resolve()
      }),
    )
    failSecond = true
    direct = 0
    pipelines = 0
    await sink.write(products.map((p) => result(p, 20_000, 7)))
    expect({ direct, pipelines }).toEqual({ direct: 3, pipelines: 2 }) // latest/previous again, then the history
    const written = await stored(products)
    expect(Object.keys(written.latest)).toHaveLength(1200)
    expect(Object.values(written.latest).every((j) => JSON.parse(j).window_start === 20_000)).toBe(true)
    expect(Object.values(written.previous).every((j) => JSON.parse(j).window_start === 10_000)).toBe(true)
    await reader.publish('t:streamed', 'end') // a marker: everything before it has been delivered
    await ended
    await sub.quit()
    await own.quit()
    expect(published).toBe(1201) // each result once (the re-sent calls changed nothing), and the end marker
  })

  it('expires a history key ttlSeconds after its last write when asked, never by default', async () => {
    await redisLatestPrevious<Result>({ ...options, redis }).write([result('p', 10_000)])
    expect(await reader.ttl('t:history:p')).toBe(-1)
    const sink = redisLatestPrevious<Result>({ ...options, history: { ...options.history, ttlSeconds: 3600 }, redis })
    await sink.write([result('q', 10_000)])
    expect(await reader.ttl('t:history:q')).toBeGreaterThan(3590)
    // Every write renews it, a replay of the same result too; latest/previous never expire.
    await reader.expire('t:history:q', 100)
    await sink.write([result('q', 10_000)])
    expect(await reader.ttl('t:history:q')).toBeGreaterThan(3590)
    expect(await reader.ttl('t:latest')).toBe(-1)
    expect(() => redisLatestPrevious({ ...options, history: { prefix: 'h:', max: 1, ttlSeconds: 1.5 } })).toThrow(
      'history.ttlSeconds must be a whole number of seconds >= 0, got 1.5',
    )
  })

  it('publishes the JSON only when latest or previous changed', async () => {
    const sub = new Redis(reader.url)
    const seen: string[] = []
    await sub.subscribe('t:updates')
    // Listen for the end marker before it is published: its message may arrive before PUBLISH's reply.
    const ended = new Promise<void>((resolve) =>
      sub.on('message', (_c, m) => {
        seen.push(m)
        if (m === 'end') resolve()
      }),
    )
    const sink = redisLatestPrevious<Result>({ ...options, publish: 't:updates', redis })
    await sink.write([result('p', 10_000), result('p', 10_000), result('p', 20_000)])
    await sink.write([result('p', 20_000), result('p', 0)])
    await reader.publish('t:updates', 'end') // a marker: everything before it has been delivered
    await ended
    await sub.quit()
    expect(seen).toEqual([JSON.stringify(result('p', 10_000)), JSON.stringify(result('p', 20_000)), 'end'])
  })
})

describe('redisLatestPrevious on results of any shape', () => {
  type Views = { page: string; from: number; to: number; views: number }
  const views = (page: string, from: number, n: number): Views => ({ page, from, to: from + 60_000, views: n })

  it('keys by the given field and orders by the given window-start property, also read back from what is stored', async () => {
    const sink = redisLatestPrevious<Views>({
      latest: 'v:latest',
      previous: 'v:previous',
      field: (r) => r.page,
      windowStart: 'from',
      windowEnd: 'to',
      ...{ redis },
    })
    await sink.write([views('/a', 60_000, 1), views('/a', 120_000, 2)])
    // separate writes: the script must read the stored latest's start back from its JSON to shift it
    await sink.write([views('/a', 180_000, 3)])
    await sink.write([views('/a', 120_000, 4)]) // a late firing of the previous window: replaced in place
    await sink.write([views('/a', 60_000, 9)]) // older than both: ignored
    expect(JSON.parse((await reader.hget('v:latest', '/a'))!)).toEqual(views('/a', 180_000, 3))
    expect(JSON.parse((await reader.hget('v:previous', '/a'))!)).toEqual(views('/a', 120_000, 4))
    expect(sink.windowEnd?.(views('/a', 0, 1))).toBe(60_000)
  })
})

function lastFor(all: readonly Result[], w: Result): string {
  let last = ''
  for (const x of all) if (x.product_id === w.product_id && x.window_start === w.window_start) last = JSON.stringify(x)
  return last
}
