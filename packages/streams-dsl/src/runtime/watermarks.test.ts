import { describe, expect, it } from 'vitest'
import { type PartitionState, WatermarkTracker } from './watermarks.js'

const settings = { maxOutOfOrderness: 3000, idleTimeout: 10_000, maxFutureSkew: 300_000 }
let slot = 0
const partition = (now: number): PartitionState => ({
  topic: 't',
  partition: slot,
  slot: slot++,
  task: 0,
  nextOffset: null,
  maxEventTime: Number.NEGATIVE_INFINITY,
  lastActivity: now,
  lastEventWallTime: null,
  idle: false,
  replayUntil: -1,
  origin: false,
})

describe('watermark tracker', () => {
  it('W(p) = maxEventTime(p) - B - 1 and W = min over partitions; -infinity until every partition delivered', () => {
    const w = new WatermarkTracker(settings)
    const a = partition(0)
    const b = partition(0)
    w.add(a)
    w.add(b)
    expect(w.observe(a, 20_000, 0)).toBe(false)
    expect(w.watermark).toBe(Number.NEGATIVE_INFINITY)
    expect(w.observe(b, 15_000, 0)).toBe(true)
    expect(w.watermark).toBe(15_000 - 3001)
    expect(w.observe(b, 30_000, 0)).toBe(true)
    expect(w.watermark).toBe(20_000 - 3001)
  })

  it('never decreases: an older event or a new partition does not pull it back', () => {
    const w = new WatermarkTracker(settings)
    const a = partition(0)
    w.add(a)
    w.observe(a, 50_000, 0)
    w.observe(a, 10_000, 1)
    expect(w.watermark).toBe(46_999)
    w.add(partition(2))
    expect(w.refresh(3)).toBe(false)
    expect(w.watermark).toBe(46_999)
  })

  it('an idle partition stops holding W; it holds again once it delivers', () => {
    const w = new WatermarkTracker(settings)
    const a = partition(0)
    const slow = partition(0)
    w.add(a)
    w.add(slow)
    w.observe(slow, 5_000, 0)
    w.observe(a, 40_000, 0)
    expect(w.watermark).toBe(1_999)
    w.observe(a, 41_000, 9_999)
    expect(w.refresh(9_999)).toBe(false) // 9.999 s without an event: not idle yet
    expect(w.refresh(10_000)).toBe(true)
    expect(slow.idle).toBe(true)
    expect(w.watermark).toBe(37_999)
    w.observe(slow, 6_000, 10_500) // back: holds W again (which does not go back)
    expect(slow.idle).toBe(false)
    w.observe(a, 60_000, 10_600)
    expect(w.watermark).toBe(37_999)
  })

  it('all idle: W follows the wall clock from the last event, W = max(W, M + (now - t) - B - 1)', () => {
    const w = new WatermarkTracker(settings)
    const a = partition(0)
    const b = partition(0)
    w.add(a)
    w.add(b)
    w.observe(a, 100_000, 1_000)
    w.observe(b, 90_000, 2_000)
    expect(w.watermark).toBe(86_999)
    expect(w.refresh(11_000)).toBe(false) // a idle (10 s since 1 000), b not yet: b holds W
    expect(w.watermark).toBe(86_999)
    expect(w.allIdle()).toBe(false)
    expect(w.refresh(12_000)).toBe(true) // both idle
    expect(w.allIdle()).toBe(true)
    expect(w.watermark).toBe(100_000 + (12_000 - 2_000) - 3001)
    w.refresh(13_500)
    expect(w.watermark).toBe(100_000 + 11_500 - 3001)
  })

  it('a job that has seen no event does not move, idle or not', () => {
    const w = new WatermarkTracker(settings)
    w.add(partition(0))
    expect(w.refresh(1_000_000)).toBe(false)
    expect(w.allIdle()).toBe(true)
    expect(w.watermark).toBe(Number.NEGATIVE_INFINITY)
  })

  it('a partition with records waiting to be read does not go idle, however long it waits for its turn', () => {
    const waiting = new Set<number>()
    const w = new WatermarkTracker(settings, (p) => waiting.has(p.partition))
    const fast = partition(0)
    const starved = partition(0)
    w.add(fast)
    w.add(starved)
    w.observe(starved, 10_000, 0)
    waiting.add(starved.partition)
    w.observe(fast, 60_000, 1_000)
    w.observe(fast, 60_000, 25_000)
    // 30 s without a batch of `starved`, but the consumer knows it is behind: W stays at its W(p)
    expect(w.refresh(30_000)).toBe(false)
    expect(starved.idle).toBe(false)
    expect(w.watermark).toBe(10_000 - 3001)
    // caught up and silent: idle, and W moves on to the fast partition's
    waiting.delete(starved.partition)
    expect(w.refresh(30_001)).toBe(true)
    expect(starved.idle).toBe(true)
    expect(w.watermark).toBe(60_000 - 3001)
  })
})
