import { relative } from 'node:path'
import { logFile, pidFile, runningPid, type Service, startService, stopService } from './background.js'
import { repoRoot } from './paths.js'
import { UserError } from './user-error.js'

/** How a background service's command line talks about it. */
export type ServiceCli = {
  readonly service: Service
  /** Shown after "started": where to look (URLs). */
  readonly hint?: string
  /** True once the service is up (polled with its output so far). */
  readonly ready?: (newLog: string) => Promise<boolean>
  readonly readyTimeoutMs?: number
}

const rel = (p: string) => relative(repoRoot, p)

/**
 * `start | stop | status | restart` for a background service with a pid file under `.run/` and its
 * log under `.run/logs/`. Idempotent: starting a running service or stopping a stopped one says so
 * and succeeds. Returns the exit code.
 */
export async function serviceCommand(cli: ServiceCli, command: string | undefined): Promise<number> {
  const { service: s } = cli
  const say = (line: string) => console.log(`[${s.name}] ${line}`)
  const log = rel(logFile(s.name))
  switch (command) {
    case 'start': {
      const r = await startService(s, { ready: cli.ready, timeoutMs: cli.readyTimeoutMs })
      if (r.state === 'already-running') say(`already running (pid ${r.pid}); log ${log}`)
      else if (r.state === 'started')
        say(`started in the background (pid ${r.pid}); log ${log}${cli.hint ? `; ${cli.hint}` : ''}`)
      else if (r.state === 'not-ready') say(`started (pid ${r.pid}) but not ready yet; see ${log}:\n${r.tail}`)
      else throw new UserError(`[${s.name}] exited at start (code ${r.code}); last lines of ${log}:\n${r.tail}`)
      return 0
    }
    case 'stop': {
      const r = await stopService(s)
      if (r === 'not-running') say('not running; nothing to stop')
      else if (r === 'stale-pid-file') say(`not running; removed the stale pid file ${rel(pidFile(s.name))}`)
      else say(r === 'killed' ? 'did not stop in time; killed' : 'stopped')
      return 0
    }
    case 'restart':
      await serviceCommand(cli, 'stop')
      return serviceCommand(cli, 'start')
    case 'status': {
      const pid = runningPid(s)
      say(pid === null ? 'not running' : `running (pid ${pid}); log ${log}`)
      return pid === null ? 3 : 0
    }
    default:
      throw new UserError(`usage: tsx scripts/${s.name}.ts start | stop | status | restart`)
  }
}
