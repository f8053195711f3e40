import { type ChildProcess, execFileSync, spawn } from 'node:child_process'
import { closeSync, mkdirSync, openSync } from 'node:fs'
import { redisAnswers } from '@ctr/testing/local-redis'
import { logFile, logsDir } from './background.js'
import { UserError } from './user-error.js'

/** A Redis this process started (stop it with `child.kill()`). */
export type LocalRedis = { readonly child: ChildProcess; readonly port: number }

/**
 * Makes sure a Redis answers at `url`: uses the running one, or, when the URL is local and
 * `redis-server` is installed, starts one (nothing saved on disk) and waits for it. Otherwise throws
 * a one-line {@link UserError} saying what was tried. Returns the started server, or null.
 *
 * @example
 * const started = await ensureRedis('redis://127.0.0.1:6379')
 */
export async function ensureRedis(url: string, log: (line: string) => void): Promise<LocalRedis | null> {
  if (await redisAnswers(url, 2000)) return null
  let parsed: URL
  try {
    parsed = new URL(url)
  } catch {
    throw new UserError(`REDIS_URL=${url} is not a URL (e.g. redis://127.0.0.1:6379)`)
  }
  const local = ['127.0.0.1', 'localhost', '[::1]'].includes(parsed.hostname)
  const hasServer = (() => {
    try {
      execFileSync('redis-server', ['--version'], { stdio: 'ignore' })
      return true
    } catch {
      return false
    }
  })()
  if (!local || !hasServer) {
    throw new UserError(
      `Redis not reachable at ${url}; ${local ? 'install redis-server (apt-get install redis-server) or ' : ''}` +
        'start a Redis there, or set REDIS_URL',
    )
  }
  const port = Number(parsed.port || 6379)
  mkdirSync(logsDir, { recursive: true })
  const fd = openSync(logFile('redis'), 'a')
  const child = spawn(
    'redis-server',
    ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'],
    {
      detached: true,
      stdio: ['ignore', fd, fd],
    },
  )
  closeSync(fd)
  log(`no Redis at ${url}: started redis-server on port ${port} (pid ${child.pid}, nothing saved to disk)`)
  const deadline = Date.now() + 10_000
  while (Date.now() < deadline) {
    if (child.exitCode !== null) break
    if (await redisAnswers(url, 500)) return { child, port }
    await new Promise((r) => setTimeout(r, 200))
  }
  child.kill('SIGKILL')
  throw new UserError(`redis-server did not start on port ${port}; see .run/logs/redis.log`)
}
