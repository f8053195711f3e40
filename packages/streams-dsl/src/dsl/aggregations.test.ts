import { describe, expect, it } from 'vitest'
import { type Aggregation, avg, count, max, min, reducing, sum, sumOf } from './aggregations.js'

function fold<T, A, R>(agg: Aggregation<T, A, R>, values: T[]): R {
  let acc = agg.init()
  for (const v of values) acc = agg.add(acc, v)
  return agg.result(JSON.parse(JSON.stringify(acc))) // accumulators must survive a snapshot
}

describe('built-in aggregations', () => {
  it('count, sum, avg, min, max, reduce', () => {
    const xs = [{ n: 3 }, { n: -1 }, { n: 4 }]
    expect(fold(count(), xs)).toBe(3)
    expect(
      fold(
        sum((x: { n: number }) => x.n),
        xs,
      ),
    ).toBe(6)
    expect(
      fold(
        avg((x: { n: number }) => x.n),
        xs,
      ),
    ).toBe(2)
    expect(
      fold(
        min((x: { n: number }) => x.n),
        xs,
      ),
    ).toBe(-1)
    expect(
      fold(
        max((x: { n: number }) => x.n),
        xs,
      ),
    ).toBe(4)
    expect(
      fold(
        reducing((a: { n: number }, b: { n: number }) => (a.n > b.n ? a : b)),
        xs,
      ),
    ).toEqual({ n: 4 })
  })

  it('sumOf sums several fields; results are copies the accumulator does not change later', () => {
    const agg = sumOf('impressions', 'clicks')
    const acc = agg.init()
    agg.add(acc, { impressions: 1, clicks: 0 })
    const first = agg.result(acc)
    agg.add(acc, { impressions: 0, clicks: 1 })
    expect(first).toEqual({ impressions: 1, clicks: 0 })
    expect(agg.result(acc)).toEqual({ impressions: 1, clicks: 1 })
  })

  it('sumOf works with field names that are not identifiers', () => {
    const agg = sumOf('a-b', 'c d')
    expect(
      fold(agg, [
        { 'a-b': 1, 'c d': 2 },
        { 'a-b': 3, 'c d': 4 },
      ]),
    ).toEqual({ 'a-b': 4, 'c d': 6 })
  })

  it('merge combines partial accumulators', () => {
    const s = sumOf('x')
    expect(s.merge?.({ x: 1 }, { x: 2 })).toEqual({ x: 3 })
    expect(avg((v: number) => v).merge?.({ sum: 1, count: 1 }, { sum: 3, count: 1 })).toEqual({ sum: 4, count: 2 })
    expect(min((v: number) => v).merge?.(null, 3)).toBe(3)
    expect(count().merge?.(2, 5)).toBe(7)
  })
})
