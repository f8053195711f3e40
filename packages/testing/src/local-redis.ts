import { spawn, spawnSync } from 'node:child_process'
import { Redis } from 'ioredis'
import { freePort, type StartedService } from './docker.js'

/** True when a Redis answers PING at `url` within `timeoutMs`. */
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

/**
 * Starts a private `redis-server` on a free port (nothing saved to disk) for
 * a test run on a machine without a running Redis. Null when redis-server is
 * not installed.
 */
export async function startLocalRedis(): Promise<StartedService | null> {
  if (spawnSync('redis-server', ['--version'], { stdio: 'ignore' }).status !== 0) return null
  const port = await freePort()
  const child = spawn(
    'redis-server',
    ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'],
    {
      stdio: 'ignore',
    },
  )
  const url = `redis://127.0.0.1:${port}`
  const deadline = Date.now() + 10_000
  while (Date.now() < deadline && child.exitCode === null) {
    if (await redisAnswers(url, 500)) {
      return {
        url,
        stop: async () => {
          child.kill('SIGTERM')
          if (child.exitCode === null) await new Promise((r) => child.once('exit', r))
        },
      }
    }
    await new Promise((r) => setTimeout(r, 100))
  }
  child.kill('SIGKILL')
  return null
}
