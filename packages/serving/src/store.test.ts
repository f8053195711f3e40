import { describe, expect, it } from 'vitest'
import { ctrChange, parseResult, redisApiError } from './store.js'
import { result } from './test-support.js'

describe('parseResult', () => {
  it('parses a result and keeps extra fields', () => {
    const r = { ...result('p', 0, 4, 1), late_firing: true }
    expect(parseResult(JSON.stringify(r))).toEqual({ ok: true, value: r })
    expect(parseResult(JSON.stringify(result('p', 0, 0, 0)))).toMatchObject({ ok: true, value: { ctr: null } })
  })

  it('rejects what is not a result', () => {
    expect(parseResult('{')).toEqual({ ok: false, reason: 'invalid JSON' })
    for (const bad of ['null', '[]', '{"product_id":"p"}', JSON.stringify({ ...result('p', 0, 1, 1), clicks: -1 })]) {
      expect(parseResult(bad).ok, bad).toBe(false)
    }
  })
})

describe('ctrChange', () => {
  it('is latest.ctr - previous.ctr, or null when either is missing or null', () => {
    expect(ctrChange(result('p', 10, 10, 5), result('p', 0, 10, 1))).toBeCloseTo(0.4, 12)
    expect(ctrChange(result('p', 10, 10, 5), null)).toBeNull()
    expect(ctrChange(null, result('p', 0, 10, 1))).toBeNull()
    expect(ctrChange(result('p', 10, 0, 0), result('p', 0, 10, 1))).toBeNull()
  })
})

describe('redisApiError', () => {
  it('is a 503: redis_error for a reply error, redis_unavailable otherwise', () => {
    const reply = Object.assign(new Error('WRONGTYPE Operation against a key'), { name: 'ReplyError' })
    expect(redisApiError(reply)).toMatchObject({ status: 503, code: 'redis_error' })
    expect(redisApiError(new Error('x'), 'connect ECONNREFUSED 127.0.0.1:6379')).toMatchObject({
      status: 503,
      code: 'redis_unavailable',
      message: 'Redis is unreachable: connection refused', // no address
    })
  })
})
