import { z } from 'zod'
import { envInt as int, parseEnv } from '../runner/env-parse.js'

/**
 * Checkpoint and consumer-group settings of the runner (`CHECKPOINTS`, `CHECKPOINT_INTERVAL_MS`,
 * `KAFKA_SESSION_TIMEOUT_MS`), overridden by `RunnerOptions.checkpoints`.
 *
 * @example
 * createRunner(t, { checkpoints: { intervalMs: 2000 } })
 */
export type CheckpointConfig = {
  /** Checkpoint window state to `<application-id>-windows-changelog` and restore it on assignment (default on). */
  readonly enabled: boolean
  /** How often tasks are checkpointed and offsets committed, ms (also on revoke and at shutdown). */
  readonly intervalMs: number
  /** `session.timeout.ms` of the consumer: how soon a crashed instance's partitions move to another. */
  readonly sessionTimeoutMs: number
  /**
   * Incremental checkpoints (`CHECKPOINT_INCREMENTAL=on`, default off): each checkpoint of a task writes what
   * changed since its previous one (of state in a backend that tracks changes: `sqliteStateBackend`), on a base
   * rewritten whole once the deltas outweigh it. See the guide's "State larger than the heap".
   */
  readonly incremental?: boolean
}

/** The variables read by {@link loadCheckpointConfig}, with their defaults. */
export const checkpointEnvSchema = z.object({
  CHECKPOINTS: z.enum(['on', 'off'], { error: 'must be "on" or "off"' }).default('on'),
  CHECKPOINT_INTERVAL_MS: int(100, 600_000).default(5000),
  KAFKA_SESSION_TIMEOUT_MS: int(6000, 300_000).default(10_000),
  CHECKPOINT_INCREMENTAL: z.enum(['on', 'off'], { error: 'must be "on" or "off"' }).default('off'),
})

/**
 * Reads `CHECKPOINTS`, `CHECKPOINT_INTERVAL_MS`, `KAFKA_SESSION_TIMEOUT_MS` and `CHECKPOINT_INCREMENTAL`; throws a one-line
 * {@link ConfigError} on a bad value.
 *
 * @example
 * loadCheckpointConfig({ CHECKPOINT_INTERVAL_MS: '2000' }) // { enabled: true, intervalMs: 2000, ... }
 */
export function loadCheckpointConfig(
  env: Readonly<Record<string, string | undefined>> = process.env,
): CheckpointConfig {
  const e = parseEnv(checkpointEnvSchema, env)
  return {
    enabled: e.CHECKPOINTS === 'on',
    intervalMs: e.CHECKPOINT_INTERVAL_MS,
    sessionTimeoutMs: e.KAFKA_SESSION_TIMEOUT_MS,
    incremental: e.CHECKPOINT_INCREMENTAL === 'on',
  }
}
