import { z } from 'zod'
import { ProductId } from './contract.js'

/**
 * Event time as docs/contract.md §1.2 allows it: epoch milliseconds, or an ISO-8601 date-time with `Z` or
 * an offset; absent or null means "use the Kafka record timestamp". Parsed to epoch ms.
 */
export const EventTimestamp = z
  .union([z.number().nonnegative(), z.iso.datetime({ offset: true }).transform((s) => Date.parse(s))])
  .nullish()

const fields = {
  // The rule the API applies too (contract.ts): 1-128 code points, no control characters or lone surrogates.
  product_id: ProductId,
  timestamp: EventTimestamp,
}

/**
 * An impression: `{"event_id", "product_id", "user_id", "timestamp"}`. Only `product_id` and `timestamp`
 * are read (and validated); other fields, known or not, are ignored.
 *
 * @example
 * ImpressionEvent.parse({ event_id: 'e1', product_id: 'p-17', user_id: 'u-9', timestamp: 1764330001234 })
 */
export const ImpressionEvent = z.object(fields)

/**
 * A click: the same fields as an impression, plus an optional, unused `impression_id`.
 *
 * @example
 * ClickEvent.parse({ product_id: 'p-17', timestamp: '2025-11-28T12:00:01.234Z', impression_id: 'e1' })
 */
export const ClickEvent = z.object({ ...fields, impression_id: z.string().optional() })

/** A validated impression. */
export type ImpressionEvent = z.output<typeof ImpressionEvent>
/** A validated click. */
export type ClickEvent = z.output<typeof ClickEvent>
