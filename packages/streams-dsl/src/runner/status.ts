import type { PartitionPosition } from '../connectors/kafka/kafka-source.js'
import type { EngineStatus, PartitionStatus } from '../runtime/types.js'
import type { SinkStatus } from './backpressure.js'

/** One input partition in `/status`: where the consumer is, what is committed, and its watermark. */
export type RunnerPartitionStatus = Partial<PartitionStatus> &
  Pick<PartitionPosition, 'topic' | 'partition' | 'position' | 'committed' | 'highWatermark' | 'lag'>

/** The `/status` JSON. */
export type RunnerStatus = {
  applicationId: string
  topology: string
  state: string
  uptimeSeconds: number
  error?: string
  watermark: number | null
  allIdle: boolean
  windows: EngineStatus['windows']
  counters: EngineStatus['counters'] | null
  deadLetters: Record<string, number>
  /** True while the input is paused because the sinks fall behind (backpressure). */
  paused: boolean
  /** How many times the input was paused. */
  pauses: number
  /** Sinks that report their availability (the Redis sinks), with the time of their last change. */
  sinks: SinkStatus[]
  partitions: RunnerPartitionStatus[]
}

/** Joins the engine's per-partition view (watermark, idleness) with the consumer's (position, commit, lag). */
export function runnerStatus(input: {
  applicationId: string
  topology: string
  state: string
  uptimeSeconds: number
  engine: EngineStatus | undefined
  partitions: readonly PartitionPosition[]
  deadLetters: Record<string, number>
  paused?: boolean
  pauses?: number
  sinks?: SinkStatus[]
  error?: string
}): RunnerStatus {
  const engineParts = new Map((input.engine?.partitions ?? []).map((p) => [`${p.topic}:${p.partition}`, p]))
  const partitions = input.partitions
    .map((p) => ({ ...engineParts.get(`${p.topic}:${p.partition}`), ...p }))
    .sort((a, b) => a.topic.localeCompare(b.topic) || a.partition - b.partition)
  return {
    applicationId: input.applicationId,
    topology: input.topology,
    state: input.state,
    uptimeSeconds: input.uptimeSeconds,
    ...(input.error !== undefined && { error: input.error }),
    watermark: input.engine?.watermark ?? null,
    allIdle: input.engine?.allIdle ?? false,
    windows: input.engine?.windows ?? { open: 0, oldest: null },
    counters: input.engine?.counters ?? null,
    deadLetters: input.deadLetters,
    paused: input.paused ?? false,
    pauses: input.pauses ?? 0,
    sinks: input.sinks ?? [],
    partitions,
  }
}
