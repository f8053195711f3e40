import { describe, expect, it } from 'vitest'
import { redisLatestPrevious } from './latest-previous-sink.js'

type R = { page: string; from: number; label: string }
const ok = { latest: 'v:latest', previous: 'v:previous', field: (r: R) => r.page, windowStart: 'from' } as const

describe('redisLatestPrevious options', () => {
  it('says which option is wrong and what a right one looks like', () => {
    expect(() => redisLatestPrevious<R>({ ...ok, latest: '' })).toThrow(
      "redisLatestPrevious: latest must name a Redis hash, e.g. { latest: 'views:latest' }",
    )
    expect(() => redisLatestPrevious<R>({ ...ok, previous: 'v:latest' })).toThrow(
      'redisLatestPrevious: latest and previous must be two different hashes, both are "v:latest"',
    )
    expect(() => redisLatestPrevious<R>({ ...ok, field: undefined as never })).toThrow(
      'redisLatestPrevious: field must be a function of a result giving its key, e.g. { field: (r) => r.page }',
    )
    expect(() => redisLatestPrevious<R>({ ...ok, windowStart: 'label' as never })).not.toThrow() // typed away
    expect(() => redisLatestPrevious<R>({ ...ok, windowStart: 'window.start' as never })).toThrow(
      `redisLatestPrevious: windowStart must name a property of the result holding epoch ms, e.g. { windowStart: 'window_start' }; got "window.start"`,
    )
  })

  it('creates no connection until the first write', async () => {
    const sink = redisLatestPrevious<R>({ ...ok })
    await sink.close?.()
    expect(sink.health.current.state).toBe('ok')
  })
})
