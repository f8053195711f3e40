import { z } from 'zod'
import { EventTimestamp } from '../common/event-time.js'

/**
 * A click on a product: `{"product_id": "p-3", "user_id": "u-17", "timestamp": 1764330001234}` — the CTR
 * pipeline's click format, so this example can also read its `clicks` topic. Only `product_id` and
 * `timestamp` are read; other fields are ignored.
 *
 * @example
 * Click.parse({ event_id: 'c-1', product_id: 'p-3', user_id: 'u-17', timestamp: 1764330001234 })
 */
export const Click = z.object({
  product_id: z.string().min(1).max(128),
  timestamp: EventTimestamp,
})

/** A validated click. */
export type Click = z.output<typeof Click>
