import { z } from 'zod'

/** The CTR job's settings (CONTRACTS.md §5), from the environment. */
export type JobConfig = {
  readonly brokers: readonly string[]
  readonly redisUrl: string
  /** Consumer group, prefix of internal topics and of the DLQ `<applicationId>-dlq`. */
  readonly applicationId: string
  readonly impressionsTopic: string
  readonly clicksTopic: string
  /** Port of the status/metrics HTTP server (`/status`, `/metrics`); 0 picks a free one. */
  readonly port: number
  /** How long a silent input partition holds the watermark back, ms. */
  readonly idleTimeoutMs: number
}

/** Every variable the job reads, with its default and meaning (the README table). */
export const JOB_ENV = {
  KAFKA_BROKERS: { default: '127.0.0.1:9092', help: 'bootstrap brokers, comma-separated' },
  REDIS_URL: { default: 'redis://127.0.0.1:6379', help: 'Redis for ctr:latest / ctr:previous; /<db> honoured' },
  APPLICATION_ID: { default: 'ctr', help: 'consumer group, internal topic prefix, DLQ <id>-dlq' },
  IMPRESSIONS_TOPIC: { default: 'impressions', help: 'input topic' },
  CLICKS_TOPIC: { default: 'clicks', help: 'input topic' },
  JOB_PORT: { default: '8001', help: 'status and metrics HTTP port (/status, /metrics)' },
  IDLE_TIMEOUT_MS: { default: '10000', help: 'a partition silent this long stops holding the watermark' },
} as const

type Var = keyof typeof JOB_ENV

const topicName = z.string().regex(/^[a-zA-Z0-9._-]{1,249}$/, 'must be 1-249 characters of a-z A-Z 0-9 . _ -')

const schema = z.object({
  KAFKA_BROKERS: z
    .string()
    .transform((s) => s.split(',').map((b) => b.trim()))
    .pipe(z.array(z.string().regex(/^[^\s:/]+:\d+$/, 'must be host:port[,host:port...]')).min(1)),
  REDIS_URL: z.string().regex(/^rediss?:\/\/[^\s]*$/, 'must be a redis:// URL, e.g. redis://127.0.0.1:6379/0'),
  APPLICATION_ID: topicName,
  IMPRESSIONS_TOPIC: topicName,
  CLICKS_TOPIC: topicName,
  JOB_PORT: z.coerce.number().int('must be a port number').min(0).max(65535, 'must be a port number'),
  IDLE_TIMEOUT_MS: z.coerce.number().int('must be whole milliseconds').min(1, 'must be at least 1 ms'),
})

/** A bad setting; `message` is one line naming the variable and its value. */
export class JobConfigError extends Error {
  override readonly name = 'JobConfigError'
}

/**
 * Reads and validates the job's environment; throws a {@link JobConfigError} on the first bad value.
 *
 * @example
 * loadJobConfig({ APPLICATION_ID: 'ctr-test' }).applicationId // 'ctr-test'
 */
export function loadJobConfig(env: NodeJS.ProcessEnv): JobConfig {
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
    throw new JobConfigError(`invalid ${k}=${JSON.stringify(raw[k])}: ${issue.message}`)
  }
  const c = r.data
  if (c.IMPRESSIONS_TOPIC === c.CLICKS_TOPIC) {
    throw new JobConfigError(`IMPRESSIONS_TOPIC and CLICKS_TOPIC are both "${c.CLICKS_TOPIC}"; they must differ`)
  }
  return {
    brokers: c.KAFKA_BROKERS,
    redisUrl: c.REDIS_URL,
    applicationId: c.APPLICATION_ID,
    impressionsTopic: c.IMPRESSIONS_TOPIC,
    clicksTopic: c.CLICKS_TOPIC,
    port: c.JOB_PORT,
    idleTimeoutMs: c.IDLE_TIMEOUT_MS,
  }
}
