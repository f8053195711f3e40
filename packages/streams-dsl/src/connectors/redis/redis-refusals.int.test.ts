// Server-side refusals on a private redis-server (never the shared one): OOM under maxmemory is an outage the
// sinks wait out with nothing lost; refusals that retrying cannot fix fail at once with one line saying what to fix.
import { type PrivateRedis, privateRedis, waitFor } from '@ctr/testing'
import { Redis } from 'ioredis'
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest'
import type { SinkHealthState } from '../sink-health.js'
import { createSinkRedis } from './connection.js'
import { redisHash } from './hash-sink.js'
import { redisLatestPrevious } from './latest-previous-sink.js'

type Result = { product_id: string; window_start: number; impressions: number; pad: string }
const result = (p: string, ws: number, impressions = 1): Result => ({
  product_id: p,
  window_start: ws,
  impressions,
  // ~1 KB per result, so a few batches fill a small maxmemory
  pad: 'x'.repeat(1000),
})
const W0 = 1_764_330_000_000
const W = 10_000

let server: PrivateRedis
let admin: Redis
let sinkRedis: Redis
const quiet = { warn: () => {}, info: () => {} }

beforeAll(async () => {
  server = await privateRedis(['--maxmemory-policy', 'noeviction'])
  admin = new Redis(server.url)
  sinkRedis = createSinkRedis(server.url)
})
afterAll(async () => {
  admin.disconnect()
  sinkRedis.disconnect()
  await server.kill()
})
beforeEach(async () => {
  await admin.config('SET', 'maxmemory', '0')
  await admin.flushall()
})

const usedMemory = async () => Number(/used_memory:(\d+)/.exec(await admin.info('memory'))![1])
/**
 * Lowers maxmemory to one byte, far under what is used: every command that may grow memory is refused with OOM
 * until it is raised again. (A limit just under the usage of the moment is not enough: Redis frees client buffers
 * on its own, e.g. the query buffer the first test's big pipelines left, and a retry then goes through while the
 * test still expects refusals.)
 */
const exhaustMemory = async () => admin.config('SET', 'maxmemory', '1')

/** Records every change of a sink's health. */
function healthLog(health: { subscribe(l: (s: SinkHealthState) => void): () => void }) {
  const states: SinkHealthState[] = []
  health.subscribe((s) => states.push(s))
  return states
}

/** Whether a write went through or its sink reported an outage first. */
const writtenOrRefused = (write: Promise<void>, health: { readonly current: SinkHealthState }) =>
  new Promise<'written' | 'refused'>((resolve, reject) => {
    const poll = setInterval(() => {
      if (health.current.state === 'unavailable') done(() => resolve('refused'))
    }, 10)
    const done = (f: () => void) => {
      clearInterval(poll)
      f()
    }
    write.then(
      () => done(() => resolve('written')),
      (e) => done(() => reject(e)),
    )
  })

/** `p` settles within `ms`? */
const settlesWithin = (p: Promise<unknown>, ms: number) =>
  Promise.race([
    p.then(
      () => true,
      () => true,
    ),
    new Promise<boolean>((r) => setTimeout(() => r(false), ms)),
  ])

