import { Redis, type RedisOptions } from 'ioredis'
import { redactUrl } from './config.js'

/** The small logger interface the serving package writes to (pino fits it). */
export interface Logger {
  info(obj: object | string, msg?: string): void
  warn(obj: object | string, msg?: string): void
  error(obj: object | string, msg?: string): void
  /** Per-request lines go here (see `requestLogger`); none when absent. */
  debug?(obj: object | string, msg?: string): void
  isLevelEnabled?(level: string): boolean
}

/**
 * ioredis options for a request path that must fail fast: while disconnected a command fails at once (no offline
 * queue) and the API answers 503; the client reconnects forever in the background, so the API recovers by itself.
 */
export const FAIL_FAST_OPTIONS: RedisOptions = {
  enableOfflineQueue: false,
  connectTimeout: 1000,
  commandTimeout: 2000,
  maxRetriesPerRequest: 1,
  retryStrategy: (attempt) => Math.min(100 * attempt, 2000),
}

/**
 * Creates the API's Redis client from a `redis://` URL (a database number in the path is honoured) with
 * {@link FAIL_FAST_OPTIONS}, logging one line when Redis becomes unreachable and one when it is back.
 *
 * @example
 * const redis = createRedisClient('redis://127.0.0.1:6379/0', { logger })
 */
export function createRedisClient(url: string, opts: { logger?: Logger; options?: RedisOptions } = {}): Redis {
  const redis = new Redis(url, { ...FAIL_FAST_OPTIONS, ...opts.options })
  const where = redactUrl(url)
  let down = false
  let lastError = ''
  const lost = () => {
    if (down) return
    down = true
    const why = lastError ? ` (${lastError})` : ''
    opts.logger?.warn(
      { redis: where, err: lastError || undefined },
      `Redis unreachable at ${where}${why}; answering 503 and reconnecting in the background (start it with \`redis-server\`)`,
    )
  }
  redis.on('error', (err: Error) => {
    lastError = err.message
    lost()
  })
  // A connection that drops without an error (server shut down) is followed by 'reconnecting'.
  redis.on('reconnecting', lost)
  redis.on('ready', () => {
    if (down) opts.logger?.info({ redis: where }, `Redis at ${where} is reachable again`)
    else opts.logger?.info({ redis: where }, `connected to Redis at ${where}`)
    down = false
    lastError = ''
  })
  return redis
}

/**
 * Follows a client's connection state to say why Redis cannot serve right now (the last connection error),
 * rather than ioredis' generic "Stream isn't writeable" of a command refused while disconnected.
 *
 * @example
 * const watch = new RedisWatch(redis)
 * watch.problem() // null while connected, else e.g. 'connect ECONNREFUSED 127.0.0.1:6379'
 */
export class RedisWatch {
  private lastError: string | undefined

  constructor(readonly redis: Redis) {
    redis.on('error', (err: Error) => {
      this.lastError = err.message
    })
    redis.on('close', () => {
      this.lastError ??= 'connection lost'
    })
    redis.on('ready', () => {
      this.lastError = undefined
    })
  }

  /** `null` while the client is ready; otherwise a short reason. */
  problem(): string | null {
    if (this.redis.status === 'ready') return null
    return this.lastError ?? `connection is ${this.redis.status}`
  }
}
