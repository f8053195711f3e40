import { mulberry32 } from '@ctr/producers'
import { describe, expect, it } from 'vitest'
import { Order } from '../kafka-output/order.js'
import { CATEGORIES, OrderGenerator } from '../kafka-output/orders.js'
import { Click } from '../top-products/click.js'
import { ClickGenerator, type SimulatedClick } from '../top-products/clicks.js'

describe('ClickGenerator', () => {
  it('sends the rate, valid clicks, the favourite moving on every trend period', () => {
    const gen = new ClickGenerator({ rate: 200, products: 10, users: 5, trendEveryMs: 60_000 }, mulberry32(1), 0)
    const clicks: SimulatedClick[] = []
    for (let now = 0; now < 120_000; now += 100) clicks.push(...gen.tick(now))
    expect(clicks).toHaveLength(200 * 119.9)
    for (const c of clicks.slice(0, 100)) expect(Click.parse(c)).toMatchObject({ product_id: c.product_id })
    const favourite = (from: number) => {
      const counts = new Map<string, number>()
      for (const c of clicks.filter((c) => c.timestamp >= from && c.timestamp < from + 60_000))
        counts.set(c.product_id, (counts.get(c.product_id) ?? 0) + 1)
      return [...counts].sort((a, b) => b[1] - a[1])[0]?.[0]
    }
    expect([favourite(0), favourite(60_000)]).toEqual(['p-1', 'p-2'])
  })
})

describe('OrderGenerator', () => {
  it('sends the rate, valid orders priced within their category, some stamped 3-12 s early', () => {
    const T0 = Date.parse('2025-11-28T12:00:00Z')
    const gen = new OrderGenerator({ rate: 100, delayed: 0.1 }, mulberry32(2), T0)
    let delayed = 0
    let total = 0
    for (let now = T0; now < T0 + 60_000; now += 200) {
      for (const o of gen.tick(now)) {
        total++
        expect(Order.parse(o)).toMatchObject({ category: o.category })
        const range = CATEGORIES.find((c) => c.name === o.category)!.cents
        expect(o.amount_cents).toBeGreaterThanOrEqual(range.min)
        expect(o.amount_cents).toBeLessThanOrEqual(range.max)
        if (o.timestamp !== now) {
          delayed++
          expect(now - o.timestamp).toBeGreaterThanOrEqual(3_000)
          expect(now - o.timestamp).toBeLessThanOrEqual(12_000)
        }
      }
    }
    expect(total).toBe(100 * 59.8)
    expect(Math.round((delayed / total) * 100)).toBe(10)
  })
})
