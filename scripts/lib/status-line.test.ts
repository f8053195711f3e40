import { describe, expect, it } from 'vitest'
import { formatStatusLine, jobFigures } from './status-line.js'

const counters = { eventsIn: 1000, late: 3, deadLetters: 12, windowsEmitted: 380, lateFirings: 2 }

describe('jobFigures', () => {
  it('reads the engine status at the top level or under engine', () => {
    const top = jobFigures({ watermark: 1_764_330_003_000, counters })
    expect(top).toEqual({ ...counters, watermark: 1_764_330_003_000 })
    expect(jobFigures({ engine: { watermark: null, counters } })).toEqual({ ...counters, watermark: null })
  })

  it('returns null for anything else', () => {
    expect(jobFigures('ok')).toBeNull()
    expect(jobFigures({ status: 'ok' })).toBeNull()
    expect(jobFigures(null)).toBeNull()
  })
})

describe('formatStatusLine', () => {
  it('shows the rate since the previous sample, the watermark and its lag, and the counters', () => {
    const wall = Date.UTC(2025, 10, 28, 12, 0, 7, 100)
    const now = { ...counters, eventsIn: 3408, watermark: Date.UTC(2025, 10, 28, 12, 0, 3) }
    const line = formatStatusLine(now, { ...counters, watermark: null }, 2000, wall)
    expect(line).toBe('1,204 ev/s | watermark 12:00:03 UTC (-4.1 s) | windows 380 (+2 late) | late 3 | DLQ 12')
  })

  it('shows no rate on the first sample and a dash before the first watermark', () => {
    expect(formatStatusLine({ ...counters, watermark: null }, null, 0, 0)).toMatch(/^0 ev\/s \| watermark - \|/)
  })
})
