import { mkdirSync, readdirSync, rmSync } from 'node:fs'
import { join, relative } from 'node:path'
import { repoRoot } from './paths.js'
import { inspectPidFile, removePidFile, stopProcess } from './process-record.js'
import { UserError } from './user-error.js'

/** The pid file of the supervisor itself, beside those of its children. */
export const SUPERVISOR_PID_FILE = 'supervisor.pid'

/** What {@link reapLeftovers} needs to know about the run that is starting. */
export type LeftoverOptions = {
  /** Where the runs keep their pid files: the supervisor's ({@link SUPERVISOR_PID_FILE}) and one per child. */
  readonly pidDir: string
  /** The order leftovers are stopped in (those not named after them). */
  readonly stopOrder: readonly string[]
  /** How long a leftover has to stop after SIGTERM before it is killed. */
  readonly graceMs: number
  readonly say: (line: string) => void
  /** How the user starts a run ("npm start"), for messages. */
  readonly command: string
}

const seconds = (ms: number) => `${Math.round(ms / 100) / 10} s`

/**
 * Deals with what an earlier run left, before this one starts: when the earlier supervisor still runs, throws
 * a one-line {@link UserError} (another run is going on; it is not ours to stop). Otherwise every child that
 * an earlier run's pid files name and that still runs (same pid, same start time, same command line exactly)
 * is reported in one line and stopped: SIGTERM, so it stops cleanly (the job commits its offsets), SIGKILL
 * after the grace period. Pid files of processes that are gone are removed silently; one whose pid now
 * belongs to another program is removed with an info line, and that program is left alone.
 *
 * @example
 * await reapLeftovers({ pidDir: '.run/pipeline', stopOrder: ['producers', 'job', 'api'], graceMs: 15_000, say: console.log, command: 'npm start' })
 */
export async function reapLeftovers(opts: LeftoverOptions): Promise<void> {
  const { pidDir, say } = opts
  mkdirSync(pidDir, { recursive: true })
  const supervisorFile = join(pidDir, SUPERVISOR_PID_FILE)
  const supervisor = inspectPidFile(supervisorFile)
  if (supervisor.state === 'running') {
    const { pid } = supervisor.record
    throw new UserError(
      `${opts.command} is already running (pid ${pid}); stop it first (Ctrl-C in its terminal, or kill ${pid}), then start again`,
    )
  }
  if (supervisor.state === 'stale') rmSync(supervisorFile, { force: true })

  const rank = (name: string) => {
    const i = opts.stopOrder.indexOf(name)
    return i < 0 ? opts.stopOrder.length : i
  }
  const names = readdirSync(pidDir)
    .filter((f) => f.endsWith('.pid') && f !== SUPERVISOR_PID_FILE)
    .map((f) => f.slice(0, -'.pid'.length))
    .sort((a, b) => rank(a) - rank(b) || a.localeCompare(b))
  for (const name of names) {
    const file = join(pidDir, `${name}.pid`)
    const found = inspectPidFile(file)
    if (found.state === 'absent') continue
    if (found.state === 'stale') {
      rmSync(file, { force: true })
      if (found.other) {
        const cmd = found.other.argv.join(' ')
        say(
          `${relative(repoRoot, file)}: pid ${found.pid} is now another program (${cmd.length > 60 ? `${cmd.slice(0, 57)}...` : cmd}); left it alone, removed the stale pid file`,
        )
      }
      continue
    }
    const { pid } = found.record
    say(
      `an earlier run left ${name} running (pid ${pid}); stopping it (SIGTERM, SIGKILL after ${seconds(opts.graceMs)})`,
    )
    const result = await stopProcess(found.record, opts.graceMs)
    removePidFile(file, pid)
    if (result === 'killed') say(`${name} (pid ${pid}) did not stop within ${seconds(opts.graceMs)}: killed`)
  }
}
