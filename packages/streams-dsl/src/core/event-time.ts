/**
 * Event time as a payload carries it: epoch ms, an ISO-8601 string, or absent (then the record timestamp is used).
 *
 * @example
 * topic('views', { value: json(View), timestamp: (v): EventTime => v.at }) // 1735732800000 or '2025-01-01T12:00:00Z'
 */
export type EventTime = number | string | null | undefined
