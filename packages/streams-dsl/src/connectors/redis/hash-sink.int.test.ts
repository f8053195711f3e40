import { freshRedis } from '@ctr/testing'
import { describe, expect, it } from 'vitest'
import { createSinkRedis } from './connection.js'
import { redisHash } from './hash-sink.js'

describe('redisHash', () => {
  it('upserts a large batch (last value per field wins) and is idempotent', async () => {
    const redis = await freshRedis()
    const client = createSinkRedis(redis.url)
    try {
      const sink = redisHash<{ id: number; v: string }>({
        key: (r) => `h:${r.id % 2}`,
        field: (r) => String(r.id % 30_000),
        value: (r) => r.v,
        redis: client,
      })
      const records = Array.from({ length: 120_000 }, (_, i) => ({ id: i, v: `v${i}` }))
      await sink.write(records)
      await sink.write(records)
      expect(await redis.hlen('h:0')).toBe(15_000)
      expect(await redis.hlen('h:1')).toBe(15_000)
      expect(await redis.hget('h:0', '2')).toBe('v90002')
      expect(await redis.hget('h:1', '29999')).toBe('v119999')
    } finally {
      await client.quit()
    }
  })
})
