import { mulberry32 } from '@ctr/producers'
import { describe, expect, it } from 'vitest'
import { BrowsingGenerator, type BrowsingOptions } from './browsing.js'
import { PageView } from './page-view.js'

const options: BrowsingOptions = {
  users: 5,
  pages: ['/a', '/b', '/c'],
  viewsPerVisit: { min: 2, max: 4 },
  viewGapMs: { min: 1000, max: 3000 },
  pauseMs: { min: 10_000, max: 20_000 },
}

function run(seed: number, ms: number) {
  const gen = new BrowsingGenerator(options, mulberry32(seed), 0)
  const views = []
  for (let now = 0; now <= ms; now += 100) views.push(...gen.tick(now))
  return views
}

describe('BrowsingGenerator', () => {
  it('sends valid views in time order, each stamped with a time not after the tick that sent it', () => {
    const gen = new BrowsingGenerator(options, mulberry32(1), 0)
    for (let now = 0; now <= 60_000; now += 250) {
      const views = gen.tick(now)
      for (const v of views) {
        expect(PageView.parse(v)).toEqual(v)
        expect(v.timestamp).toBeLessThanOrEqual(now)
        expect(v.timestamp).toBeGreaterThan(now - 250)
      }
      expect(views.map((v) => v.timestamp)).toEqual(views.map((v) => v.timestamp).sort((a, b) => a - b))
    }
  })

  it('groups each user views into visits of 2-4 views, 1-3 s apart, with pauses of 10-20 s between them', () => {
    const views = run(2, 300_000)
    for (let u = 1; u <= options.users; u++) {
      const times = views.filter((v) => v.user_id === `u-${u}`).map((v) => v.timestamp)
      const gaps = times.slice(1).map((t, i) => t - (times[i] as number))
      expect(gaps.every((g) => (g >= 1000 && g <= 3000) || (g >= 10_000 && g <= 20_000))).toBe(true)
      // visits between two pauses (the first and last may be cut by the time range)
      const visits = [1]
      for (const g of gaps) {
        if (g >= 10_000) visits.push(1)
        else visits[visits.length - 1]!++
      }
      expect(visits.slice(1, -1).every((n) => n >= 2 && n <= 4)).toBe(true)
      expect(visits.length).toBeGreaterThan(5)
    }
  })

  it('replays the same views from the same seed', () => {
    expect(run(3, 60_000)).toEqual(run(3, 60_000))
    expect(run(3, 60_000)).not.toEqual(run(4, 60_000))
  })
})
