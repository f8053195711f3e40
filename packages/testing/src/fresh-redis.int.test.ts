import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { freshRedis, redisUrl, type TestRedis } from './index.js'

describe('freshRedis', () => {
  let outer: TestRedis

  beforeAll(async () => {
    outer = await freshRedis()
  })
  afterAll(async () => {
    await outer.release()
  })

  it('gives parallel callers distinct, empty databases and frees them afterwards', async () => {
    const clients = await Promise.all(Array.from({ length: 4 }, () => freshRedis()))
    const dbs = [outer.db, ...clients.map((c) => c.db)]
    expect(new Set(dbs).size).toBe(dbs.length)
    for (const c of clients) {
      expect(c.url).toBe(`${redisUrl().replace(/\/\d*$/, '')}/${c.db}`)
      expect(await c.dbsize()).toBe(0)
      await c.set('marker', String(c.db))
    }
    // Writes stay in each client's own database.
    for (const c of clients) expect(await c.get('marker')).toBe(String(c.db))
    expect(await outer.get('marker')).toBeNull()
    await Promise.all(clients.map((c) => c.release()))
    // Released databases can be leased again, and come back empty.
    const again = await freshRedis()
    expect(await again.dbsize()).toBe(0)
    await again.release()
  })

  it('releases a database taken inside a test when the test ends', async () => {
    const r = await freshRedis()
    await r.set('k', 'v')
    expect(await r.get('k')).toBe('v')
  })
})
