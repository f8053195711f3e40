import type { TopicPartitionOffset } from '../connectors/types.js'
import type { WindowedOperator } from './plan.js'
import type { PartitionState } from './watermarks.js'

/**
 * Per partition: min(next offset, lowest offset still held by window state that is not purged). Everything
 * below it is durable — written to the sinks, or only in purged windows — so a restart from there replays
 * every record of every open window and rebuilds it exactly.
 */
export function committableOffsets(
  windows: readonly WindowedOperator[],
  partitions: readonly PartitionState[],
): TopicPartitionOffset[] {
  const low: number[] = []
  for (const op of windows)
    for (const store of op.stores) {
      if (store === undefined) continue
      for (const b of store.buckets())
        b.minOffsets.forEach((o, slot) => {
          if (o !== undefined && (low[slot] === undefined || o < (low[slot] as number))) low[slot] = o
        })
    }
  const out: TopicPartitionOffset[] = []
  for (const p of partitions) {
    if (p.nextOffset === null) continue
    const l = low[p.slot]
    out.push({ topic: p.topic, partition: p.partition, offset: l !== undefined && l < p.nextOffset ? l : p.nextOffset })
  }
  return out
}
