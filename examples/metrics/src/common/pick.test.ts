import { mulberry32 } from '@ctr/producers'
import { describe, expect, it } from 'vitest'
import { between, zipfPicker } from './pick.js'

describe('zipfPicker', () => {
  it('picks every index, the first most often, in proportion to 1 / (i + 1)^s', () => {
    const pick = zipfPicker(4, 1, mulberry32(1))
    const counts = [0, 0, 0, 0]
    for (let k = 0; k < 100_000; k++) counts[pick()]!++
    // weights 1, 1/2, 1/3, 1/4 of 25/12: shares 0.48, 0.24, 0.16, 0.12
    expect(counts.map((c) => Math.round(c / 1000))).toEqual([48, 24, 16, 12])
  })

  it('is uniform with s = 0 and rejects an empty range', () => {
    const pick = zipfPicker(2, 0, mulberry32(2))
    let zeros = 0
    for (let k = 0; k < 10_000; k++) if (pick() === 0) zeros++
    expect(Math.round(zeros / 1000)).toBe(5)
    expect(() => zipfPicker(0, 1, mulberry32(1))).toThrow(/n must be a whole number >= 1/)
  })
})

describe('between', () => {
  it('stays within the bounds, both included', () => {
    const rng = mulberry32(3)
    const seen = new Set<number>()
    for (let k = 0; k < 1000; k++) seen.add(between(rng, 2, 4))
    expect([...seen].sort()).toEqual([2, 3, 4])
  })
})
