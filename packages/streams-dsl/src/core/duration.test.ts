import { describe, expect, it } from 'vitest'
import { formatDuration, toMillis } from './duration.js'

describe('durations', () => {
  it('parses numbers and unit strings', () => {
    expect(toMillis(250)).toBe(250)
    expect(toMillis('250ms')).toBe(250)
    expect(toMillis('10s')).toBe(10_000)
    expect(toMillis('1.5s')).toBe(1500)
    expect(toMillis('5m')).toBe(300_000)
    expect(toMillis('1h')).toBe(3_600_000)
    expect(toMillis('1d')).toBe(86_400_000)
  })

  it('rejects anything else naming the setting', () => {
    expect(() => toMillis('10 parsecs' as never, 'idleTimeout')).toThrow('idleTimeout: "10 parsecs" is not a duration')
    expect(() => toMillis(-1)).toThrow('non-negative')
    expect(() => toMillis(Number.NaN)).toThrow()
  })

  it('formats compactly', () => {
    expect(formatDuration(10_000)).toBe('10s')
    expect(formatDuration(300_000)).toBe('5m')
    expect(formatDuration(1500)).toBe('1500ms')
    expect(formatDuration(0)).toBe('0ms')
  })
})
