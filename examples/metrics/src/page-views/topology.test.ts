import { mulberry32 } from '@ctr/producers'
import type { DeadLetter } from '@ctr/streams-dsl'
import { collectingSink, TestDriver } from '@ctr/streams-dsl/testing'
import { describe, expect, it } from 'vitest'
import { BrowsingGenerator, SHOP_PAGES, type SimulatedView } from '../common/browsing.js'
import { expectedCounts, sorted } from './oracle.js'
import { type PageViewCount, pageViewsTopology } from './topology.js'

const T0 = Date.parse('2025-11-28T12:00:00Z') // a multiple of 10 s
const S = 1_000

function setup(partitions = 1) {
  const results = collectingSink<PageViewCount>('results')
  const dlq = collectingSink<DeadLetter>('dlq')
  const t = pageViewsTopology({ applicationId: 'page-views-test', input: 'views', results, deadLetters: dlq })
  const d = new TestDriver(t, { startTime: T0, partitions: { views: partitions } })
  return { d, results, dlq }
}

const view = (page: string, timestamp: number, user_id = 'u-1') => ({ page, user_id, timestamp })

describe('pageViewsTopology', () => {
  it('counts a view in the six 1-minute windows that contain it, each firing once the watermark passes its end', async () => {
    const { d, results } = setup()
    await d.pipe('views', [view('/', T0 + 5 * S), view('/', T0 + 15 * S), view('/cart', T0 + 15 * S)])
    // W = 15 s - 2 s - 1 ms: the window [-50 s, 10 s) has closed, holding only the first view
    expect(results.records).toEqual([{ page: '/', window_start: T0 - 50 * S, window_end: T0 + 10 * S, views: 1 }])
    await d.pipe('views', [view('/', T0 + 22 * S)])
    // W = 20 s - 1 ms: [-40 s, 20 s) holds all three
    expect(results.records.slice(1)).toEqual([
      { page: '/', window_start: T0 - 40 * S, window_end: T0 + 20 * S, views: 2 },
      { page: '/cart', window_start: T0 - 40 * S, window_end: T0 + 20 * S, views: 1 },
    ])
    // traffic stops: after the idle timeout event time follows the wall clock and every window closes
    await d.advanceWallClock('10s')
    await d.advanceWallClock('2m')
    expect(sorted(results.records)).toEqual(
      expectedCounts([
        view('/', T0 + 5 * S),
        view('/', T0 + 15 * S),
        view('/cart', T0 + 15 * S),
        view('/', T0 + 22 * S),
      ]),
    )
    // [0 s, 60 s) is the last window holding the 5 s view; [20 s, 80 s) the last holding the 22 s one
    expect(results.records.filter((r) => r.page === '/').at(-1)).toEqual({
      page: '/',
      window_start: T0 + 20 * S,
      window_end: T0 + 80 * S,
      views: 1,
    })
  })

  it('gives exactly the counts of the definition for simulated traffic over three partitions', async () => {
    const { d, results, dlq } = setup(3)
    const gen = new BrowsingGenerator(
      {
        users: 40,
        pages: SHOP_PAGES,
        viewsPerVisit: { min: 2, max: 8 },
        viewGapMs: { min: 500, max: 4000 },
        pauseMs: { min: 5000, max: 30_000 },
      },
      mulberry32(11),
      T0,
    )
    const all: SimulatedView[] = []
    for (let now = T0; now <= T0 + 180 * S; now += 500) {
      const views = gen.tick(now)
      all.push(...views)
      // users spread over the partitions as a keyed producer would
      for (let p = 0; p < 3; p++)
        await d.pipe(
          'views',
          views.filter((v) => Number(v.user_id.slice(2)) % 3 === p),
          { partition: p },
        )
    }
    expect(all.length).toBeGreaterThan(500)
    await d.advanceWallClock('10s')
    await d.advanceWallClock('2m')
    expect(dlq.records).toEqual([])
    expect(sorted(results.records)).toEqual(expectedCounts(all))
    expect(d.status().windows.open).toBe(0)
  })

  it('sends a bad record to the dead letters with its reason and goes on counting', async () => {
    const { d, results, dlq } = setup()
    await d.pipe('views', ['{"page": "/", "user_id"', { page: '', user_id: 'u-1', timestamp: T0 }, view('/', T0 + S)])
    expect(dlq.records.map((x) => x.reason)).toEqual(['invalid_json', 'invalid_event'])
    expect(dlq.records[1]?.message).toMatch(/page/)
    await d.advanceWallClock('10s')
    await d.advanceWallClock('2m')
    expect(sorted(results.records)).toEqual(expectedCounts([view('/', T0 + S)]))
  })

  it('takes a view as late only once every window containing it has closed', async () => {
    const { d, results, dlq } = setup()
    await d.pipe('views', [view('/', T0 + 70 * S)]) // W = 68 s - 1 ms
    // 5 s is only in windows ending by 60 s: all closed, so it is late; 15 s is still in [10 s, 70 s), open
    await d.pipe('views', [view('/late', T0 + 5 * S), view('/ok', T0 + 15 * S)])
    expect(dlq.records.map((x) => [x.reason, JSON.parse(String(x.record.value)).page])).toEqual([
      ['late_event', '/late'],
    ])
    await d.advanceWallClock('10s')
    await d.advanceWallClock('2m')
    // the on-time view is counted only in the windows not yet closed when it came: [10 s, 70 s) and later
    expect(results.records.filter((r) => r.page === '/ok').map((r) => (r.window_start - T0) / S)).toEqual([10])
    expect(results.records.some((r) => r.page === '/late')).toBe(false)
  })
})
