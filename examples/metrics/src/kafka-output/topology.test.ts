import { mulberry32 } from '@ctr/producers'
import type { DeadLetter } from '@ctr/streams-dsl'
import { collectingSink, TestDriver } from '@ctr/streams-dsl/testing'
import { describe, expect, it } from 'vitest'
import { expectedRevenue, sorted } from './oracle.js'
import { OrderGenerator, type SimulatedOrder } from './orders.js'
import { type CategoryRevenue, categoryRevenueTopology } from './topology.js'

const T0 = Date.parse('2025-11-28T12:00:00Z') // a multiple of 10 s
const S = 1_000

function setup(partitions = 1) {
  const results = collectingSink<CategoryRevenue>('results')
  const dlq = collectingSink<DeadLetter>('dlq')
  const t = categoryRevenueTopology({ applicationId: 'revenue-test', input: 'orders', results, deadLetters: dlq })
  const d = new TestDriver(t, { startTime: T0, partitions: { orders: partitions } })
  return { d, results, dlq }
}

const order = (category: string, amount_cents: number, timestamp: number) => ({
  order_id: 'o',
  category,
  amount_cents,
  timestamp,
})

describe('categoryRevenueTopology', () => {
  it('sums orders and revenue per category and window, with the average order', async () => {
    const { d, results } = setup()
    await d.pipe('orders', [
      order('books', 1299, T0 + S),
      order('toys', 2500, T0 + 2 * S),
      order('books', 701, T0 + 9 * S),
    ])
    await d.pipe('orders', [order('toys', 100, T0 + 12 * S)]) // W = 10 s - 1 ms: [0 s, 10 s) closes
    expect(results.records).toEqual([
      {
        category: 'books',
        window_start: T0,
        window_end: T0 + 10 * S,
        orders: 2,
        revenue_cents: 2000,
        average_order_cents: 1000,
        late_update: false,
      },
      {
        category: 'toys',
        window_start: T0,
        window_end: T0 + 10 * S,
        orders: 1,
        revenue_cents: 2500,
        average_order_cents: 2500,
        late_update: false,
      },
    ])
  })

  it('writes the full updated window again for a late order within 5 s, and sends a later one to the dead letters', async () => {
    const { d, results, dlq } = setup()
    await d.pipe('orders', [order('books', 1000, T0 + S), order('books', 1, T0 + 15 * S)]) // W = 13 s - 1 ms
    expect(results.records.map((r) => [r.revenue_cents, r.late_update])).toEqual([[1000, false]])
    await d.pipe('orders', [order('books', 500, T0 + 8 * S)]) // [0 s, 10 s) closed, W < 10 s - 1 ms + 5 s: an update
    expect(results.records.at(-1)).toMatchObject({
      window_start: T0,
      orders: 2,
      revenue_cents: 1500,
      late_update: true,
    })
    await d.pipe('orders', [order('books', 1, T0 + 17 * S)]) // W = 15 s - 1 ms: [0 s, 10 s) is purged
    await d.pipe('orders', [order('books', 700, T0 + 9 * S)])
    expect(dlq.records.map((x) => x.reason)).toEqual(['late_event'])
    expect(JSON.parse(String(dlq.records[0]?.record.value))).toMatchObject({ amount_cents: 700 })
    expect(results.records).toHaveLength(2)
  })

  it('gives exactly the sums of the definition for simulated orders over three partitions', async () => {
    const { d, results, dlq } = setup(3)
    const gen = new OrderGenerator({ rate: 25, delayed: 0 }, mulberry32(9), T0)
    const all: SimulatedOrder[] = []
    for (let now = T0; now <= T0 + 90 * S; now += 200) {
      const orders = gen.tick(now)
      all.push(...orders)
      for (let p = 0; p < 3; p++)
        await d.pipe(
          'orders',
          orders.filter((o) => o.category.length % 3 === p),
          { partition: p },
        )
    }
    await d.advanceWallClock('10s')
    await d.advanceWallClock('1m')
    expect(dlq.records).toEqual([])
    expect(sorted(results.records)).toEqual(expectedRevenue(all))
  })

  it('sends orders with a bad amount to the dead letters', async () => {
    const { d, dlq } = setup()
    await d.pipe('orders', [order('books', 12.5, T0), order('books', -1, T0), { category: 'books', timestamp: T0 }])
    expect(dlq.records.map((x) => x.reason)).toEqual(['invalid_event', 'invalid_event', 'invalid_event'])
    expect(dlq.records[0]?.message).toMatch(/amount_cents/)
  })
})
