import { mulberry32 } from '@ctr/producers'
import type { DeadLetter } from '@ctr/streams-dsl'
import { collectingSink, TestDriver } from '@ctr/streams-dsl/testing'
import { describe, expect, it } from 'vitest'
import { BrowsingGenerator, type SimulatedView } from '../common/browsing.js'
import { expectedBursts, sorted } from './oracle.js'
import { type UserBurst, userBurstsTopology } from './topology.js'

const T0 = Date.parse('2025-11-28T12:00:00Z')
const S = 1_000

function setup(partitions = 1) {
  const results = collectingSink<UserBurst>('results')
  const dlq = collectingSink<DeadLetter>('dlq')
  const t = userBurstsTopology({ applicationId: 'bursts-test', input: 'views', results, deadLetters: dlq })
  const d = new TestDriver(t, { startTime: T0, partitions: { views: partitions } })
  return { d, results, dlq }
}

const view = (user_id: string, timestamp: number) => ({ page: '/', user_id, timestamp })
const burst = (user_id: string, at: number, views: number): UserBurst => ({
  user_id,
  at: T0 + at * S,
  views,
  burst: views >= 5,
})

describe('userBurstsTopology', () => {
  it('counts, per view, the views of its user in the 30 s up to it (both ends included); 5 make a burst', async () => {
    const { d, results } = setup()
    // u-1 at 0, 10, 20, 30 (30 s after 0: still in), 31 s (0 is out); u-2 once
    const times = [0, 10, 20, 30, 31]
    await d.pipe(
      'views',
      times.map((t) => view('u-1', T0 + t * S)),
    )
    await d.pipe('views', [view('u-2', T0 + 32 * S)])
    await d.pipe('views', [view('u-1', T0 + 33 * S)]) // 10, 20, 30, 31, 33: a burst
    await d.pipe('views', [view('u-3', T0 + 40 * S)]) // W = 38 s - 1 ms: everything up to u-1@33 closed
    expect(results.records).toEqual([
      burst('u-1', 0, 1),
      burst('u-1', 10, 2),
      burst('u-1', 20, 3),
      burst('u-1', 30, 4),
      burst('u-1', 31, 4),
      burst('u-2', 32, 1),
      burst('u-1', 33, 5),
    ])
  })

  it('a late view (within 5 s) updates the windows it falls into; a later one is a dead letter', async () => {
    const { d, results, dlq } = setup()
    await d.pipe('views', [view('u-1', T0), view('u-1', T0 + 10 * S), view('u-9', T0 + 14 * S)]) // W = 12 s - 1 ms
    expect(results.records).toEqual([burst('u-1', 0, 1), burst('u-1', 10, 2)])
    await d.pipe('views', [view('u-1', T0 + 9 * S)]) // late for [-21 s, 9 s]: opens it, fires it and 10 s again
    expect(results.records.slice(2)).toEqual([burst('u-1', 9, 2), burst('u-1', 10, 3)])
    await d.pipe('views', [view('u-9', T0 + 50 * S)]) // W = 48 s - 1 ms
    await d.pipe('views', [view('u-1', T0 + 12 * S)]) // 12 + 30 + 5 <= 48: every window that could hold it is gone
    expect(dlq.records.map((r) => r.reason)).toEqual(['late_event'])
  })

  it('matches the oracle on simulated browsing over 3 partitions', async () => {
    const { d, results } = setup(3)
    const users = new BrowsingGenerator(
      {
        users: 20,
        pages: ['/', '/a'],
        viewsPerVisit: { min: 1, max: 12 },
        viewGapMs: { min: 500, max: 6000 },
        pauseMs: { min: 10_000, max: 40_000 },
      },
      mulberry32(7),
      T0,
    )
    const views: SimulatedView[] = []
    for (let now = T0; now <= T0 + 180_000; now += 500) views.push(...users.tick(now))
    for (let p = 0; p < 3; p++) {
      const mine = views.filter((v) => Number(v.user_id.slice(2)) % 3 === p)
      await d.pipe('views', mine, { partition: p })
    }
    await d.advanceWallClock('10m') // everything idle: the watermark follows the clock and closes every window
    expect(results.records.some((r) => r.burst)).toBe(true)
    // in order per user there are no late firings: each (user, view time) has one result, the final one
    expect(sorted(results.records)).toEqual(expectedBursts(views, 30_000, 5))
  })
})
