import type { DeadLetter } from '@ctr/streams-dsl'
import { collectingSink, TestDriver } from '@ctr/streams-dsl/testing'
import { describe, expect, it } from 'vitest'
import type { CtrResult } from './contract.js'
import { ctrTopology } from './topology.js'

// Window [T0, T0+10s) is W0, [T0+10s, T0+20s) is W1. B = 3 s, so W(p) = maxEventTime(p) - 3001.
const T0 = Date.parse('2025-11-28T12:00:00Z')
const W0 = { window_start: T0, window_end: T0 + 10_000 }
const W1 = { window_start: T0 + 10_000, window_end: T0 + 20_000 }

function setup() {
  const results = collectingSink<CtrResult>('results')
  const dlq = collectingSink<DeadLetter>('dlq')
  const topology = ctrTopology({
    applicationId: 'ctr-test',
    impressionsTopic: 'impressions',
    clicksTopic: 'clicks',
    results,
    deadLetters: dlq,
  })
  // impressions have 2 partitions, clicks 1, as topics may have any partition counts
  const d = new TestDriver(topology, { startTime: T0 + 20_000, partitions: { impressions: 2, clicks: 1 } })
  const imp = (partition: number, ...events: unknown[]) => d.pipe('impressions', events, { partition })
  const clk = (...events: unknown[]) => d.pipe('clicks', events, { partition: 0 })
  const reasons = () => dlq.records.map((x) => x.reason)
  return { d, results, dlq, imp, clk, reasons }
}

const e = (product_id: string, timestamp: number | string, extra: object = {}) => ({
  event_id: `e-${product_id}-${timestamp}`,
  product_id,
  user_id: 'u-1',
  timestamp,
  ...extra,
})
const byProduct = (rs: readonly CtrResult[]) =>
  [...rs].sort((a, b) =>
    a.product_id < b.product_id ? -1 : a.product_id > b.product_id ? 1 : a.window_start - b.window_start,
  )

