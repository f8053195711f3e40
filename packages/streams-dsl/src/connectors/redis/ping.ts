import { Redis } from 'ioredis'

/**
 * Connects once to `url` (no retries, no offline queue) and sends PING; resolves with the reply, rejects with
 * the connection's error, e.g. when nothing answers within `timeoutMs`. The connection is closed either way.
 *
 * @example
 * const up = await pingRedis('redis://127.0.0.1:6379', 1500).then((r) => r === 'PONG', () => false)
 */
export async function pingRedis(url: string, timeoutMs: number): Promise<string> {
  const redis = new Redis(url, {
    lazyConnect: true,
    connectTimeout: timeoutMs,
    maxRetriesPerRequest: 0,
    enableOfflineQueue: false,
    retryStrategy: () => null,
  })
  redis.on('error', () => {})
  try {
    await redis.connect()
    return await redis.ping()
  } finally {
    redis.disconnect()
  }
}
