/**
 * Test oracle of the kafka-output example: sums per category and window straight from the orders, sharing no
 * code with the topology or the DSL.
 */
import type { CategoryRevenue } from './topology.js'

const S = 1_000

/** Orders and revenue per category and 10 s window, summed straight from the orders. */
export function expectedRevenue(
  orders: readonly { category: string; amount_cents: number; timestamp: number }[],
): CategoryRevenue[] {
  const sums = new Map<string, { category: string; start: number; orders: number; cents: number }>()
  for (const o of orders) {
    const start = o.timestamp - (o.timestamp % (10 * S))
    const id = `${start} ${o.category}`
    const s = sums.get(id) ?? { category: o.category, start, orders: 0, cents: 0 }
    sums.set(id, { ...s, orders: s.orders + 1, cents: s.cents + o.amount_cents })
  }
  return sorted(
    [...sums.values()].map((s) => ({
      category: s.category,
      window_start: s.start,
      window_end: s.start + 10 * S,
      orders: s.orders,
      revenue_cents: s.cents,
      average_order_cents: s.cents / s.orders,
      late_update: false,
    })),
  )
}

/** Results by window, then category. */
export const sorted = (rs: readonly CategoryRevenue[]) =>
  [...rs].sort(
    (a, b) => a.window_start - b.window_start || (a.category < b.category ? -1 : a.category > b.category ? 1 : 0),
  )
