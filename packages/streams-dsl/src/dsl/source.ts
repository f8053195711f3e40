import type { EventTime } from '../core/event-time.js'
import type { Serde } from '../core/serde.js'

export type { EventTime } from '../core/event-time.js'

/**
 * What a source reads: a topic, how to decode its values, and where event time comes from. Made by {@link topic}.
 *
 * @example
 * const views: SourceSpec<View> = topic('views', { value: json(View), timestamp: (v) => v.at })
 */
export type SourceSpec<T> = {
  /** The Kafka topic. */
  readonly topic: string
  /** Decodes (and validates) a record's value; it types the stream. */
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
  if (typeof name !== 'string' || name === '')
    throw new TypeError(`topic: the topic name must be a non-empty string, e.g. topic('views', { value: json(View) })`)
  if (typeof options?.value?.decode !== 'function')
    throw new TypeError(
      `topic "${name}": value must be a serde that decodes the records, e.g. { value: json(View) } or { value: text() }`,
    )
  return Object.freeze({ topic: name, ...options })
}
