import { describe, expect, it } from 'vitest'
import { CheckpointHealth } from './checkpoint-health.js'

const T0 = Date.parse('2025-01-01T12:00:00Z')

describe('CheckpointHealth', () => {
  it('is degraded from the first failure until the next success, with the reason and the age since the last success', () => {
    const h = new CheckpointHealth(T0)
    expect(h.degradedReason(T0 + 1000)).toBeUndefined()
    expect(h.ageSeconds(T0 + 4000)).toBe(4)
    h.success(T0 + 5000)
    h.failure(new Error('checkpoint of task 0 is 900 bytes'), T0 + 10_000)
    h.failure(new Error('checkpoint of task 0 is 901 bytes'), T0 + 15_000)
    expect(h.degradedReason(T0 + 17_000)).toBe(
      'checkpoints failing: 2 in a row for 7 s (last success: 2025-01-01T12:00:05.000Z), so no offset is committed and a restart re-reads from the last commit; last error: checkpoint of task 0 is 901 bytes',
    )
    expect(h.status(T0 + 17_000)).toEqual({
      succeeded: 1,
      failed: 2,
      consecutiveFailures: 2,
      lastSuccessAt: T0 + 5000,
      ageSeconds: 12,
      error: 'checkpoint of task 0 is 901 bytes',
    })
    h.success(T0 + 20_000)
    expect(h.degradedReason(T0 + 20_000)).toBeUndefined()
    expect(h.status(T0 + 21_000)).toEqual({
      succeeded: 2,
      failed: 2,
      consecutiveFailures: 0,
      lastSuccessAt: T0 + 20_000,
      ageSeconds: 1,
    })
  })

  it('says when no checkpoint ever succeeded', () => {
    const h = new CheckpointHealth(T0)
    h.failure(new Error('x'), T0 + 1000)
    expect(h.degradedReason(T0 + 1000)).toContain('(last success: none since the start)')
  })
})