describe('Redis refusing writes', () => {
  it('OOM under maxmemory is an outage: the write waits, health goes unavailable then ok, nothing is lost', async () => {
    const sink = redisLatestPrevious<Result>({
      latest: 'ctr:latest',
      previous: 'ctr:previous',
      field: (r) => r.product_id,
      windowStart: 'window_start',
      redis: sinkRedis,
      history: { prefix: 'h:', max: 5 },
      logger: quiet,
    })
    const states = healthLog(sink.health)
    // 1 MB of room: the batches below need about 4 MB (each result in a hash and in the history), so some write
    // is refused (OOM) on the way.
    await admin.config('SET', 'maxmemory', String((await usedMemory()) + 1_000_000))
    const batches = Array.from({ length: 10 }, (_, b) =>
      Array.from({ length: 100 }, (_, i) => [
        result(`p-${b * 100 + i}`, W0),
        result(`p-${b * 100 + i}`, W0 + W, 2),
      ]).flat(),
    )
    let stuck: Promise<void> | undefined
    let written = 0
    for (const batch of batches) {
      const write = sink.write(batch)
      if ((await writtenOrRefused(write, sink.health)) === 'refused') {
        stuck = write
        break
      }
      written++
    }
    expect(stuck, 'some write was refused').toBeDefined()
    expect(sink.health.current).toMatchObject({ state: 'unavailable', reason: 'OOM' })
    expect(sink.health.current.error).toContain("OOM command not allowed when used memory > 'maxmemory'")
    // Not rejected: still retrying a second later.
    expect(await settlesWithin(stuck!, 1_000)).toBe(false)

    await admin.config('SET', 'maxmemory', '0')
    await stuck
    for (const batch of batches.slice(written + 1)) await sink.write(batch)
    expect(states.map((s) => s.state)).toEqual(['unavailable', 'ok'])
    expect(sink.health.outages).toEqual({ OOM: 1 })

    // Exactly what was written: every product's two windows, once, in the right place.
    const latest = await admin.hgetall('ctr:latest')
    const previous = await admin.hgetall('ctr:previous')
    expect(Object.keys(latest)).toHaveLength(1_000)
    expect(Object.keys(previous)).toHaveLength(1_000)
    for (const batch of batches)
      for (let i = 0; i < batch.length; i += 2) {
        const p = batch[i]!.product_id
        expect(previous[p]).toBe(JSON.stringify(batch[i]))
        expect(latest[p]).toBe(JSON.stringify(batch[i + 1]))
      }
    for (const p of ['p-0', `p-${written * 100}`, 'p-999'])
      expect(await admin.zrange(`h:${p}`, 0, -1)).toEqual([
        JSON.stringify(result(p, W0)),
        JSON.stringify(result(p, W0 + W, 2)),
      ])
  })

  it('a script refused under OOM writes nothing and is applied whole once memory is freed', async () => {
    const sink = redisLatestPrevious<Result>({
      latest: 'ctr:latest',
      previous: 'ctr:previous',
      field: (r) => r.product_id,
      windowStart: 'window_start',
      redis: sinkRedis,
      history: { prefix: 'h:', max: 5 },
      logger: quiet,
    })
    await sink.write([result('p', W0 + 2 * W), result('p', W0 + 3 * W)])
    const before = { latest: await admin.hget('ctr:latest', 'p'), previous: await admin.hget('ctr:previous', 'p') }
    await exhaustMemory()

    // A newer window shifts latest into previous: two HSETs. Redis refuses the first, so neither happens.
    const shift = sink.write([result('p', W0 + 4 * W)])
    await waitFor(() => sink.health.current.reason === 'OOM', { message: 'the shift refused with OOM' })
    expect(await admin.hget('ctr:latest', 'p')).toBe(before.latest)
    expect(await admin.hget('ctr:previous', 'p')).toBe(before.previous)
    expect(await admin.zcard('h:p')).toBe(2)
    await admin.config('SET', 'maxmemory', '0')
    await shift
    expect(await admin.hget('ctr:latest', 'p')).toBe(JSON.stringify(result('p', W0 + 4 * W)))
    expect(await admin.hget('ctr:previous', 'p')).toBe(before.latest)

    // An older window only goes to history: its ZADD is refused as well (nothing written, nothing published), and
    // lands once memory is freed.
    await exhaustMemory()
    const older = sink.write([result('p', W0)])
    await waitFor(() => sink.health.outages.OOM === 2 || null, { message: 'the history write refused with OOM' })
    expect(await admin.zrangebyscore('h:p', W0, W0)).toEqual([])
    await admin.config('SET', 'maxmemory', '0')
    await older
    expect(await admin.zrangebyscore('h:p', W0, W0)).toEqual([JSON.stringify(result('p', W0))])
    expect(await admin.hget('ctr:previous', 'p')).toBe(before.latest)
  })

  it('the hash sink waits out OOM as well', async () => {
    const sink = redisHash<{ id: string; v: number }>({
      key: 'counts',
      field: (r) => r.id,
      redis: sinkRedis,
      logger: quiet,
    })
    await exhaustMemory()
    const write = sink.write([
      { id: 'a', v: 1 },
      { id: 'b', v: 2 },
    ])
    await waitFor(() => sink.health.current.reason === 'OOM', { message: 'the write refused with OOM' })
    expect(await settlesWithin(write, 500)).toBe(false)
    await admin.config('SET', 'maxmemory', '0')
    await write
    expect(await admin.hgetall('counts')).toEqual({ a: '{"id":"a","v":1}', b: '{"id":"b","v":2}' })
    expect(sink.health.current.state).toBe('ok')
  })

  it('WRONGTYPE on a key the sink owns fails the write at once, with one line saying what to fix', async () => {
    const sink = redisLatestPrevious<Result>({
      latest: 'ctr:latest',
      previous: 'ctr:previous',
      field: (r) => r.product_id,
      windowStart: 'window_start',
      redis: sinkRedis,
      logger: quiet,
    })
    await admin.set('ctr:latest', 'not a hash')
    const started = Date.now()
    const error = await sink.write([result('p', W0)]).catch((e: Error) => e)
    expect(Date.now() - started).toBeLessThan(2_000)
    expect(error).toBeInstanceOf(Error)
    expect((error as Error).message).toMatch(
      /^redis-latest-previous\(ctr:latest,ctr:previous\) -> redis:\/\/127\.0\.0\.1:\d+: Redis refused the write \(WRONGTYPE .*\); a key this sink writes holds another Redis type: delete or rename that key/,
    )
    expect((error as Error).message).not.toContain('\n')
    expect(sink.health.current.state).toBe('ok')
    expect(sink.health.outages).toEqual({})
  })

  it('a result without a number in its window start fails the write at once, before anything is sent', async () => {
    const sink = redisLatestPrevious<Result>({
      latest: 'ctr:latest',
      previous: 'ctr:previous',
      field: (r) => r.product_id,
      windowStart: 'window_start',
      redis: sinkRedis,
      logger: quiet,
    })
    await sink.write([result('p', W0)])
    const bad = { ...result('p', W0), window_start: 'soon' as unknown as number }
    const before = await admin.hget('ctr:latest', 'p')
    const error = await sink.write([bad]).catch((e: Error) => e)
    expect((error as Error).message).toBe(
      'redis-latest-previous(ctr:latest,ctr:previous): a result for "p" has no number in window_start (windowStart option)',
    )
    expect(await admin.hget('ctr:latest', 'p')).toBe(before)
    expect(sink.health.outages).toEqual({})
  })
})
