import { spawn, spawnSync } from 'node:child_process'
import { redisAnswers } from '../../../scripts/lib/redis-probe.js'
import { freePort, type StartedService } from './docker.js'

// The probe lives with the scripts (which start Redis for `npm start`); the test harness uses it too.
export { redisAnswers }

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
