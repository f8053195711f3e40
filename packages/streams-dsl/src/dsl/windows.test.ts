import { describe, expect, it } from 'vitest'
import { hopping, tumbling, windowStarts } from './windows.js'

const starts = (spec: ReturnType<typeof tumbling>, ts: number) => {
  const out: number[] = []
  const n = windowStarts(spec, ts, out)
  return out.slice(0, n)
}

describe('window assigner', () => {
  it('tumbling: start = floor(ts / S) * S, end exclusive', () => {
    const w = tumbling('10s')
    expect(starts(w, 0)).toEqual([0])
    expect(starts(w, 9_999)).toEqual([0])
    expect(starts(w, 10_000)).toEqual([10_000])
    expect(starts(w, 1_764_330_001_234)).toEqual([1_764_330_000_000])
    expect(starts(w, -1)).toEqual([-10_000])
  })

  it('hopping: every window of size S starting at a multiple of the advance that contains ts', () => {
    const w = hopping({ size: '10s', advance: '5s' })
    expect(starts(w, 12_000)).toEqual([5_000, 10_000])
    expect(starts(w, 10_000)).toEqual([5_000, 10_000])
    expect(starts(w, 9_999)).toEqual([0, 5_000])
    const thirds = hopping({ size: 3000, advance: 1000 })
    expect(starts(thirds, 2500)).toEqual([0, 1000, 2000])
    const uneven = hopping({ size: 2500, advance: 1000 })
    expect(starts(uneven, 2600)).toEqual([1000, 2000])
  })

  it('rejects sizes that cannot work, with a one-line message', () => {
    expect(() => tumbling(0)).toThrow('tumbling window size must be positive')
    expect(() => hopping({ size: '5s', advance: '10s' })).toThrow(
      'hopping window advance 10000ms exceeds its size 5000ms, which would leave gaps between windows: use an advance of at most the size (tumbling(size) when they are equal)',
    )
    expect(() => tumbling('ten seconds' as never)).toThrow('is not a duration')
  })
})
