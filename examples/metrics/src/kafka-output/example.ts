import { kafkaSink } from '@ctr/streams-dsl/kafka'
import { type Example, span } from '../harness/example.js'
import { OrderGenerator } from './orders.js'
import { type CategoryRevenue, categoryRevenueTopology } from './topology.js'

const euros = (cents: number) =>
  `€${(cents / 100).toLocaleString('en', { minimumFractionDigits: 2, maximumFractionDigits: 2 })}`

/** `pnpm example kafka-output`. */
export const kafkaOutputExample: Example<CategoryRevenue> = {
  name: 'kafka-output',
  summary:
    'orders, revenue and average order per category every 10 s (tumbling windows, late orders update their window), to a Kafka topic',
  input: 'example-orders',
  output: 'example-category-revenue',
  usesRedis: false,
  results: (ctx) => {
    const topic = ctx.output as string
    return {
      sink: kafkaSink({
        topic,
        brokers: ctx.kafkaBrokers,
        clientId: `${ctx.applicationId}-results`,
        key: (r) => r.category,
      }),
      where: `Kafka topic ${topic} on ${ctx.kafkaBrokers}, a JSON record per category and window, keyed by category`,
    }
  },
  topology: (ctx, results) => categoryRevenueTopology({ applicationId: ctx.applicationId, input: ctx.input, results }),
  producer: (rng, start) => {
    const orders = new OrderGenerator({ rate: 30, delayed: 0.03 }, rng, start)
    return {
      tick: (now) => orders.tick(now).map((o) => ({ key: o.category, value: JSON.stringify(o), timestamp: now })),
    }
  },
  print: (records) => {
    const byWindow = new Map<string, CategoryRevenue[]>()
    for (const r of records) {
      const id = `${r.window_start} ${r.late_update}`
      byWindow.set(id, [...(byWindow.get(id) ?? []), r])
    }
    return [...byWindow.values()].map((rs) => {
      const first = rs[0] as CategoryRevenue
      const cells = [...rs]
        .sort((a, b) => b.revenue_cents - a.revenue_cents)
        .map(
          (r) =>
            `${r.category} ${r.orders} order${r.orders === 1 ? '' : 's'} ${euros(r.revenue_cents)} (avg ${euros(r.average_order_cents)})`,
        )
      return `${span(first.window_start, first.window_end)} UTC${first.late_update ? ' late update' : ''}  ${cells.join(', ')}`
    })
  },
}
