import { mulberry32 } from '@ctr/producers'
import { collectingSink, TestDriver } from '@ctr/streams-dsl/testing'
import { describe, expect, it } from 'vitest'
import { type AdClick, AdGenerator, type Impression } from './ads.js'
import { expectedAttribution, sortedClicks } from './oracle.js'
import { type AttributedClick, clickAttributionTopology } from './topology.js'

const T0 = Date.parse('2025-01-01T12:00:00Z')

function driver(window: number, partitions = 1) {
  const results = collectingSink<AttributedClick>('attributed')
  const topology = clickAttributionTopology({
    applicationId: 'attribution-test',
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

describe('click-attribution', () => {
  it('attributes a click to the impression it names within the window, in either arrival order', async () => {
    const { d, results } = driver(10_000)
    await d.pipe('impressions', [{ impression_id: 'i1', product_id: 'p1', timestamp: T0 + 1000 }])
    await d.pipe('clicks', [{ click_id: 'c1', impression_id: 'i1', timestamp: T0 + 4000 }])
    // the click first, its impression 1.5 s behind it (B = 2 s): attributed when the impression arrives
    await d.pipe('clicks', [{ click_id: 'c2', impression_id: 'i2', timestamp: T0 + 5000 }])
    await d.pipe('impressions', [{ impression_id: 'i2', product_id: 'p2', timestamp: T0 + 3500 }])
    expect(results.records).toEqual([
      {
        click_id: 'c1',
        impression_id: 'i1',
        product_id: 'p1',
        attributed: true,
        clicked_at: T0 + 4000,
        delay_ms: 3000,
      },
      {
        click_id: 'c2',
        impression_id: 'i2',
        product_id: 'p2',
        attributed: true,
        clicked_at: T0 + 5000,
        delay_ms: 1500,
      },
    ])
  })

  it('a click whose impression is older than the window, later than the click, or never shown is unattributed', async () => {
    const { d, results } = driver(10_000)
    await d.pipe('impressions', [
      { impression_id: 'old', product_id: 'p1', timestamp: T0 },
      { impression_id: 'after', product_id: 'p2', timestamp: T0 + 12_500 },
    ])
    await d.pipe('clicks', [
      { click_id: 'c-old', impression_id: 'old', timestamp: T0 + 10_001 },
      { click_id: 'c-before', impression_id: 'after', timestamp: T0 + 12_000 },
      { click_id: 'c-stray', impression_id: 'never', timestamp: T0 + 12_000 },
    ])
    expect(results.records).toEqual([])
    // unattributed ones come out once W >= click + 0 + 5 s of lateness
    await d.pipe('impressions', [{ impression_id: 'x', product_id: 'p', timestamp: T0 + 20_000 }])
    await d.pipe('clicks', [{ click_id: 'c-x', impression_id: 'y', timestamp: T0 + 20_000 }])
    expect(sortedClicks(results.records).map((r) => [r.click_id, r.attributed])).toEqual([
      ['c-before', false],
      ['c-old', false],
      ['c-stray', false],
    ])
  })

  it('simulated traffic over 3 + 3 partitions: every click as the oracle attributes it, once', async () => {
    const window = 8_000
    const { d, results } = driver(window, 3)
    const ads = new AdGenerator(
      { rate: 30, products: 5, clickThrough: 0.3, clickDelayMs: { min: 0, max: 12_000 }, strays: 0.05 },
      mulberry32(7),
      T0,
    )
    const impressions: Impression[] = []
    const clicks: AdClick[] = []
    const partition = (id: string) => Number(id.replace(/\D/g, '')) % 3
    for (let now = T0; now <= T0 + 120_000; now += 250) {
      const shown = ads.tick(now)
      const clicked = ads.tickClicks(now)
      impressions.push(...shown)
      clicks.push(...clicked)
      for (let p = 0; p < 3; p++) {
        const i = shown.filter((x) => partition(x.impression_id) === p)
        const c = clicked.filter((x) => partition(x.impression_id) === p)
        if (i.length) await d.pipe('impressions', i, { partition: p })
        if (c.length) await d.pipe('clicks', c, { partition: p })
      }
      await d.advanceWallClock(250)
    }
    await d.advanceWallClock(60_000) // every partition idle: W runs on with the clock, every click comes out
    const expected = expectedAttribution(impressions, clicks, window)
    expect(expected.filter((c) => c.attributed).length).toBeGreaterThan(500)
    expect(expected.filter((c) => !c.attributed).length).toBeGreaterThan(100) // delays past 8 s, and strays
    expect(sortedClicks(results.records)).toEqual(expected)
    expect(d.lateEvents()).toEqual([])
  })
})
