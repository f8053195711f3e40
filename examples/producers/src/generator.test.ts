import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import {
  EventGenerator,
  type GeneratorOptions,
  JOB_TIME,
  lateTimestamp,
  type OutRecord,
  tooLateTimestamp,
} from './generator.js'
import { MALFORMED_KINDS, malformedRecord } from './malformed.js'
import { productCtr } from './products.js'
import { mulberry32 } from './rng.js'

const { windowMs: S, outOfOrdernessMs: B, allowedLatenessMs: L } = JOB_TIME
const T0 = 1_764_330_000_000
const base: GeneratorOptions = {
  runId: 'r',
  products: 5,
  users: 10,
  ctr: { min: 0.1, max: 0.5 },
  clickDelayMs: 1000,
  outOfOrder: 0,
  outOfOrderMaxMs: 2500,
  late: 0,
  tooLate: 0,
  malformed: 0,
}

/** Runs the generator for `seconds` at `perTick` impressions every 100 ms. */
function run(opts: Partial<GeneratorOptions>, seconds: number, perTick = 10, seed = 1) {
  const gen = new EventGenerator({ ...base, ...opts }, mulberry32(seed))
  const out: (OutRecord & { now: number })[] = []
  for (let now = T0; now < T0 + seconds * 1000; now += 100) {
    for (const r of gen.tick(now, perTick)) out.push({ ...r, now })
  }
  return { gen, out }
}

const windowEnd = (ts: number) => Math.floor(ts / S) * S + S
/** The watermark implied by a producer clock at `now` (docs/contract.md §2 with max event time = now). */
const watermarkAt = (now: number) => now - B - 1

describe('EventGenerator', () => {
  it('emits the requested impressions as contract events keyed by product_id', () => {
    const gen = new EventGenerator(base, mulberry32(3))
    const records = gen.tick(T0, 50).filter((r) => r.stream === 'impressions')
    expect(records).toHaveLength(50)
    for (const r of records) {
      const e = JSON.parse(r.value)
      expect(Object.keys(e).sort()).toEqual(['event_id', 'product_id', 'timestamp', 'user_id'])
      expect(e.product_id).toMatch(/^p-[1-5]$/)
      expect(r.key).toBe(e.product_id)
      expect(e.timestamp).toBe(T0)
      expect(r.kind).toBe('in_order')
    }
    expect(new Set(records.map((r) => JSON.parse(r.value).event_id)).size).toBe(50)
  })

  it('is deterministic for a seed', () => {
    expect(run({}, 3, 10, 9).out).toEqual(run({}, 3, 10, 9).out)
    expect(run({}, 3, 10, 9).out).not.toEqual(run({}, 3, 10, 10).out)
  })

  it('emits clicks when due, after their impression, with impression_id', () => {
    const { out } = run({}, 20)
    const impressions = new Map(
      out.filter((r) => r.stream === 'impressions').map((r) => [JSON.parse(r.value).event_id, JSON.parse(r.value)]),
    )
    const clicks = out.filter((r) => r.stream === 'clicks')
    expect(clicks.length).toBeGreaterThan(100)
    for (const c of clicks) {
      const e = JSON.parse(c.value)
      const imp = impressions.get(e.impression_id)
      expect(imp).toBeDefined()
      expect(e.product_id).toBe(imp.product_id)
      expect(e.timestamp).toBeGreaterThanOrEqual(imp.timestamp)
      expect(e.timestamp).toBeLessThanOrEqual(imp.timestamp + base.clickDelayMs)
      expect(e.timestamp).toBeLessThanOrEqual(c.now)
      expect(e.timestamp).toBeGreaterThan(c.now - 100)
    }
  })

  it('gives each product its true CTR, spread over the range', () => {
    const { out } = run({}, 300, 20)
    for (let i = 0; i < base.products; i++) {
      const of = (s: string) => out.filter((r) => r.stream === s && r.key === `p-${i + 1}`).length
      const observed = of('clicks') / of('impressions')
      expect(Math.abs(observed - productCtr(i, base.products, base.ctr))).toBeLessThan(0.03)
    }
  })

  it('stamps out-of-order events within the out-of-orderness', () => {
    const { out } = run({ outOfOrder: 0.3 }, 10)
    const ooo = out.filter((r) => r.kind === 'out_of_order')
    expect(ooo.length / out.length).toBeGreaterThan(0.25)
    expect(ooo.length / out.length).toBeLessThan(0.35)
    for (const r of ooo) {
      const { timestamp } = JSON.parse(r.value)
      const original = r.stream === 'impressions' ? r.now : timestamp
      expect(timestamp).toBeLessThan(r.now)
      expect(original - timestamp).toBeLessThanOrEqual(2500 + 1000)
      expect(r.now - timestamp).toBeLessThanOrEqual(B)
    }
  })

  it('stamps late events into fired windows within allowed lateness, too-late ones beyond it', () => {
    const { out } = run({ late: 0.2, tooLate: 0.2 }, 40)
    const late = out.filter((r) => r.kind === 'late')
    const tooLate = out.filter((r) => r.kind === 'too_late')
    expect(late.length).toBeGreaterThan(50)
    expect(tooLate.length).toBeGreaterThan(50)
    for (const r of late) {
      const end = windowEnd(JSON.parse(r.value).timestamp)
      expect(watermarkAt(r.now) - 1000).toBeGreaterThanOrEqual(end - 1) // fired, with a margin
      expect(watermarkAt(r.now)).toBeLessThan(end - 1 + L) // not yet purged
    }
    for (const r of tooLate) {
      expect(watermarkAt(r.now) - 1000).toBeGreaterThanOrEqual(windowEnd(JSON.parse(r.value).timestamp) - 1 + L)
    }
  })

  it('makes the configured share of records malformed', () => {
    const { out } = run({ malformed: 0.2 }, 10)
    const bad = out.filter((r) => r.kind === 'malformed')
    expect(bad.length / out.length).toBeGreaterThan(0.15)
    expect(bad.length / out.length).toBeLessThan(0.25)
    expect(new Set(bad.map((r) => r.malformed))).toEqual(new Set(MALFORMED_KINDS.map((k) => k.kind)))
  })
})

