import { Redis } from 'ioredis'
import type { SinkContext } from '../types.js'

/** Default when neither the runner nor `REDIS_URL` says otherwise (docs/contract.md §5.2). */
export const DEFAULT_REDIS_URL = 'redis://127.0.0.1:6379'

/** The URL a sink connects to without a runner or a client of its own: `REDIS_URL`, else the default. */
export function defaultRedisUrl(): string {
  return process.env.REDIS_URL ?? DEFAULT_REDIS_URL
}

/**
 * Opens a Redis connection tuned for sinks: commands fail fast while disconnected (no offline queue,
 * no silent re-sends) so the sink's own retry loop sees the outage, logs it once and backs off,
 * while ioredis keeps reconnecting in the background. A database number in the URL is honoured.
 *
 * @example
 * const redis = createSinkRedis('redis://127.0.0.1:6379/12')
 */
export function createSinkRedis(url: string = defaultRedisUrl()): Redis {
  const redis = new Redis(url, {
    enableOfflineQueue: false,
    maxRetriesPerRequest: 0,
    autoResendUnfulfilledCommands: false,
    connectTimeout: 2_000,
    lazyConnect: false,
    // Reconnect forever, quickly at first, at most every second: the sink decides how long to wait.
    retryStrategy: (times) => Math.min(50 * 2 ** Math.min(times, 5), 1_000),
    // A READONLY reply means the address now leads to a replica (a failover behind a DNS name): reconnect, so the
    // retry reaches the new primary. 1 = reconnect without re-sending (the sink's retry loop re-sends).
    reconnectOnError: (err) => (err.message.startsWith('READONLY') ? 1 : false),
  })
  // Without a listener ioredis prints every connection error; the sink's retry loop reports outages instead.
  redis.on('error', () => {})
  return redis
}

/**
 * The Redis connection of one sink: the client it was given (the sink never closes it), or a connection of its own
 * to the job's `REDIS_URL` (from `Sink.open`) or, without a runner, to `REDIS_URL` / the default, opened on
 * the first write and closed by the sink's `close()`.
 *
 * @example
 * const conn = new SinkConnection(options.redis)
 * // open(ctx): conn.open(ctx); write: conn.client().hset(...); close: await conn.close()
 */
export class SinkConnection {
  #own: Redis | undefined
  #url: string | undefined

  constructor(private readonly given: Redis | undefined) {}

  /** Takes the job's Redis URL (used unless a client was given). */
  open(context: SinkContext): void {
    this.#url = context.redisUrl
  }

  /** The client to write with. */
  client(): Redis {
    if (this.given) return this.given
    this.#own ??= createSinkRedis(this.#url ?? defaultRedisUrl())
    return this.#own
  }

  /** Closes the connection the sink opened itself, if any; a later write opens a new one. */
  async close(): Promise<void> {
    const r = this.#own
    this.#own = undefined
    if (r) await r.quit().catch(() => r.disconnect())
  }
}

/** `redis://host:port/db` without credentials, for log lines. */
export function describeRedis(redis: Redis): string {
  const o = redis.options
  return `redis://${o.host ?? '127.0.0.1'}:${o.port ?? 6379}${o.db ? `/${o.db}` : ''}`
}

/**
 * Resolves once the connection is ready; throws `connection <status>` when it is not. A connection still being
 * opened (a job's first write) is waited for up to `timeoutMs`, so a healthy start logs no outage; one that is
 * reconnecting after a failure throws at once, and the sink's retry loop reports and waits out the outage.
 *
 * @example
 * await readyOrThrow(redis)
 */
export async function readyOrThrow(redis: Redis, timeoutMs = 2_000): Promise<void> {
  if (redis.status === 'connecting' || redis.status === 'connect' || redis.status === 'wait') {
    if (redis.status === 'wait') redis.connect().catch(() => {})
    await new Promise<void>((resolve) => {
      const done = () => {
        clearTimeout(timer)
        redis.off('ready', done)
        redis.off('end', done)
        resolve()
      }
      const timer = setTimeout(done, timeoutMs)
      redis.once('ready', done)
      redis.once('end', done)
    })
  }
  if (redis.status !== 'ready') throw new Error(`connection ${redis.status}`)
}

/**
 * One PING at `url` on a connection of its own: one connection attempt within `timeoutMs`, no retries, no offline
 * queue, closed after. Resolves with the reply; rejects with why it got none. What the runner's start-up check and
 * the repository's scripts (is a Redis already there?) both ask.
 *
 * @example
 * const reply = await pingRedis('redis://127.0.0.1:6379', 1_000) // 'PONG'
 */
export async function pingRedis(url: string, timeoutMs: number): Promise<string> {
  const redis = new Redis(url, {
    lazyConnect: true,
    connectTimeout: timeoutMs,
    maxRetriesPerRequest: 0,
    enableOfflineQueue: false,
    retryStrategy: () => null,
  })
  // the rejection says what went wrong; without a listener ioredis would print it too
  redis.on('error', () => {})
  try {
    await redis.connect()
    return await redis.ping()
  } finally {
    redis.disconnect()
  }
}
