import { z } from 'zod'

/**
 * Event time as a payload carries it: epoch ms, or an ISO-8601 date-time with `Z` or an offset; absent or
 * null means the Kafka record timestamp. The DSL reads all three, so no transform is needed.
 *
 * @example
 * z.object({ timestamp: EventTimestamp }).parse({ timestamp: '2025-11-28T12:00:01.234Z' })
 */
export const EventTimestamp = z.union([z.number().int().nonnegative(), z.iso.datetime({ offset: true })]).nullish()
