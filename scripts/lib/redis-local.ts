import { type ChildProcess, execFileSync, spawn } from 'node:child_process'
import { closeSync, mkdirSync, openSync } from 'node:fs'
import { logFile, logsDir } from './background.js'
import { portFree } from './kafka-process.js'
import { busyPortMessage } from './port-holder.js'
import { removePidFile, writePidFile } from './process-record.js'
import { redisAnswers } from './redis-probe.js'
import { UserError } from './user-error.js'

/** A Redis this process started: stop it with {@link LocalRedis.stop}. */
export type LocalRedis = {
  readonly child: ChildProcess
  readonly port: number
  /** SIGTERM (nothing to save), and its pid file removed. */
  readonly stop: () => void
}

const runs = (cmd: string, args: string[]) => {
  try {
    execFileSync(cmd, args, { stdio: 'ignore' })
    return true
  } catch {
    return false
  }
}

/** {@link redisAnswers} with a bound: a program that accepts the connection but never answers PING makes it wait for good. */
const answers = (url: string, timeoutMs: number): Promise<boolean> =>
  Promise.race([redisAnswers(url, timeoutMs), new Promise<boolean>((r) => setTimeout(r, timeoutMs + 500, false))])

/**
 * Makes sure a Redis answers at `url`: uses the running one, or, when the URL is local and
 * `redis-server` is installed, starts one (nothing saved on disk) and waits for it. Otherwise throws
 * a one-line {@link UserError} saying what was tried; also when the port is held by a program that
 * does not answer as Redis. Returns the started server, or null.
 *
 * The server started here records itself in `pidFile` (so a later run can reap it if this one is killed)
 * and, where util-linux's `setpriv` exists (Linux), gets SIGTERM from the kernel as soon as this process
 * ends, however it ends.
 *
 * @example
 * const started = await ensureRedis('redis://127.0.0.1:6379', console.log, { pidFile: '.run/pipeline/redis.pid' })
 */
export async function ensureRedis(
  url: string,
  log: (line: string) => void,
  opts: { pidFile?: string } = {},
): Promise<LocalRedis | null> {
  if (await answers(url, 2000)) return null
  let parsed: URL
  try {
    parsed = new URL(url)
  } catch {
    throw new UserError(`REDIS_URL=${url} is not a URL (e.g. redis://127.0.0.1:6379)`)
  }
  const local = ['127.0.0.1', 'localhost', '[::1]'].includes(parsed.hostname)
  if (!local || !runs('redis-server', ['--version'])) {
    throw new UserError(
      `Redis not reachable at ${url}; ${local ? 'install redis-server (apt-get install redis-server) or ' : ''}` +
        'start a Redis there, or set REDIS_URL',
    )
  }
  const port = Number(parsed.port || 6379)
  if (!(await portFree(port)))
    throw new UserError(busyPortMessage(port, 'Redis', 'REDIS_URL', 'that does not answer as Redis'))
  mkdirSync(logsDir, { recursive: true })
  const fd = openSync(logFile('redis'), 'a')
  const redisArgs = ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no']
  // setpriv execs redis-server (same pid) with the parent-death signal set: the kernel's own "stop when I am gone".
  const pdeathsig = runs('setpriv', ['--pdeathsig', 'TERM', 'true'])
  const [command, ...args] = pdeathsig
    ? ['setpriv', '--pdeathsig', 'TERM', 'redis-server', ...redisArgs]
    : ['redis-server', ...redisArgs]
  const child = spawn(command as string, args, { detached: true, stdio: ['ignore', fd, fd] })
  closeSync(fd)
  const pid = child.pid ?? -1
  const stop = () => {
    child.kill('SIGTERM')
    if (opts.pidFile) removePidFile(opts.pidFile, pid)
  }
  log(`no Redis at ${url}: started redis-server on port ${port} (pid ${child.pid}, nothing saved to disk)`)
  const deadline = Date.now() + 10_000
  while (Date.now() < deadline) {
    if (child.exitCode !== null) break
    if (await answers(url, 500)) {
      // Recorded once it answers: redis-server rewrites its command line as it starts ("redis-server 127.0.0.1:6379").
      if (opts.pidFile) writePidFile(opts.pidFile, pid)
      return { child, port, stop }
    }
    await new Promise((r) => setTimeout(r, 200))
  }
  child.kill('SIGKILL')
  throw new UserError(`redis-server did not start on port ${port}; see .run/logs/redis.log`)
}
