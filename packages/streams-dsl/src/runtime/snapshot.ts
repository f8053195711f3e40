import type { TopicPartitionOffset } from '../connectors/types.js'
import { tracksChanges, type WindowKey } from '../state/window-store.js'
import type { EngineInternals } from './engine-internals.js'
import type { EngineSnapshot, TaskSnapshot, WindowSnapshot } from './types.js'

const finite = (n: number): number | null => (Number.isFinite(n) ? n : null)
const clone = <T>(v: T): T => (v === undefined ? v : JSON.parse(JSON.stringify(v)))

/**
 * Copies the engine's state into a JSON-serialisable snapshot, grouped by task. With `copy` false the
 * accumulators are the live ones (for a caller that serialises the snapshot before the engine runs again).
 */
export function takeSnapshot(e: EngineInternals, copy = true, track?: ChangeTracking): EngineSnapshot {
  const tasks: TaskSnapshot[] = e.tasks.taskIds.map((id) => ({ id, partitions: [], windows: [] }))
  // the inputs, and the origin partitions a downstream engine judges by (not inputs: never committed)
  for (const p of new Set([...e.tasks.inputs, ...e.tracker.partitions])) {
    tasks[p.task]?.partitions.push({
      topic: p.topic,
      partition: p.partition,
      nextOffset: p.nextOffset,
      maxEventTime: finite(p.maxEventTime),
      lastEventWallTime: p.lastEventWallTime,
      ...(p.origin && { origin: true, idle: p.idle }),
    })
  }
  for (const op of e.operators) {
    for (const { task, bucket: b } of op.snapshot()) {
      if (track?.only && !track.only(task)) continue
      const minOffsets: TopicPartitionOffset[] = []
      b.minOffsets.forEach((offset, slot) => {
        const p = e.tasks.slots[slot]
        if (p && offset !== undefined) minOffsets.push({ topic: p.topic, partition: p.partition, offset })
      })
      tasks[task]?.windows.push({
        operator: op.name,
        start: b.start,
        end: b.end,
        fired: b.fired,
        minOffsets,
        ...entriesOf(b.entries, copy, track === undefined ? undefined : track.delta(task)),
      })
    }
  }
  return {
    version: 1,
    topology: e.topology.name,
    watermark: finite(e.tracker.watermark),
    maxEventTime: finite(e.tracker.maxEventTime),
    lastEventWallTime: e.tracker.lastEventWallTime,
    tasks: tasks.filter((t) => t.partitions.length > 0 || t.windows.length > 0),
    counters: { ...e.counters },
  }
}

/**
 * Incremental snapshots: buckets whose entries track their changes (the persistent backend's) give, for the tasks
 * `delta` says, only what changed since the previous tracked snapshot (`partial` windows); the others give every
 * entry. Every tracked bucket's changes are taken (reset) either way. `only`: the tasks to snapshot (default all).
 */
export type ChangeTracking = { delta(task: number): boolean; only?(task: number): boolean }

function entriesOf(
  m: Map<WindowKey, unknown>,
  copy: boolean,
  delta: boolean | undefined,
): Pick<WindowSnapshot, 'entries' | 'partial' | 'deleted'> {
  if (delta !== undefined && tracksChanges(m)) {
    const changes = m.takeChanges()
    if (delta && !changes.cleared) {
      const entries: [WindowKey, unknown][] = []
      const deleted: WindowKey[] = []
      for (const k of changes.keys) {
        const v = m.peek(k)
        if (v !== undefined || m.has(k)) entries.push([k, copy ? clone(v) : v])
        else deleted.push(k)
      }
      return { entries, partial: true, deleted }
    }
  }
  return { entries: copy ? [...m].map(([k, acc]) => [k, clone(acc)]) : [...m] }
}

/**
 * Loads every task of a snapshot into the engine: partitions (position and watermark), window state, and —
 * when the engine has seen nothing yet — the job watermark, M, t and the counters.
 */
export function restoreSnapshot(e: EngineInternals, s: EngineSnapshot): void {
  if (s.version !== 1) throw new Error(`snapshot version ${s.version} is not supported`)
  if (s.topology !== e.topology.name)
    throw new Error(`snapshot of topology "${s.topology}" cannot restore "${e.topology.name}"`)
  const now = e.clock.now()
  const fresh = e.tracker.maxEventTime === Number.NEGATIVE_INFINITY && e.tracker.watermark === Number.NEGATIVE_INFINITY
  const ops = new Map(e.operators.map((op) => [op.name, op]))
  for (const t of s.tasks) {
    for (const w of t.windows) {
      if (!ops.has(w.operator))
        throw new Error(`snapshot holds state of window "${w.operator}" which the topology lacks`)
    }
  }
  for (const t of s.tasks) {
    for (const ps of t.partitions) {
      const p = ps.origin ? e.tasks.originOf(ps.topic, ps.partition, now) : e.tasks.partitionOf(ps, now, false)
      p.nextOffset = ps.nextOffset
      p.maxEventTime = ps.maxEventTime ?? Number.NEGATIVE_INFINITY
      p.replayUntil = ps.replayUntil ?? -1
      const t = ps.lastEventWallTime ?? null
      if (t !== null && (p.lastEventWallTime === null || t > p.lastEventWallTime)) p.lastEventWallTime = t
      if (ps.origin) p.idle = ps.idle ?? false
    }
    for (const w of t.windows) {
      const op = ops.get(w.operator)!
      const task = e.tasks.taskIndexById(t.id)
      const minOffsets: number[] = []
      for (const o of w.minOffsets) {
        const slot = e.tasks.partitionOf(o, now, false).slot
        const cur = minOffsets[slot]
        if (cur === undefined || o.offset < cur) minOffsets[slot] = o.offset
      }
      for (const [key, acc] of w.entries)
        op.restore(task, {
          start: w.start,
          end: w.end,
          fired: w.fired,
          key,
          acc: clone(acc),
          minOffsets: [...minOffsets],
        })
    }
  }
  if (fresh) {
    e.tracker.watermark = s.watermark ?? Number.NEGATIVE_INFINITY
    e.tracker.maxEventTime = s.maxEventTime ?? Number.NEGATIVE_INFINITY
    e.tracker.lastEventWallTime = s.lastEventWallTime
    Object.assign(e.counters, s.counters)
  }
}
