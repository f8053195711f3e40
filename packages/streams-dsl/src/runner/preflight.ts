import { describeCluster, KafkaUnavailableError } from '../connectors/kafka/admin.js'
import { pingRedis } from '../connectors/redis/connection.js'

/**
 * Redis did not answer at start: the message says where the runner looked and how to start it.
 *
 * @example
 * await runner.start().catch((e) => e instanceof RedisUnavailableError && console.error(e.message))
 */
export class RedisUnavailableError extends Error {
  override name = 'RedisUnavailableError'
}

/** Redacts the password of a URL for messages. */
import { safeUrl } from './env-parse.js'

/**
 * Checks that Redis answers PING within `timeoutMs`; rejects with a one-line {@link RedisUnavailableError}.
 *
 * @example
 * await checkRedis('redis://127.0.0.1:6379')
 */
export async function checkRedis(url: string, timeoutMs = 3_000): Promise<void> {
  try {
    await pingRedis(url, timeoutMs)
  } catch (e) {
    const why = e instanceof Error ? e.message : String(e)
    throw new RedisUnavailableError(
      `Redis not reachable at ${safeUrl(url)} (${why}); start it with \`redis-server\` or set REDIS_URL`,
    )
  }
}

/** Checks that Kafka answers; rejects with a one-line {@link KafkaUnavailableError} naming `pnpm kafka:up`. */
export async function checkKafka(brokers: string, timeoutMs = 5_000): Promise<void> {
  await describeCluster(brokers, timeoutMs)
}

/** Errors whose message is meant for the user as it is (no stack trace). */
export const isUserFacing = (e: unknown): e is Error =>
  e instanceof KafkaUnavailableError ||
  e instanceof RedisUnavailableError ||
  (e instanceof Error && (e.name === 'ConfigError' || e.name === 'TopologyError'))
