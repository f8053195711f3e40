import { mulberry32 } from '@ctr/producers'
import { collectingSink, TestDriver } from '@ctr/streams-dsl/testing'
import { describe, expect, it } from 'vitest'
import { expectedCategoryCtr, sortedCtr } from './oracle.js'
import { type AdEvent, type Product, ShopGenerator } from './shop.js'
import { type CategoryCtr, categoryCtrTopology } from './topology.js'

const T0 = Date.parse('2025-01-01T12:00:00Z')

function driver(partitions = 1) {
  const results = collectingSink<CategoryCtr>('ctr')
  const topology = categoryCtrTopology({
    applicationId: 'category-ctr-test',
    events: 'events',
    products: 'products',
    results,
  })
  return {
    d: new TestDriver(topology, { startTime: T0, partitions: { events: partitions, products: partitions } }),
    results,
  }
}

describe('category-ctr', () => {
  it('counts each event in its category as of its time; a product moved mid-window counts in both', async () => {
    const { d, results } = driver()
    const product = (id: string, category: string, at: number) =>
      d.pipe('products', [{ product_id: id, category, updated_at: T0 + at }], { key: id })
    const events = (list: [AdEvent['type'], string, number][]) =>
      d.pipe(
        'events',
        list.map(([type, product_id, at]) => ({ type, product_id, timestamp: T0 + at })),
      )
    await product('p1', 'shoes', 0)
    await product('p2', 'hats', 0)
    await events([
      ['impression', 'p1', 1000],
      ['click', 'p1', 1000],
      ['impression', 'p2', 2000],
      ['impression', 'p9', 3000], // not in the catalogue
    ])
    await product('p1', 'bags', 5000) // moved: events from 5 s on are bags
    await events([
      ['impression', 'p1', 6000],
      ['click', 'p1', 6000],
      ['impression', 'p1', 7000],
    ])
    await d.advanceWallClock('30s') // every partition idle: W runs on, the window closes
    await events([['impression', 'p2', 40_000]])
    expect(sortedCtr(results.records)).toEqual([
      { category: 'bags', window_start: T0, window_end: T0 + 10_000, impressions: 2, clicks: 1, ctr: 0.5 },
      { category: 'hats', window_start: T0, window_end: T0 + 10_000, impressions: 1, clicks: 0, ctr: 0 },
      { category: 'shoes', window_start: T0, window_end: T0 + 10_000, impressions: 1, clicks: 1, ctr: 1 },
      { category: 'uncategorised', window_start: T0, window_end: T0 + 10_000, impressions: 1, clicks: 0, ctr: 0 },
    ])
  })

  it('simulated shop over 3 + 3 partitions: every category and window as the oracle counts it', async () => {
    const { d, results } = driver(3)
    const shop = new ShopGenerator(
      { rate: 30, products: 10, categories: ['a', 'b', 'c'], clickThrough: 0.1, moveEveryMs: 7_000, unlisted: 1 },
      mulberry32(5),
      T0,
    )
    const events: AdEvent[] = []
    const versions: Product[] = []
    const partition = (id: string) => Number(id.replace(/\D/g, '')) % 3
    for (let now = T0; now <= T0 + 90_000; now += 500) {
      const e = shop.tick(now)
      const v = shop.tickCatalogue(now)
      events.push(...e)
      versions.push(...v)
      for (let p = 0; p < 3; p++) {
        for (const x of v.filter((x) => partition(x.product_id) === p))
          await d.pipe('products', [x], { partition: p, key: x.product_id })
        const mine = e.filter((x) => partition(x.product_id) === p)
        if (mine.length) await d.pipe('events', mine, { partition: p })
      }
      await d.advanceWallClock(500)
    }
    await d.advanceWallClock('60s')
    const expected = expectedCategoryCtr(events, versions)
    expect(versions.length).toBeGreaterThan(15) // the catalogue and a dozen moves
    expect(sortedCtr(results.records)).toEqual(expected)
    expect(d.lateEvents()).toEqual([])
  })
})
