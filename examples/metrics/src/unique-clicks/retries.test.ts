import { mulberry32 } from '@ctr/producers'
import { describe, expect, it } from 'vitest'
import type { SimulatedClick } from '../top-products/clicks.js'
import { Retries } from './retries.js'

const click = (n: number, timestamp: number): SimulatedClick => ({
  event_id: `c-${n}`,
  product_id: 'p-1',
  user_id: 'u-1',
  timestamp,
})

type Send = { at: number; c: SimulatedClick }

describe('Retries', () => {
  it('sends every click, and copies of about `rate` of them later, unchanged, at most three sends in all', () => {
    const retries = new Retries({ rate: 0.3, maxDelayMs: 2_000 }, mulberry32(5))
    const out: Send[] = []
    let n = 0
    for (let now = 0; now <= 60_000; now += 100) {
      const fresh = now <= 50_000 ? [click(++n, now), click(++n, now)] : []
      for (const c of retries.tick(now, fresh)) out.push({ at: now, c })
    }
    expect(retries.pending).toBe(0)
    const sends = new Map<string, Send[]>()
    for (const o of out) sends.set(o.c.event_id, [...(sends.get(o.c.event_id) ?? []), o])
    expect(sends.size).toBe(n) // every click at least once
    const copies = out.length - n
    expect(copies / n).toBeGreaterThan(0.25)
    expect(copies / n).toBeLessThan(0.5)
    for (const s of sends.values()) {
      expect(s.length).toBeLessThanOrEqual(3)
      const [first, ...rest] = s as [Send, ...Send[]]
      expect(first.at).toBe(first.c.timestamp) // the first send is the fresh click
      for (const r of rest) {
        expect(r.c).toEqual(first.c) // same id, same event time
        expect(r.at).toBeGreaterThan(first.at)
        expect(r.at - first.at).toBeLessThanOrEqual(2 * 2_000 + 200)
      }
    }
  })
})