describe('late timestamps', () => {
  it('lateTimestamp is in a window that fired and is not purged, or null half the time', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: T0, max: T0 + 10 * S }),
        fc.double({ min: 0, max: 0.999, noNaN: true }),
        (now, u) => {
          const ts = lateTimestamp(now, () => u)
          if (ts === null) return
          const end = windowEnd(ts)
          expect(watermarkAt(now) - 1000).toBeGreaterThanOrEqual(end - 1)
          expect(watermarkAt(now)).toBeLessThan(end - 1 + L)
        },
      ),
    )
    const nulls = Array.from({ length: S }, (_, i) => lateTimestamp(T0 + i, () => 0.5)).filter((t) => t === null)
    expect(nulls.length).toBe(S - 4000)
  })

  it('tooLateTimestamp is past allowed lateness by at least a second', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: T0, max: T0 + 10 * S }),
        fc.double({ min: 0, max: 0.999, noNaN: true }),
        (now, u) => {
          const end = windowEnd(tooLateTimestamp(now, () => u))
          expect(watermarkAt(now) - 1000).toBeGreaterThanOrEqual(end - 1 + L)
        },
      ),
    )
  })
})

describe('malformedRecord', () => {
  const event = { event_id: 'e', product_id: 'p-1', user_id: 'u', timestamp: T0 }
  it.each(MALFORMED_KINDS.map((k, i) => [k.kind, k.reason, i] as const))('%s (%s)', (kind, reason, i) => {
    const r = malformedRecord({ ...event }, T0, () => (i + 0.5) / MALFORMED_KINDS.length)
    expect(r.malformed).toBe(kind)
    if (reason === 'invalid_json') {
      expect(() => JSON.parse(r.value)).toThrow()
      return
    }
    const v = JSON.parse(r.value)
    const validProduct = typeof v?.product_id === 'string' && v.product_id.length > 0 && v.product_id.length <= 128
    const validTs = typeof v?.timestamp === 'number' || !Number.isNaN(Date.parse(v?.timestamp))
    if (reason === 'invalid_event') expect(Array.isArray(v) || !validProduct || !validTs).toBe(true)
    if (reason === 'future_timestamp') expect(v.timestamp).toBeGreaterThan(T0 + 5 * 60_000)
  })
})
