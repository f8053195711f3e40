import type { WindowBucket } from '../state/window-store.js'
import type { EngineInternals } from './engine-internals.js'
import { describeTime } from './time.js'
import type { EngineStatus, OldestWindowStatus } from './types.js'

const finite = (n: number): number | null => (Number.isFinite(n) ? n : null)
const seconds = (ms: number): string => `${Math.round(ms / 100) / 10} s`

/** Builds the JSON status: watermarks per partition, and what holds the oldest open window. */
export function engineStatus(e: EngineInternals): EngineStatus {
  const now = e.clock.now()
  const tracker = e.tracker
  const idleAfter = tracker.settings.idleTimeout
  const partitions = tracker.partitions.map((p) => ({
    topic: p.topic,
    partition: p.partition,
    task: e.tasks.taskIds[p.task] ?? '?',
    nextOffset: p.nextOffset,
    watermark: finite(tracker.partitionWatermark(p)),
    maxEventTime: finite(p.maxEventTime),
    idle: p.idle,
    lastEventWallTime: p.lastEventWallTime,
  }))
  let open = 0
  let oldest: WindowBucket<unknown> | undefined
  for (const op of e.operators) {
    const s = op.status()
    open += s.open
    if (s.oldest !== undefined && (oldest === undefined || s.oldest.end < oldest.end)) oldest = s.oldest
  }
  const W = tracker.watermark
  let oldestStatus: OldestWindowStatus | null = null
  if (oldest) {
    const firesAt = oldest.end - 1
    const window = `window [${describeTime(oldest.start, now)},${describeTime(oldest.end, now)})`
    const waitingFor = partitions
      .filter((p) => !p.idle && (p.watermark === null || p.watermark < firesAt))
      .map((p) => ({ topic: p.topic, partition: p.partition, watermark: p.watermark }))
    const holders = waitingFor.map((w) => {
      const p = tracker.partitions.find((q) => q.topic === w.topic && q.partition === w.partition)!
      const at = w.watermark === null ? 'has delivered no event yet' : `holds it at ${describeTime(w.watermark, now)}`
      const quiet = now - p.lastActivity
      const last = p.lastEventWallTime === null ? 'assigned' : 'last event'
      const idle =
        quiet >= idleAfter
          ? `past the ${seconds(idleAfter)} idle timeout, yet no recent broker answer shows nothing unread`
          : `idle after ${seconds(idleAfter)} if a broker answer shows nothing unread`
      return `partition ${w.topic}-${w.partition} ${at} (${last} ${seconds(quiet)} ago; ${idle})`
    })
    let why: string
    if (holders.length > 0) why = holders.join('; ')
    else if (tracker.lastEventWallTime === null) why = 'no event has arrived yet, so event time does not move'
    else if (tracker.allIdle()) why = 'all partitions are idle: event time follows the wall clock from the last event'
    else why = `the watermark is ${W === Number.NEGATIVE_INFINITY ? 'not set yet' : describeTime(W, now)}`
    const key = oldest.entries.keys().next().value
    oldestStatus = {
      ...(key !== undefined ? { key } : {}),
      start: oldest.start,
      end: oldest.end,
      firesAtWatermark: firesAt,
      waitingFor,
      reason: `${window} fires when the watermark reaches ${describeTime(firesAt, now)}; ${why}`,
    }
  }
  return {
    watermark: finite(W),
    allIdle: tracker.allIdle(),
    partitions,
    windows: { open, oldest: oldestStatus },
    counters: { ...e.counters },
  }
}
