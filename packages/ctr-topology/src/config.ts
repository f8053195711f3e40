import { ConfigError, loadConfig, type RunnerConfig } from '@ctr/streams-dsl/runner'
import { z } from 'zod'

/** The CTR job's settings (docs/contract.md §5): its own, plus the runner's (Kafka, Redis, port, ...). */
export type JobConfig = {
  /** Consumer group, prefix of internal topics and of the DLQ `<applicationId>-dlq`. */
  readonly applicationId: string
  readonly impressionsTopic: string
  readonly clicksTopic: string
  /** How long a silent input partition holds the watermark back, ms. */
  readonly idleTimeoutMs: number
  /** Results per product kept in the `ctr:history:<product_id>` sorted sets. */
  readonly historyWindows: number
  /** A product's history key expires this long after its last result (0 = never). */
  readonly historyTtlSeconds: number
  /**
   * `auto` (default): the input is repartitioned by product_id through the internal topic
   * `<APPLICATION_ID>-by-product-repartition`, so any number of instances count exactly whatever the input's keys
   * and partition counts. `partition`: one task per partition number, for input keyed by product_id with equal
   * partition counts (no internal topic). `single`: one task for every partition, exact on one instance only.
   */
  readonly tasks: 'auto' | 'single' | 'partition'
  /** KAFKA_BROKERS, REDIS_URL, JOB_PORT, LOG_LEVEL, ... validated by the runner's loader. */
  readonly runner: RunnerConfig
}

/** The variables the job reads on top of the runner's, with their defaults (the README table). */
export const JOB_ENV = {
  APPLICATION_ID: { default: 'ctr', help: 'consumer group, internal topic prefix, DLQ <id>-dlq' },
  IMPRESSIONS_TOPIC: { default: 'impressions', help: 'input topic' },
  CLICKS_TOPIC: { default: 'clicks', help: 'input topic' },
  IDLE_TIMEOUT_MS: { default: '10000', help: 'a partition silent this long stops holding the watermark back' },
  HISTORY_WINDOWS: { default: '120', help: 'results kept per product in ctr:history:<product_id>' },
  HISTORY_TTL_SECONDS: {
    default: '0',
    help: 'ctr:history:<product_id> expires this long after the product last had a result; 0 = never',
  },
  TASKS: {
    default: 'auto',
    help: 'auto: repartition by product_id (any keys, any instances); partition: input keyed by product_id; single: one instance',
  },
} as const

type Var = keyof typeof JOB_ENV

const topicName = z.string().regex(/^[a-zA-Z0-9._-]{1,249}$/, 'must be 1-249 characters of a-z A-Z 0-9 . _ -')
const schema = z.object({
  APPLICATION_ID: topicName,
  IMPRESSIONS_TOPIC: topicName,
  CLICKS_TOPIC: topicName,
  IDLE_TIMEOUT_MS: z.coerce.number().int('must be whole milliseconds').min(1, 'must be at least 1 ms'),
  HISTORY_WINDOWS: z.coerce.number().int('must be a whole number').min(0, 'must be 0 or more'),
  HISTORY_TTL_SECONDS: z.coerce.number().int('must be whole seconds').min(0, 'must be 0 or more'),
  TASKS: z.enum(['auto', 'single', 'partition'], { error: 'must be "auto", "single" or "partition"' }),
})

/** A bad setting; `message` is one line naming the variable and its value. */
export class JobConfigError extends Error {
  override readonly name = 'ConfigError'
}

/**
 * Reads and validates the job's environment; throws a {@link JobConfigError} (or the runner's
 * `ConfigError`) with a one-line message on the first bad value.
 *
 * @example
 * loadJobConfig({ APPLICATION_ID: 'ctr-test' }).applicationId // 'ctr-test'
 */
export function loadJobConfig(env: Readonly<Record<string, string | undefined>>): JobConfig {
  const raw = Object.fromEntries(
    (Object.keys(JOB_ENV) as Var[]).map((k) => [
      k,
      env[k] === undefined || env[k] === '' ? JOB_ENV[k].default : env[k],
    ]),
  )
  const r = schema.safeParse(raw)
  if (!r.success) {
    const issue = r.error.issues[0]!
    const k = issue.path[0] as Var
    throw new JobConfigError(`Invalid configuration: ${k}=${JSON.stringify(raw[k])} ${issue.message}`)
  }
  const c = r.data
  if (c.IMPRESSIONS_TOPIC === c.CLICKS_TOPIC) {
    throw new JobConfigError(`Invalid configuration: IMPRESSIONS_TOPIC and CLICKS_TOPIC are both "${c.CLICKS_TOPIC}"`)
  }
  return {
    applicationId: c.APPLICATION_ID,
    impressionsTopic: c.IMPRESSIONS_TOPIC,
    clicksTopic: c.CLICKS_TOPIC,
    idleTimeoutMs: c.IDLE_TIMEOUT_MS,
    historyWindows: c.HISTORY_WINDOWS,
    historyTtlSeconds: c.HISTORY_TTL_SECONDS,
    tasks: c.TASKS,
    runner: loadConfig(env, { applicationId: c.APPLICATION_ID }),
  }
}

export { ConfigError }
