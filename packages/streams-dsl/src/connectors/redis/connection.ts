import { Redis } from 'ioredis'

/** The Redis the connectors use when a sink is given no client: set by the runner, else `REDIS_URL`. */
let defaultUrl: string | undefined
const shared = new Map<string, Redis>()

/** Default when neither the runner nor `REDIS_URL` says otherwise (CONTRACTS.md §5). */
export const DEFAULT_REDIS_URL = 'redis://127.0.0.1:6379'

/**
 * Sets the Redis URL that sinks created without an explicit client use (the runner calls this from its config).
 *
 * @example
 * setDefaultRedisUrl('redis://127.0.0.1:6379/3')
 */
export function setDefaultRedisUrl(url: string | undefined): void {
  defaultUrl = url
}

/** The URL a sink without an explicit client connects to. */
export function defaultRedisUrl(): string {
  return defaultUrl ?? process.env.REDIS_URL ?? DEFAULT_REDIS_URL
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

/** One shared sink connection per URL (sinks of one job share it). */
export function sharedSinkRedis(url: string = defaultRedisUrl()): Redis {
  let redis = shared.get(url)
  if (!redis) {
    redis = createSinkRedis(url)
    shared.set(url, redis)
  }
  return redis
}

/** Closes every shared sink connection (the runner calls this at shutdown). */
export async function closeSharedRedis(): Promise<void> {
  const all = [...shared.values()]
  shared.clear()
  await Promise.all(all.map((r) => r.quit().catch(() => r.disconnect())))
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
