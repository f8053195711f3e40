import { mulberry32 } from '@ctr/producers'
import type { Duration } from '@ctr/streams-dsl'
import { collectingSink, TestDriver } from '@ctr/streams-dsl/testing'
import { describe, expect, it } from 'vitest'
import { type AdClick, AdGenerator, type Impression } from '../click-attribution/ads.js'
import { expectedAttributedCtr, sortedCtr } from './oracle.js'
import { type AttributedCtr, attributedCtrTopology } from './topology.js'

const T0 = Date.parse('2025-01-01T12:00:00Z')

function driver(window: Duration, partitions = 1) {
  const results = collectingSink<AttributedCtr>('ctr')
  const topology = attributedCtrTopology({
    applicationId: 'attributed-ctr-test',
    impressions: 'impressions',
    clicks: 'clicks',
    results,
    window,
  })
  return {
    d: new TestDriver(topology, { startTime: T0, partitions: { impressions: partitions, clicks: partitions } }),
    results,
  }
}

const row = (product_id: string, start: number, impressions: number, clicks: number): AttributedCtr => ({
  product_id,
  window_start: T0 + start,
  window_end: T0 + start + 10_000,
  impressions,
  clicks,
  ctr: impressions > 0 ? clicks / impressions : 0,
})

describe('attributed-ctr', () => {
  it('credits a click to the product of the impression it names, in the window of the click, only within the attribution window', async () => {
    const { d, results } = driver('10s')
    const shown = (impression_id: string, product_id: string, at: number) =>
      d.pipe('impressions', [{ impression_id, product_id, timestamp: T0 + at }])
    const click = (click_id: string, impression_id: string, at: number) =>
      d.pipe('clicks', [{ click_id, impression_id, timestamp: T0 + at }])
    await shown('i1', 'p1', 1000)
    await shown('i2', 'p2', 2000)
    await click('c1', 'i1', 3000) // p1, 2 s after its impression
    await click('c4', 'i-never-shown', 4000) // a broken link: counts nowhere
    await shown('i3', 'p1', 5000)
    await click('c2', 'i2', 12_000) // p2, in the next window, though no p2 impression is in it
    await click('c3', 'i3', 16_000) // 11 s after its impression: outside the 10 s attribution window
    await d.advanceWallClock('60s') // every partition idle: W runs on, the windows close
    expect(sortedCtr(results.records)).toEqual([row('p1', 0, 2, 1), row('p2', 0, 1, 0), row('p2', 10_000, 0, 1)])
    expect(d.lateEvents()).toEqual([])
  })

  it('a click that arrives before its impression is credited once the impression arrives', async () => {
    const { d, results } = driver('30s')
    await d.pipe('clicks', [{ click_id: 'c1', impression_id: 'i1', timestamp: T0 + 4000 }])
    await d.pipe('impressions', [{ impression_id: 'i1', product_id: 'p1', timestamp: T0 + 3000 }])
    await d.advanceWallClock('60s')
    expect(sortedCtr(results.records)).toEqual([row('p1', 0, 1, 1)])
  })

  it('simulated ads over 3 + 3 partitions: every product and window as the oracle counts it', async () => {
    const WINDOW = 8_000
    const { d, results } = driver('8s', 3)
    const ads = new AdGenerator(
      { rate: 30, products: 6, clickThrough: 0.3, clickDelayMs: { min: 0, max: 12_000 }, strays: 0.03 },
      mulberry32(7),
      T0,
    )
    const impressions: Impression[] = []
    const clicks: AdClick[] = []
    const partition = (id: string) => Number(id.replace(/\D/g, '')) % 3
    for (let now = T0; now <= T0 + 90_000; now += 500) {
      const i = ads.tick(now)
      const c = ads.tickClicks(now)
      impressions.push(...i)
      clicks.push(...c)
      for (let p = 0; p < 3; p++) {
        const mineI = i.filter((x) => partition(x.impression_id) === p)
        if (mineI.length) await d.pipe('impressions', mineI, { partition: p })
        const mineC = c.filter((x) => partition(x.impression_id) === p)
        if (mineC.length) await d.pipe('clicks', mineC, { partition: p })
      }
      await d.advanceWallClock(500)
    }
    await d.advanceWallClock('60s')
    const expected = expectedAttributedCtr(impressions, clicks, WINDOW)
    // the case is not trivial: clicks beyond the window and stray clicks exist, and are not counted
    const attributed = expected.reduce((n, r) => n + r.clicks, 0)
    expect(attributed).toBeGreaterThan(300)
    expect(clicks.length - attributed).toBeGreaterThan(100)
    expect(sortedCtr(results.records)).toEqual(expected)
    expect(d.lateEvents()).toEqual([])
  })
})
