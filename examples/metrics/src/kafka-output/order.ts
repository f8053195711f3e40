import { z } from 'zod'
import { EventTimestamp } from '../common/event-time.js'

/**
 * An order: `{"order_id": "o-1", "category": "books", "amount_cents": 1299, "timestamp": 1764330001234}`.
 * Amounts are whole cents, so sums are exact.
 *
 * @example
 * Order.parse({ order_id: 'o-1', category: 'books', amount_cents: 1299, timestamp: 1764330001234 })
 */
export const Order = z.object({
  category: z.string().min(1).max(64),
  amount_cents: z.number().int().nonnegative().max(Number.MAX_SAFE_INTEGER),
  timestamp: EventTimestamp,
})

/** A validated order. */
export type Order = z.output<typeof Order>
