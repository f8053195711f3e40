import { describe, expect, it } from 'vitest'
import { waitFor } from './wait.js'

describe('waitFor', () => {
  it('returns the first truthy value of the predicate', async () => {
    let calls = 0
    const value = await waitFor(() => (++calls >= 3 ? `done after ${calls}` : null), { intervalMs: 1 })
    expect(value).toBe('done after 3')
  })

  it('times out with the message and the last error', async () => {
    await expect(
      waitFor(
        () => {
          throw new Error('not yet')
        },
        { timeoutMs: 30, intervalMs: 5, message: 'the answer' },
      ),
    ).rejects.toThrow(/the answer not met within 30 ms \(last error: not yet\)/)
  })
})
