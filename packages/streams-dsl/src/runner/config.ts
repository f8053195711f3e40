import { z } from 'zod'
import { ConfigError, envInt as int, parseEnv } from './env-parse.js'

export { ConfigError }

const brokerList = z
  .string()
  .trim()
  .regex(/^[^\s,:]+:\d{1,5}(,[^\s,:]+:\d{1,5})*$/, 'must be a comma-separated list of host:port')

const redisUrl = z
  .string()
  .trim()
  .refine((s) => {
    try {
      const u = new URL(s)
      return (u.protocol === 'redis:' || u.protocol === 'rediss:') && /^\/?(\d+)?$/.test(u.pathname)
    } catch {
      return false
    }
  }, 'must be a URL like redis://127.0.0.1:6379 or redis://host:6379/2 (database number optional)')

/** The environment variables the runner reads, with their defaults. */
export const runnerEnvSchema = z.object({
  KAFKA_BROKERS: brokerList.default('127.0.0.1:9092'),
  REDIS_URL: redisUrl.default('redis://127.0.0.1:6379'),
  APPLICATION_ID: z
    .string()
    .trim()
    .regex(/^[A-Za-z0-9._-]{1,200}$/, 'must be letters, digits, ".", "_" or "-"')
    .optional(),
  JOB_PORT: int(0, 65535).default(8001),
  /** Interface of the status server: loopback unless opened on purpose (0.0.0.0 in a container). */
  HOST: z.string().trim().min(1, 'must not be empty').default('127.0.0.1'),
  LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
  /** Records taken from the Kafka client per poll. */
  POLL_RECORDS: int(1, 100_000).default(1000),
  /** Payload bytes polled and not yet processed; past it the source stops polling (bounded memory). */
  MAX_IN_FLIGHT_BYTES: int(64 * 1024, 1024 * 1024 * 1024).default(8 * 1024 * 1024),
  /**
   * The Kafka client's prefetch for all partitions together, KiB (`queued.max.messages.kbytes`). 8 MiB: on the
   * 1M-event e2e bench (quiet machine, interleaved) the job peaked at 231-242 MiB RSS instead of 233-275 with 16 MiB
   * at a rate within the noise of it; 4 MiB gave 205-220 MiB but ~15 % less in `single`.
   */
  PREFETCH_KIB: int(1024, 2 * 1024 * 1024).default(8192),
  COMMIT_INTERVAL_MS: int(50, 600_000).default(1000),
  TICK_INTERVAL_MS: int(10, 60_000).default(200),
  /** How long a stop waits for pending writes (e.g. a Redis outage) before giving them up; 0 = not at all. */
  SHUTDOWN_GRACE_MS: int(0, 3_600_000).default(10_000),
  /** What the job promises across crashes for its Kafka outputs (see the README's "Delivery guarantees"). */
  GUARANTEE: z
    .enum(['at-least-once', 'exactly-once'], { error: 'must be "at-least-once" or "exactly-once"' })
    .default('at-least-once'),
  /** `transactional.id` of the instance under exactly-once (default `<application-id>-<random>`). */
  TRANSACTIONAL_ID: z
    .string()
    .trim()
    .regex(/^[A-Za-z0-9._-]{1,249}$/, 'must be letters, digits, ".", "_" or "-"')
    .optional(),
})

/**
 * What a job promises across crashes for its Kafka outputs (the README's "Delivery guarantees"): `at-least-once`
 * (idempotent producers; a replay may write them again) or `exactly-once` (one Kafka transaction per commit with
 * the input offsets; a `read_committed` consumer sees each output once). Redis writes are idempotent in both.
 *
 * @example
 * await run(app.build(), { tasks: 'auto', guarantee: 'exactly-once' }) // or GUARANTEE=exactly-once
 */
export type Guarantee = 'at-least-once' | 'exactly-once'

/**
 * Validated runner settings: the environment (`loadConfig`) overridden by `RunnerOptions.config`.
 *
 * @example
 * createRunner(t, { config: { kafkaBrokers: '127.0.0.1:9092', redisUrl: 'redis://127.0.0.1:6379/2', port: 0 } })
 */
export type RunnerConfig = {
  /** `KAFKA_BROKERS`, comma-separated `host:port`. */
  readonly kafkaBrokers: string
  /** `REDIS_URL`: checked at start and handed to the sinks (`Sink.open`). */
  readonly redisUrl: string
  /** Consumer group, prefix of internal topics and of the DLQ (`<id>-dlq`). */
  readonly applicationId: string
  /** Port of `/metrics` and `/status`; 0 picks a free one. */
  readonly port: number
  /** Address the status server listens on (`HOST`, default 127.0.0.1; 0.0.0.0 for every interface). */
  readonly host: string
  /** `LOG_LEVEL` of the runner's pino logger. */
  readonly logLevel: 'fatal' | 'error' | 'warn' | 'info' | 'debug' | 'trace' | 'silent'
  /** Records taken from the Kafka client per poll (`POLL_RECORDS`). */
  readonly pollRecords: number
  /** Payload bytes polled and not yet processed (`MAX_IN_FLIGHT_BYTES`). */
  readonly maxInFlightBytes: number
  /** The Kafka client's prefetch, KiB (`PREFETCH_KIB`). */
  readonly prefetchKiB: number
  readonly commitIntervalMs: number
  readonly tickIntervalMs: number
  /** How long `stop()` waits for pending writes before it gives them up and exits 75 (output not flushed). */
  readonly shutdownGraceMs: number
  /**
   * `exactly-once`: each instance's Kafka writes (repartition records, dead letters, Kafka sinks, checkpoints) and
   * its input offsets commit in one Kafka transaction; `at-least-once` (default): idempotent producers, replays
   * after a crash may write Kafka outputs again. Redis writes are idempotent in both (`GUARANTEE`).
   */
  readonly guarantee: Guarantee
  /** The instance's `transactional.id` under exactly-once (`TRANSACTIONAL_ID`); default `<application-id>-<random>`. */
  readonly transactionalId?: string
}

/**
 * Reads and validates the runner's configuration from the environment. Throws a {@link ConfigError} whose
 * message is one line, e.g. `JOB_PORT="abc": must be an integer from 0 to 65535`.
 *
 * @example
 * const config = loadConfig(process.env, { applicationId: 'page-views' })
 */
export function loadConfig(
  env: Readonly<Record<string, string | undefined>> = process.env,
  defaults: { applicationId: string },
): RunnerConfig {
  const e = parseEnv(runnerEnvSchema, env)
  return {
    kafkaBrokers: e.KAFKA_BROKERS,
    redisUrl: e.REDIS_URL,
    applicationId: e.APPLICATION_ID ?? defaults.applicationId,
    port: e.JOB_PORT,
    host: e.HOST,
    logLevel: e.LOG_LEVEL,
    pollRecords: e.POLL_RECORDS,
    maxInFlightBytes: e.MAX_IN_FLIGHT_BYTES,
    prefetchKiB: e.PREFETCH_KIB,
    commitIntervalMs: e.COMMIT_INTERVAL_MS,
    tickIntervalMs: e.TICK_INTERVAL_MS,
    shutdownGraceMs: e.SHUTDOWN_GRACE_MS,
    guarantee: e.GUARANTEE,
    ...(e.TRANSACTIONAL_ID !== undefined && { transactionalId: e.TRANSACTIONAL_ID }),
  }
}
