import { describe, expect, it } from 'vitest'
import { DecodeError } from '../core/serde.js'
import { describeTime, parseEventTime } from './time.js'

describe('event time', () => {
  it('takes epoch ms, ISO-8601 (no offset = UTC), or falls back to the record timestamp', () => {
    expect(parseEventTime(1764330001234, 0)).toBe(1764330001234)
    expect(parseEventTime('2025-11-28T12:00:01.234Z', 0)).toBe(Date.UTC(2025, 10, 28, 12, 0, 1, 234))
    expect(parseEventTime('2025-11-28T13:00:01.234+01:00', 0)).toBe(Date.UTC(2025, 10, 28, 12, 0, 1, 234))
    expect(parseEventTime('2025-11-28T12:00:01', 0)).toBe(Date.UTC(2025, 10, 28, 12, 0, 1))
    expect(parseEventTime('2025-11-28', 0)).toBe(Date.UTC(2025, 10, 28))
    expect(parseEventTime(undefined, 42)).toBe(42)
    expect(parseEventTime(null, 42)).toBe(42)
  })

  it('rejects anything else as invalid_event', () => {
    for (const bad of [
      'yesterday',
      '1764330001234',
      '2025-13-45T99:99:99Z',
      Number.NaN,
      Number.POSITIVE_INFINITY,
      true,
      {},
    ]) {
      expect(() => parseEventTime(bad, 0)).toThrow(DecodeError)
    }
  })

  it('describes times for status sentences', () => {
    expect(describeTime(Date.UTC(2025, 0, 1, 12, 0, 9, 999))).toBe('12:00:09.999')
    expect(describeTime(Date.UTC(2025, 0, 1), Date.UTC(2025, 0, 2))).toBe('2025-01-01T00:00:00.000Z')
    expect(describeTime(Number.NEGATIVE_INFINITY)).toBe('-infinity')
  })
})
