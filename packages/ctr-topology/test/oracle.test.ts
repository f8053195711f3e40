import { describe, expect, it } from 'vitest'
import { buildPhases } from './dataset.js'
import { expectedOutcome, type ProducedRecord } from './oracle.js'

const T = Date.parse('2026-11-28T11:00:00Z')
const NOW = T + 600_000
const w = (k: number) => ({ window_start: T + 10_000 * k, window_end: T + 10_000 * (k + 1) })
const r = (topic: ProducedRecord['topic'], partition: number, product: string, ts: number): ProducedRecord => ({
  topic,
  partition,
  key: product,
  value: JSON.stringify({ product_id: product, timestamp: ts }),
  recordTimestamp: NOW,
})

describe('oracle', () => {
  it('computes latest/previous and late events on a small hand-checked case', () => {
    const out = expectedOutcome(
      [
        [r('impressions', 0, 'a', T + 1000), r('impressions', 0, 'a', T + 2000), r('clicks', 0, 'a', T + 3000)],
        [r('impressions', 0, 'a', T + 15_000), r('clicks', 0, 'a', T + 15_000)], // W = T+11999
        [r('impressions', 0, 'a', T + 9_000)], // late firing for w0: W < T+14999
        [r('impressions', 0, 'a', T + 25_000), r('clicks', 0, 'a', T + 25_000)], // W = T+21999
        [r('clicks', 0, 'a', T + 4_000)], // too late
      ],
      NOW,
    )
    expect(out.latest).toEqual({ a: { product_id: 'a', impressions: 1, clicks: 1, ctr: 1, ...w(2) } })
    expect(out.previous).toEqual({ a: { product_id: 'a', impressions: 1, clicks: 1, ctr: 1, ...w(1) } })
    expect(out.dlq).toEqual({ late_event: 1 })
    expect(out.watermarks).toEqual([T + 2000 - 3001, T + 11_999, T + 11_999, T + 21_999, T + 21_999])
  })

  it('refuses a phase whose judgement depends on the processing order', () => {
    // in the second phase W goes from T+10999 to T+21999: an event for w0 is late or not depending on order
    const phases = [
      [r('impressions', 0, 'a', T + 14_000)],
      [r('impressions', 0, 'a', T + 25_000), r('impressions', 0, 'a', T + 5_000)],
    ]
    expect(() => expectedOutcome(phases, NOW)).toThrow(/phase 2.*depending on processing order/)
  })

  it('gives the hand-computed figures for the end-to-end dataset', () => {
    const out = expectedOutcome(buildPhases(T, NOW), NOW)
    expect(out.watermarks).toEqual([T + 13_999, T + 13_999, T + 21_999, T + 21_999, T + 35_999])
    // invalid_json: a cut record and one with a 0xFF byte; invalid_event: 3 + a control character, a lone surrogate
    expect(out.dlq).toEqual({ invalid_json: 2, invalid_event: 7, future_timestamp: 2, late_event: 2 })
    expect(out.latest['p-7']).toEqual({ product_id: 'p-7', impressions: 6, clicks: 3, ctr: 0.5, ...w(3) })
    expect(out.previous['p-7']).toEqual({ product_id: 'p-7', impressions: 6, clicks: 3, ctr: 0.5, ...w(2) })
    expect(out.latest['p-1']).toEqual({ product_id: 'p-1', impressions: 2, clicks: 1, ctr: 0.5, ...w(3) })
    expect(out.previous['p-1']).toEqual({ product_id: 'p-1', impressions: 2, clicks: 1, ctr: 0.5, ...w(2) })
    expect(out.latest['p-6']).toEqual({ product_id: 'p-6', impressions: 8, clicks: 2, ctr: 0.25, ...w(1) })
    expect(out.previous['p-6']).toEqual({ product_id: 'p-6', impressions: 9, clicks: 2, ctr: 2 / 9, ...w(0) })
    expect(out.latest['p-5']).toEqual({ product_id: 'p-5', impressions: 2, clicks: 1, ctr: 0.5, ...w(3) })
    expect(out.previous['p-5']).toEqual({ product_id: 'p-5', impressions: 1, clicks: 0, ctr: 0, ...w(2) })
    const astral = '😀'.repeat(128)
    expect(Object.keys(out.latest).sort()).toEqual(
      ['p-1', 'p-2', 'p-3', 'p-4', 'p-5', 'p-6', 'p-7', '__proto__', 'constructor', astral].sort(),
    )
    const own = (id: string) => Object.getOwnPropertyDescriptor(out.latest, id)?.value
    expect(own('__proto__')).toEqual({ product_id: '__proto__', impressions: 1, clicks: 1, ctr: 1, ...w(1) })
    expect(own('constructor')).toEqual({ product_id: 'constructor', impressions: 1, clicks: 0, ctr: 0, ...w(1) })
    expect(own(astral)).toEqual({ product_id: astral, impressions: 1, clicks: 0, ctr: 0, ...w(1) })
    expect(Object.getPrototypeOf(out.latest)).toBe(Object.prototype)
  })
})
