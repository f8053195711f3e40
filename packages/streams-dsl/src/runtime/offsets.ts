import type { TopicPartitionOffset } from '../connectors/types.js'
import type { StatefulOperator } from './operators/index.js'
import type { PartitionState } from './watermarks.js'

/**
 * Per partition: min(next offset, lowest offset still held by window state that is not purged). Everything
 * below it is durable — written to the sinks, or only in purged windows — so a restart from there replays
 * every record of every open window and rebuilds it exactly.
 */
export function committableOffsets(
  operators: readonly StatefulOperator[],
  partitions: readonly PartitionState[],
): TopicPartitionOffset[] {
  const low: number[] = []
  for (const op of operators) op.lowestOffsets(low)
  const out: TopicPartitionOffset[] = []
  for (const p of partitions) {
    if (p.nextOffset === null) continue
    const l = low[p.slot]
    out.push({ topic: p.topic, partition: p.partition, offset: l !== undefined && l < p.nextOffset ? l : p.nextOffset })
  }
  return out
}
