import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { type Aggregation, avg, count, max, min, reducing, sum, sumOf, topN } from './aggregations.js'

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

describe('topN', () => {
  type E = { id: string; amount: number }
  const fold = (agg: ReturnType<typeof topN<E>>, events: readonly E[]) =>
    agg.result(events.reduce((acc, e) => agg.add(acc, e), agg.init()))
  /** Reference: every key's score, sorted best first (ties by key), the first n. */
  const reference = (n: number, events: readonly E[], byAmount: boolean) => {
    const scores = new Map<string, number>()
    for (const e of events) scores.set(e.id, (scores.get(e.id) ?? 0) + (byAmount ? e.amount : 1))
    const all = [...scores].map(([key, score]) => ({ key, score }))
    all.sort((a, b) => b.score - a.score || (a.key < b.key ? -1 : 1))
    return { top: all.slice(0, n), keys: all.length, total: [...scores.values()].reduce((s, x) => s + x, 0) }
  }
  const events = fc.array(
    fc.record({
      id: fc.constantFrom('a', 'b', 'c', 'd', 'e', 'f', '__proto__', 'constructor', 'toString'),
      amount: fc.integer({ min: -5, max: 20 }),
    }),
    { maxLength: 60 },
  )

  it('ranks as sorting every key by score then key would, counted or scored (property)', () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 10 }), events, fc.boolean(), (n, es, byAmount) => {
        const agg = topN<E>({ n, key: (e) => e.id, ...(byAmount && { score: (e: E) => e.amount }) })
        expect(fold(agg, es)).toEqual(reference(n, es, byAmount))
      }),
    )
  })

  it('merges accumulators (session windows) and survives a JSON round trip (a snapshot) (property)', () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 5 }), events, events, (n, xs, ys) => {
        const agg = topN<E>({ n, key: (e) => e.id, score: (e) => e.amount })
        const a = xs.reduce((acc, e) => agg.add(acc, e), agg.init())
        const b = JSON.parse(JSON.stringify(ys.reduce((acc, e) => agg.add(acc, e), agg.init())))
        expect(agg.result(agg.merge!(a, b))).toEqual(reference(n, [...xs, ...ys], true))
      }),
    )
  })

  it('says what is wrong with its options or a score', () => {
    expect(() => topN({ n: 0, key: String })).toThrow(/n must be a whole number >= 1, got 0/)
    expect(() => topN({ n: 2.5, key: String })).toThrow(/n must be a whole number/)
    expect(() => topN({ n: 3, key: 'id' as never })).toThrow(/key must be a function/)
    const agg = topN<E>({ n: 3, key: (e) => e.id, score: (e) => e.amount / 0 - e.amount / 0 })
    expect(() => agg.add(agg.init(), { id: 'x', amount: 1 })).toThrow(/score of an event for key "x" is NaN/)
  })
})
