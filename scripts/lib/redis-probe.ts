import { Redis } from 'ioredis'

/**
 * True when a Redis answers PING at `url` within `timeoutMs` (one connection attempt, no retries).
 *
 * @example
 * if (!(await redisAnswers('redis://127.0.0.1:6379'))) console.log('no Redis there')
 */
export async function redisAnswers(url: string, timeoutMs = 1500): Promise<boolean> {
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
    return (await redis.ping()) === 'PONG'
  } catch {
    return false
  } finally {
    redis.disconnect()
  }
}
