import { mulberry32 } from '@ctr/producers'
import type { DeadLetter } from '@ctr/streams-dsl'
import { collectingSink, TestDriver } from '@ctr/streams-dsl/testing'
import { describe, expect, it } from 'vitest'
import { BrowsingGenerator, type SimulatedView } from '../common/browsing.js'
import { expectedSessions, sorted } from './oracle.js'
import { type UserSession, userSessionsTopology } from './topology.js'

const T0 = Date.parse('2025-11-28T12:00:00Z')
const S = 1_000
const GAP = 20 * S

function setup(partitions = 1) {
  const results = collectingSink<UserSession>('results')
  const dlq = collectingSink<DeadLetter>('dlq')
  const t = userSessionsTopology({ applicationId: 'sessions-test', input: 'views', results, deadLetters: dlq })
  const d = new TestDriver(t, { startTime: T0, partitions: { views: partitions } })
  return { d, results, dlq }
}

const view = (user_id: string, timestamp: number) => ({ page: '/', user_id, timestamp })
const session = (user_id: string, first: number, last: number, views: number): UserSession => ({
  user_id,
  first_view: T0 + first * S,
  last_view: T0 + last * S,
  duration_ms: (last - first) * S,
  views,
})

describe('userSessionsTopology', () => {
  it('ends a session once the watermark passes its last view plus the gap; views exactly the gap apart are one session', async () => {
    const { d, results } = setup()
    await d.pipe('views', [view('u-1', T0), view('u-1', T0 + 5 * S), view('u-2', T0 + 6 * S), view('u-1', T0 + 25 * S)])
    // u-1: 0 s, 5 s, 25 s (20 s after 5 s: touching windows merge); u-2: 6 s. W = 25 s - 2 s - 1 ms
    await d.pipe('views', [view('u-3', T0 + 28 * S)]) // W = 26 s - 1 ms: u-2's [6 s, 26 s) closes
    expect(results.records).toEqual([session('u-2', 6, 6, 1)])
    await d.pipe('views', [view('u-1', T0 + 45 * S + 1)]) // 20.001 s after 25 s: a new session
    await d.pipe('views', [view('u-3', T0 + 47 * S)]) // W = 45 s - 1 ms: u-1's [0 s, 45 s) closes
    expect(results.records.slice(1)).toEqual([session('u-1', 0, 25, 3)])
    await d.advanceWallClock('10s')
    await d.advanceWallClock('1m')
    expect(sorted(results.records)).toEqual(
      sorted([
        session('u-2', 6, 6, 1),
        session('u-1', 0, 25, 3),
        { ...session('u-1', 45, 45, 1), first_view: T0 + 45 * S + 1, last_view: T0 + 45 * S + 1 },
        session('u-3', 28, 47, 2),
      ]),
    )
  })

  it('merges two sessions when an out-of-order view bridges them', async () => {
    const { d, results } = setup()
    await d.pipe('views', [view('u-1', T0), view('u-1', T0 + 21 * S)]) // [0 s, 20 s) and [21 s, 41 s); W = 19 s - 1 ms
    await d.pipe('views', [view('u-1', T0 + 19.5 * S)]) // 1.5 s out of order: [19.5 s, 39.5 s) touches both
    expect(results.records).toEqual([])
    await d.advanceWallClock('10s')
    await d.advanceWallClock('1m')
    expect(results.records).toEqual([session('u-1', 0, 21, 3)])
  })

  it('gives exactly the sessions of the definition for simulated visits over three partitions', async () => {
    const { d, results, dlq } = setup(3)
    const gen = new BrowsingGenerator(
      {
        users: 25,
        pages: ['/', '/a', '/b'],
        viewsPerVisit: { min: 1, max: 6 },
        // gaps up to 22 s: some pauses are under the session gap, so some visits join into one session
        viewGapMs: { min: 1000, max: 9000 },
        pauseMs: { min: 15_000, max: 40_000 },
      },
      mulberry32(21),
      T0,
    )
    const all: SimulatedView[] = []
    for (let now = T0; now <= T0 + 240 * S; now += 500) {
      const views = gen.tick(now)
      all.push(...views)
      for (let p = 0; p < 3; p++)
        await d.pipe(
          'views',
          views.filter((v) => Number(v.user_id.slice(2)) % 3 === p),
          { partition: p },
        )
    }
    await d.advanceWallClock('10s')
    await d.advanceWallClock('1m')
    expect(dlq.records).toEqual([])
    const expected = expectedSessions(all, GAP)
    expect(expected.length).toBeGreaterThan(100)
    expect(expected.some((s) => s.duration_ms > 0) && expected.some((s) => s.views === 1)).toBe(true)
    expect(sorted(results.records)).toEqual(expected)
  })

  it('sends a view for a session that already ended to the dead letters as late', async () => {
    const { d, results, dlq } = setup()
    await d.pipe('views', [view('u-1', T0), view('u-2', T0 + 40 * S)]) // W = 38 s - 1 ms: u-1's [0 s, 20 s) ended
    await d.pipe('views', [view('u-1', T0 + 10 * S), view('u-1', T0 + 19 * S)])
    // the ended session is gone from the state: each view is judged on its own window. [10 s, 30 s) has ended
    // (W >= 30 s - 1 ms): late; [19 s, 39 s) has not, so 19 s starts a session of its own
    expect(dlq.records.map((x) => x.reason)).toEqual(['late_event'])
    await d.advanceWallClock('10s')
    await d.advanceWallClock('1m')
    expect(results.records.filter((r) => r.user_id === 'u-1').map((r) => r.views)).toEqual([1, 1])
  })
})
