import type { Serde } from './serde.js'

/** Event time as a payload carries it: epoch ms, an ISO-8601 string, or absent (then the record timestamp is used). */
export type EventTime = number | string | null | undefined

/** What a source reads: a topic, how to decode its values, and where event time comes from. */
export type SourceSpec<T> = {
  readonly topic: string
  readonly value: Serde<T>
  /** Extracts event time from a decoded value; absent or returning null/undefined means the record timestamp. */
  readonly timestamp?: (value: T) => EventTime
}

/**
 * Describes an input topic.
 *
 * @example
 * app.source(topic('impressions', { value: json(Impression), timestamp: (e) => e.timestamp }))
 */
export function topic<T>(name: string, options: Omit<SourceSpec<T>, 'topic'>): SourceSpec<T> {
  if (!name) throw new TypeError('topic: the topic name must not be empty')
  return Object.freeze({ topic: name, ...options })
}
