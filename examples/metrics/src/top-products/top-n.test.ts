import { describe, expect, it } from 'vitest'
import { topByClicks } from './top-n.js'

const fold = (n: number, ids: readonly string[]) => {
  const agg = topByClicks(n)
  return agg.result(ids.reduce((acc, product_id) => agg.add(acc, { product_id }), agg.init()))
}

describe('topByClicks', () => {
  it('ranks by clicks, then by product id, and counts every product and click', () => {
    expect(fold(2, ['b', 'a', 'c', 'c', 'a', 'd'])).toEqual({
      top: [
        { product_id: 'a', clicks: 2 },
        { product_id: 'c', clicks: 2 },
      ],
      products: 4,
      clicks: 6,
    })
    expect(fold(10, ['x']).top).toEqual([{ product_id: 'x', clicks: 1 }])
  })

  it('counts product ids that are names of object properties like any other', () => {
    expect(fold(3, ['__proto__', 'constructor', '__proto__', 'toString']).top).toEqual([
      { product_id: '__proto__', clicks: 2 },
      { product_id: 'constructor', clicks: 1 },
      { product_id: 'toString', clicks: 1 },
    ])
  })

  it('merges two accumulators into the counts of both, and survives a JSON round trip (a snapshot)', () => {
    const agg = topByClicks(3)
    const a = agg.add(agg.add(agg.init(), { product_id: '__proto__' }), { product_id: 'p' })
    const b = JSON.parse(JSON.stringify(agg.add(agg.add(agg.init(), { product_id: 'p' }), { product_id: '__proto__' })))
    expect(agg.result(agg.merge!(a, agg.add(b, { product_id: 'q' })))).toEqual({
      top: [
        { product_id: '__proto__', clicks: 2 },
        { product_id: 'p', clicks: 2 },
        { product_id: 'q', clicks: 1 },
      ],
      products: 3,
      clicks: 5,
    })
  })

  it('rejects a top of no products', () => {
    expect(() => topByClicks(0)).toThrow(/n must be a whole number >= 1/)
  })
})
