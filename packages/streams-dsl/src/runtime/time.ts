import { DecodeError } from '../core/serde.js'

const ISO = /^\d{4}-\d{2}-\d{2}(T\d{2}:\d{2}(?::\d{2}(?:\.\d{1,9})?)?(Z|[+-]\d{2}:?\d{2})?)?$/

/**
 * Event time from what a timestamp extractor returned: epoch ms, an ISO-8601 string, or null/undefined for
 * the record timestamp. Throws a {@link DecodeError} (`invalid_event`) for anything else.
 */
export function parseEventTime(raw: unknown, recordTimestamp: number): number {
  if (typeof raw === 'number') {
    if (Number.isFinite(raw)) return raw
    throw new DecodeError('invalid_event', `timestamp ${raw} is not a finite number of epoch ms`)
  }
  if (raw === undefined || raw === null) return recordTimestamp
  if (typeof raw === 'string') {
    // Date.parse accepts more than ISO-8601; require the ISO shape so "12" or "May 1" are rejected.
    // A date-time without an offset is read as UTC (Date.parse would take the machine's local time).
    const m = ISO.exec(raw)
    const ms = m === null ? Number.NaN : Date.parse(m[1] && !m[2] ? `${raw}Z` : raw)
    if (Number.isFinite(ms)) return ms
    throw new DecodeError('invalid_event', `timestamp "${raw.slice(0, 64)}" is neither epoch ms nor ISO-8601`)
  }
  throw new DecodeError('invalid_event', `timestamp of type ${typeof raw} is neither epoch ms nor ISO-8601`)
}

/** `HH:MM:SS.mmm` (UTC) of an epoch-ms time, for status sentences; full ISO when not today. */
export function describeTime(ms: number, now?: number): string {
  if (!Number.isFinite(ms)) return ms > 0 ? '+infinity' : '-infinity'
  const iso = new Date(ms).toISOString()
  if (now !== undefined && new Date(now).toISOString().slice(0, 10) !== iso.slice(0, 10)) return iso
  return iso.slice(11, 23)
}

/** The event time a timestamp extractor returned: a finite number as is, else parsed (ISO-8601), else `fallback`. */
export function eventTime(raw: unknown, fallback: number): number {
  return typeof raw === 'number' && raw - raw === 0 ? raw : parseEventTime(raw, fallback)
}
