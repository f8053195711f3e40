import { describe, expect, it } from 'vitest'
import type { OutRecord } from './generator.js'
import { countSent, emptyStats, formatProgress } from './progress.js'

describe('progress', () => {
  it('counts records by stream and kind and formats a one-line summary', () => {
    const stats = emptyStats()
    const rec = (stream: OutRecord['stream'], kind: OutRecord['kind']): OutRecord => ({
      stream,
      kind,
      key: 'p',
      value: '',
    })
    countSent(stats, [rec('impressions', 'in_order'), rec('impressions', 'late'), rec('clicks', 'malformed')])
    stats.errors = 2
    expect(stats).toMatchObject({ sent: 3, impressions: 2, clicks: 1, errors: 2 })
    const line = formatProgress(stats, 1, 500)
    expect(line).toContain('sent 3 (impressions 2, clicks 1)')
    expect(line).toContain('4 ev/s')
    expect(line).toContain('errors 2')
    expect(line).toContain('late 1')
    expect(line).toContain('malformed 1')
    expect(line).not.toContain('\n')
  })
})