describe('ctrTopology', () => {
  it('counts impressions and clicks per product and window once every partition passed the window end', async () => {
    const { d, results, imp, clk } = setup()
    await imp(0, e('p-1', T0 + 1000), e('p-1', T0 + 2000), e('p-2', '2025-11-28T12:00:03Z'))
    await imp(1, e('p-1', T0 + 4000), e('p-2', T0 + 9999))
    await clk(e('p-1', T0 + 5000, { impression_id: 'i-1', campaign: 'x' }), e('p-2', T0 + 9000))
    // impressions-0 reaches W = T0+9999 but impressions-1 and clicks-0 still hold the job watermark back
    await imp(0, e('p-3', T0 + 13_000))
    await imp(1, e('p-3', T0 + 13_000))
    expect(results.records).toEqual([])
    expect(d.status().watermark).toBe(T0 + 9000 - 3001)
    await clk(e('p-3', T0 + 13_000))
    expect(d.status().watermark).toBe(T0 + 9999)
    expect(byProduct(results.records)).toEqual([
      { product_id: 'p-1', impressions: 3, clicks: 1, ctr: 1 / 3, ...W0 },
      { product_id: 'p-2', impressions: 2, clicks: 1, ctr: 0.5, ...W0 },
    ])
  })

  it('fires again for an event within allowed lateness and sends a later one to the DLQ', async () => {
    const { d, results, imp, clk, dlq, reasons } = setup()
    await imp(0, e('p-1', T0 + 1000), e('p-1', T0 + 2000), e('p-3', T0 + 13_000))
    await imp(1, e('p-1', T0 + 4000), e('p-3', T0 + 13_000))
    await clk(e('p-1', T0 + 5000), e('p-3', T0 + 13_000))
    expect(results.records).toEqual([{ product_id: 'p-1', impressions: 3, clicks: 1, ctr: 1 / 3, ...W0 }])
    // W = T0+9999 < end - 1 + L = T0+14999: added, and W0 fires again with the full result
    await clk(e('p-1', T0 + 8000))
    expect(results.records.at(-1)).toEqual({ product_id: 'p-1', impressions: 3, clicks: 2, ctr: 2 / 3, ...W0 })
    // W reaches T0+14999: W0 is purged, an event for it is late; an event for W1 is not
    await imp(0, e('p-3', T0 + 18_000))
    await imp(1, e('p-3', T0 + 18_000))
    await clk(e('p-3', T0 + 18_000))
    expect(d.status().watermark).toBe(T0 + 14_999)
    await imp(0, e('p-1', T0 + 9500), e('p-2', T0 + 12_000))
    expect(reasons()).toEqual(['late_event'])
    expect(dlq.records[0]?.record).toMatchObject({ topic: 'impressions', partition: 0, offset: 4 })
    expect(results.records).toHaveLength(2)
    // traffic stops: after the idle timeout event time follows the wall clock and W1 closes
    await d.advanceWallClock('15s')
    expect(byProduct(results.records.slice(2))).toEqual([
      { product_id: 'p-2', impressions: 1, clicks: 0, ctr: 0, ...W1 },
      { product_id: 'p-3', impressions: 4, clicks: 2, ctr: 0.5, ...W1 },
    ])
    expect(d.status().counters).toMatchObject({ late: 1, lateFirings: 1, windowsEmitted: 4 })
  })

  it('sends bad records to the DLQ with a reason, counts the rest, and reports ctr null without impressions', async () => {
    const { d, results, imp, clk, reasons } = setup()
    await imp(
      0,
      '{"event_id": "x", "product_id": "p-1", "timest',
      ['not', 'an', 'event'],
      e('', T0 + 1000),
      e('p'.repeat(129), T0 + 1000),
      e('p'.repeat(128), T0 + 1000),
      e('p-1', 'yesterday'),
      e('p-1', T0 + 20_000 + 6 * 60_000), // more than 5 min ahead of the wall clock
      e('p-1', '2025-11-28T13:00:02.500+01:00'), // = T0 + 2.5 s
    )
    expect(reasons()).toEqual([
      'invalid_json',
      'invalid_event',
      'invalid_event',
      'invalid_event',
      'invalid_event',
      'future_timestamp',
    ])
    // the future event moved no watermark: impressions-0 is at T0 + 2500 - 3001 at most
    expect(d.status().partitions.find((p) => p.topic === 'impressions' && p.partition === 0)?.maxEventTime).toBe(
      T0 + 2500,
    )
    // no timestamp in the payload: the Kafka record timestamp is the event time
    await d.pipe('impressions', [{ product_id: 'p-1', note: 'extra' }], { partition: 1, timestamp: T0 + 12_000 })
    await clk(e('p-4', T0 + 7000), e('p-4', T0 + 8000))
    await d.advanceWallClock('15s')
    expect(byProduct(results.records)).toEqual([
      { product_id: 'p-1', impressions: 1, clicks: 0, ctr: 0, ...W0 },
      { product_id: 'p-1', impressions: 1, clicks: 0, ctr: 0, ...W1 },
      { product_id: 'p-4', impressions: 0, clicks: 2, ctr: null, ...W0 },
      { product_id: 'p'.repeat(128), impressions: 1, clicks: 0, ctr: 0, ...W0 },
    ])
  })

  it('applies the product_id rule of contract.ts: code points, no control characters, surrogates or bad UTF-8', async () => {
    const { d, results, dlq, imp, clk, reasons } = setup()
    // Object.prototype names are ids like any other: counted, and each has its own result.
    const special = ['__proto__', 'constructor', 'hasOwnProperty', 'toString']
    const astral128 = '😀'.repeat(128) // 256 UTF-16 units, 128 characters
    await imp(0, ...[...special, astral128, 'prodé✓'].map((id) => e(id, T0 + 1000)))
    await clk(e('__proto__', T0 + 2000), e('toString', T0 + 2000))
    const notUtf8 = (byte: number) =>
      Buffer.concat([Buffer.from('{"product_id":"p'), Buffer.from([byte]), Buffer.from(`","timestamp":${T0}}`)])
    await imp(
      1,
      e('😀'.repeat(129), T0 + 1000),
      e('a\u0001b', T0 + 1000),
      e('del\u007f', T0 + 1000),
      e('c1\u0085', T0 + 1000),
      e('\ud800', T0 + 1000), // JSON.stringify writes it as the escape "\ud800"
      e('x\udc00y', T0 + 1000),
      notUtf8(0xff), // decoded, both would be "p\ufffd": two ids, one string
      notUtf8(0xfe),
    )
    expect(reasons()).toEqual([...Array(6).fill('invalid_event'), 'invalid_json', 'invalid_json'])
    expect(dlq.records.map((x) => x.message)).toEqual([
      'product_id: must be at most 128 characters',
      'product_id: must not contain control characters',
      'product_id: must not contain control characters',
      'product_id: must not contain control characters',
      'product_id: must be valid Unicode (no unpaired surrogates)',
      'product_id: must be valid Unicode (no unpaired surrogates)',
      'not JSON: invalid UTF-8 in a string (JSON text must be UTF-8)',
      'not JSON: invalid UTF-8 in a string (JSON text must be UTF-8)',
    ])
    expect(d.status().counters).toMatchObject({ deadLetters: 8 })
    await d.advanceWallClock('15s')
    const counts = Object.fromEntries(results.records.map((r) => [r.product_id, [r.impressions, r.clicks]]))
    expect(Object.keys(counts).sort()).toEqual([...special, astral128, 'prodé✓'].sort())
    expect(Object.getPrototypeOf(counts)).toBe(Object.prototype) // a "__proto__" key did not replace it
    expect(counts).toEqual(
      Object.fromEntries([
        ['__proto__', [1, 1]],
        ['constructor', [1, 0]],
        ['hasOwnProperty', [1, 0]],
        ['toString', [1, 1]],
        [astral128, [1, 0]],
        ['prodé✓', [1, 0]],
      ]),
    )
  })

  it('is named after the application id and reads the configured topics', () => {
    const t = ctrTopology({
      applicationId: 'ctr-x',
      impressionsTopic: 'imp',
      clicksTopic: 'clk',
      results: collectingSink('r'),
      deadLetters: collectingSink('d'),
    })
    expect(t.name).toBe('ctr-x')
    expect([...t.sourceTopics]).toEqual(['imp', 'clk'])
  })
})
