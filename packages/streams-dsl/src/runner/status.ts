import type { PartitionPosition } from '../connectors/types.js'
import type { EngineStatus, PartitionStatus } from '../runtime/types.js'
import type { SinkStatus } from './backpressure.js'
import type { CheckpointStatus } from './checkpoint-health.js'

/**
 * One input partition in `/status`: where the consumer is, what is committed, and its watermark.
 *
 * @example
 * runner.status().partitions.map((p) => `${p.topic}-${p.partition}: lag ${p.lag}, idle ${p.idle}`)
 */
export type RunnerPartitionStatus = Partial<PartitionStatus> &
  Pick<PartitionPosition, 'topic' | 'partition' | 'position' | 'committed' | 'highWatermark' | 'lag'>

/**
 * The `/status` JSON: the runner's state, the job watermark, the oldest open window and why it waits, counters, dead
 * letters by reason, backpressure and sinks, and every input partition.
 *
 * @example
 * const s = runner.status()
 * console.log(s.state, s.watermark, s.windows.oldest?.reason)
 */
export type RunnerStatus = {
  applicationId: string
  /** The topology's name. */
  topology: string
  /** The runner's state (a {@link RunnerState}), or `degraded` while it runs but checkpoints fail (see `reason`). */
  state: string
  /** Why the state is `degraded`. */
  reason?: string
  uptimeSeconds: number
  /** Why the runner stopped, when it failed: one line. */
  error?: string
  /** Checkpoint outcomes (checkpoints on only). */
  checkpoints?: CheckpointStatus
  watermark: number | null
  allIdle: boolean
  windows: EngineStatus['windows']
  counters: EngineStatus['counters'] | null
  /** Dead letters written so far, by reason. */
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
  reason?: string
  checkpoints?: CheckpointStatus
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
    ...(input.reason !== undefined && { reason: input.reason }),
    uptimeSeconds: input.uptimeSeconds,
    ...(input.error !== undefined && { error: input.error }),
    ...(input.checkpoints !== undefined && { checkpoints: input.checkpoints }),
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

/**
 * A status in a few lines, for a failed test's post-mortem: the state (and error), W, the oldest open window and
 * what holds it, dead letters and events in, then every partition's position, commit, end and W(p).
 *
 * @internal
 */
export function statusSummary(s: RunnerStatus, name = 'runner'): string {
  return [
    `${name} /status: ${s.state}${s.error ? ` (${s.error})` : ''}, watermark ${s.watermark}${s.allIdle ? ' (all idle)' : ''}${s.paused ? ', input paused' : ''}, ${s.windows.open} open windows; oldest: ${s.windows.oldest?.reason ?? 'none'}`,
    `  dead letters ${JSON.stringify(s.deadLetters)}, events in ${s.counters?.eventsIn ?? '-'}`,
    ...s.partitions.map(
      (p) =>
        `  ${p.topic}-${p.partition} task ${p.task ?? '-'} position ${p.position} committed ${p.committed} end ${p.highWatermark} lag ${p.lag} W ${p.watermark ?? '-'}${p.idle ? ' idle' : ''}`,
    ),
  ].join('\n')
}
