import { describe, expect, it } from 'vitest'
import { publicReason } from './errors.js'

describe('publicReason', () => {
  it('says what went wrong, never where', () => {
    expect(publicReason('connect ECONNREFUSED 127.0.0.1:6379')).toBe('connection refused')
    expect(publicReason('getaddrinfo ENOTFOUND redis.internal')).toBe('host not found')
    expect(publicReason('connect ETIMEDOUT 10.0.0.5:6379')).toBe('timed out')
    expect(publicReason('The operation was aborted due to timeout')).toBe('timed out')
    expect(publicReason('read ECONNRESET')).toBe('connection lost')
    expect(publicReason("Stream isn't writeable and enableOfflineQueue options is false")).toBe('connection lost')
    expect(publicReason('WRONGPASS invalid username-password pair')).toBe('authentication failed')
    for (const odd of [
      'MOVED 3999 127.0.0.1:6381',
      'weird failure at redis://user:pw@cache.internal:6380/2 now',
      'peer [::1]:6379 said no',
      'node cache-1.internal:6379 is gone',
    ]) {
      const reason = publicReason(odd)
      expect(reason, odd).not.toMatch(/127\.0\.0\.1|::1|internal|:\d{2,5}|redis:\/\//)
      expect(reason, odd).toContain('<address>')
    }
    expect(publicReason('WRONGTYPE Operation against a key holding the wrong kind of value')).toBe(
      'WRONGTYPE Operation against a key holding the wrong kind of value',
    )
  })
})
