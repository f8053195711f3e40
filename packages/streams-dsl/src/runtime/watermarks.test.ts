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
  vouchedAt: null,
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

  it('a silent partition goes idle only while the source has evidence that nothing is unread (docs/contract.md §2.3)', () => {
    const caughtUp = new Set<number>()
    const w = new WatermarkTracker(settings, (p) => caughtUp.has(p.slot))
    const fast = { ...partition(0), slot: 0 }
    const silent = { ...partition(1), slot: 1 }
    w.add(fast)
    w.add(silent)
    w.observe(silent, 10_000, 0)
    caughtUp.add(fast.slot)
    w.observe(fast, 60_000, 1_000)
    w.observe(fast, 60_000, 25_000)
    // 30 s without an event from `silent`, but no evidence (broker unreachable, paused, behind): W holds
    expect(w.refresh(30_000)).toBe(false)
    expect(silent.idle).toBe(false)
    expect(w.watermark).toBe(10_000 - 3001)
    // evidence that it is caught up: idle, and W moves on to the fast partition's
    caughtUp.add(silent.slot)
    expect(w.refresh(30_001)).toBe(true)
    expect(silent.idle).toBe(true)
    expect(w.watermark).toBe(60_000 - 3001)
    // the evidence lapses (the broker stopped answering): no longer idle; W never goes back, but holds
    caughtUp.delete(silent.slot)
    expect(w.refresh(30_002)).toBe(false)
    expect(silent.idle).toBe(false)
    w.observe(fast, 90_000, 30_003)
    expect(w.watermark).toBe(60_000 - 3001)
  })

  it('when every partition is idle, W follows the wall clock only while all of them are caught up', () => {
    const caughtUp = new Set<number>([0, 1])
    const w = new WatermarkTracker(settings, (p) => caughtUp.has(p.slot))
    const a = { ...partition(0), slot: 0 }
    const b = { ...partition(1), slot: 1 }
    w.add(a)
    w.add(b)
    w.observe(a, 50_000, 0)
    w.observe(b, 50_000, 0)
    expect(w.refresh(20_000)).toBe(true)
    expect(w.watermark).toBe(50_000 + 20_000 - 3001)
    // one partition's broker goes away: the wall-clock advance stops at once
    caughtUp.delete(1)
    expect(w.refresh(40_000)).toBe(false)
    expect(w.watermark).toBe(50_000 + 20_000 - 3001)
    caughtUp.add(1)
    expect(w.refresh(41_000)).toBe(true)
    expect(w.watermark).toBe(50_000 + 41_000 - 3001)
  })
})
