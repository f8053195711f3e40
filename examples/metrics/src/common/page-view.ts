import { z } from 'zod'
import { EventTimestamp } from './event-time.js'

/**
 * A page view: `{"page": "/products/p-3", "user_id": "u-17", "timestamp": 1764330001234}`. `timestamp` is
 * the event time (epoch ms or ISO-8601; absent or null: the Kafka record timestamp). Other fields are ignored.
 *
 * @example
 * PageView.parse({ page: '/', user_id: 'u-1', timestamp: 1764330001234 })
 */
export const PageView = z.object({
  page: z.string().min(1).max(512),
  user_id: z.string().min(1).max(128),
  timestamp: EventTimestamp,
})

/** A validated page view. */
export type PageView = z.output<typeof PageView>
