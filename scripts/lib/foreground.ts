import { join } from 'node:path'
import { reapLeftovers, SUPERVISOR_PID_FILE } from './leftovers.js'
import { removePidFile, writePidFile } from './process-record.js'
import { type ChildDeath, type Supervised, Supervisor } from './supervisor.js'
import { UserError } from './user-error.js'

/** How a {@link ForegroundRun} talks and stops. */
export type ForegroundOptions = {
  /** Prefix of its lines: `[start] ...`. */
  readonly name: string
  /** How the user starts a run ("npm start"), for messages. */
  readonly command: string
  /** The pid files of the run: the supervisor's own and one per child (`.run/pipeline/`). */
  readonly pidDir: string
  /** The order the children stop in: producers before the job before the API; those not named after them. */
  readonly stopOrder: readonly string[]
  /** How long a child has to stop after SIGTERM before it is killed. */
  readonly graceMs: number
  /** Called once when the run starts to end, before anything is printed (e.g. to clear a status line). */
  readonly beforeStop?: () => void
  /** Called once after the children have stopped, to release what else the run holds (e.g. a Redis it started). */
  readonly afterStop?: () => Promise<void> | void
}

/** Signals that end a run: Ctrl-C, `kill`, and the terminal closing. */
const STOP_SIGNALS = ['SIGINT', 'SIGTERM', 'SIGHUP'] as const

/**
 * A supervisor in the foreground of a terminal (`npm start`): deals with what an earlier run left (see
 * {@link reapLeftovers}), records its own pid, runs services with a {@link Supervisor} and ends them all,
 * in order and cleanly, on Ctrl-C, SIGTERM, SIGHUP (the terminal closed), the unexpected death of a child,
 * or a crash of its own (an uncaught exception). When it is killed outright (SIGKILL) the children see it
 * through their watch pipe and stop by themselves (supervisor-watch.mjs). A second signal more than 2 s
 * after the first kills the children at once.
 *
 * @example
 * const run = await ForegroundRun.begin({ name: 'start', command: 'npm start', pidDir: '.run/pipeline', stopOrder: ['job'], graceMs: 15_000 })
 * await run.start({ name: 'job', title: 'the job', entry: 'packages/ctr-topology/src/main.ts' })
 */
export class ForegroundRun {
  readonly supervisor: Supervisor
  #ending: Promise<never> | undefined
  #stopStarted = false

  /** Reaps what an earlier run left (or throws a one-line {@link UserError}), then takes over the pid directory. */
  static async begin(opts: ForegroundOptions): Promise<ForegroundRun> {
    const say = (line: string) => console.log(`[${opts.name}] ${line}`)
    await reapLeftovers({ ...opts, say })
    return new ForegroundRun(opts)
  }

  private constructor(private readonly opts: ForegroundOptions) {
    this.supervisor = new Supervisor({
      onDeath: (death) => void this.end(1, death),
      pidDir: opts.pidDir,
      graceMs: opts.graceMs,
    })
    const own = join(opts.pidDir, SUPERVISOR_PID_FILE)
    writePidFile(own, process.pid)
    process.on('exit', () => removePidFile(own, process.pid))
    // After a hang-up the terminal is gone and writing to it fails (EIO); the run must still stop in order.
    for (const stream of [process.stdout, process.stderr]) stream.on('error', () => {})
    this.#handleSignals()
    const crash = (err: unknown) => {
      if (err instanceof UserError) console.error(err.message)
      else console.error(`[${opts.name}] internal error, stopping everything:`, err)
      // A crash while ending: exit now; the children stop by themselves once we are gone.
      if (this.#ending) process.exit(1)
      void this.end(1)
    }
    process.on('uncaughtException', crash)
    process.on('unhandledRejection', crash)
  }

  /** True once the run is ending. */
  get ending(): boolean {
    return this.#ending !== undefined
  }

  /**
   * Starts a service and waits until it is ready. When it dies first, or the run is ending, this never
   * returns: the run ends (reporting the death) and the process exits.
   */
  async start(spec: Supervised): Promise<void> {
    if (this.#ending) return this.#ending
    try {
      await this.supervisor.start(spec)
    } catch (e) {
      return this.end(1, e as ChildDeath)
    }
    if (this.#ending) return this.#ending
  }

  /** Ends the run once: reports `death`, stops every child in order, runs `afterStop`, exits with `code`. */
  end(code: number, death?: ChildDeath): Promise<never> {
    this.#ending ??= (async () => {
      const { name, stopOrder } = this.opts
      const say = (line: string) => console.log(`[${name}] ${line}`)
      this.#beforeStop()
      if (death) {
        console.error(`[${name}] ${death.title} stopped unexpectedly (${death.how}); last lines of ${death.log}:`)
        console.error(death.tail.replace(/^/gm, '    '))
      }
      const titles = this.supervisor.titles(stopOrder).map((t) => t.replace(/^the /, ''))
      if (titles.length > 0)
        say(`stopping ${titles.slice(0, -1).join(', ')}${titles.length > 1 ? ' and ' : ''}${titles.at(-1)} ...`)
      const killed = await this.supervisor.stopAll(stopOrder)
      if (killed.length > 0) say(`had to kill: ${killed.join(', ')}`)
      await this.opts.afterStop?.()
      process.exit(code)
    })()
    return this.#ending
  }

  #beforeStop(): void {
    if (this.#stopStarted) return
    this.#stopStarted = true
    this.opts.beforeStop?.()
  }

  #handleSignals(): void {
    const say = (line: string) => console.log(`[${this.opts.name}] ${line}`)
    // One Ctrl-C can arrive twice (from the terminal's process group and relayed by a wrapper): only a
    // signal more than 2 s after the first one means "stop waiting".
    let firstSignal = 0
    for (const sig of STOP_SIGNALS) {
      process.on(sig, () => {
        if (firstSignal > 0 && Date.now() - firstSignal < 2000) return
        if (firstSignal > 0) {
          say(`${sig} again: killing everything without waiting`)
          this.supervisor.killAll()
          process.exit(130)
        }
        firstSignal = Date.now()
        this.#beforeStop()
        say(sig === 'SIGHUP' ? 'SIGHUP received (the terminal closed)' : `${sig} received`)
        void this.end(0)
      })
    }
  }
}
