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
}

/** The variables read by {@link loadCheckpointConfig}, with their defaults. */
export const checkpointEnvSchema = z.object({
  CHECKPOINTS: z.enum(['on', 'off'], { error: 'must be "on" or "off"' }).default('on'),
  CHECKPOINT_INTERVAL_MS: int(100, 600_000).default(5000),
  KAFKA_SESSION_TIMEOUT_MS: int(6000, 300_000).default(10_000),
})

/**
 * Reads `CHECKPOINTS`, `CHECKPOINT_INTERVAL_MS` and `KAFKA_SESSION_TIMEOUT_MS`; throws a one-line
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
  }
}
