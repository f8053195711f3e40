import { describe, expect, it } from 'vitest'
import { WeightedQuantiles } from './weighted-quantiles.js'

describe('WeightedQuantiles', () => {
  it('weighs each sample by its events and forgets samples older than the window', () => {
    const q = new WeightedQuantiles(60_000)
    q.add(10, 99, 0) // 99 results written 10 ms after their window passed
    q.add(500, 1, 0) // one late straggler
    expect(q.quantile(0.5, 0)).toBe(10)
    expect(q.quantile(0.99, 0)).toBe(10)
    expect(q.quantile(1, 0)).toBe(500)
    q.add(20, 300, 30_000)
    expect(q.quantile(0.5, 30_000)).toBe(20)
    expect(q.quantile(0.99, 61_000)).toBe(20) // the first two are out of the window
    expect(q.quantile(0.5, 100_000)).toBeNull()
  })
})
