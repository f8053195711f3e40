import { type ChildProcess, spawn } from 'node:child_process'
import { closeSync, existsSync, mkdirSync, openSync, readFileSync } from 'node:fs'
import type { Socket } from 'node:net'
import { join, relative } from 'node:path'
import { logFile, logsDir, type Service, serviceArgv, tail } from './background.js'
import { repoRoot } from './paths.js'
import { removePidFile, writePidFile } from './process-record.js'

/** A service the supervisor runs in the foreground, with a readiness check. */
export type Supervised = Service & {
  /** What to call it in messages ("the job"). */
  readonly title: string
  /** True once the service is up (polled with its log output since it started). */
  readonly ready?: (newLog: string) => Promise<boolean>
  readonly readyTimeoutMs?: number
}

/** How a {@link Supervisor} runs its children. */
export type SupervisorOptions = {
  /** Called with the first unexpected exit of a child. */
  readonly onDeath: (death: ChildDeath) => void
  /** Where each child's pid file goes (`<pidDir>/<name>.pid`), for the next start to find what a dead run left. */
  readonly pidDir: string
  /** How long a child has to stop after SIGTERM, from {@link Supervisor.stopAll} or when it finds the supervisor gone. */
  readonly graceMs: number
}

type Running = {
  spec: Supervised
  child: ChildProcess
  /** Our end of the pipe the child watches (supervisor-watch.mjs). */
  watch: Socket | null
  exited: Promise<void>
  stopping: boolean
}

/** The preload that ends a child when its supervisor is gone. */
const watchModule = join(repoRoot, 'scripts', 'lib', 'supervisor-watch.mjs')
/** The file descriptor of the watch pipe in the child. */
const WATCH_FD = 3

/** A child that exited when it should not have: which, how, and the end of its log. */
export type ChildDeath = {
  readonly title: string
  readonly how: string
  readonly log: string
  readonly tail: string
}

/**
 * Runs services as children, each in its own process group (so a Ctrl-C or a hang-up at the terminal reaches
 * only the supervisor, which then stops them in the order it chooses), their output in `.run/logs/<name>.log`,
 * their pid files in `pidDir`. Each child watches a pipe from the supervisor (supervisor-watch.mjs) and stops
 * cleanly by itself when the supervisor is gone, even after a SIGKILL. Reports the first unexpected exit
 * through `onDeath`.
 *
 * @example
 * const sup = new Supervisor({ onDeath: (d) => console.error(`${d.title} died`), pidDir: '.run/pipeline', graceMs: 15_000 })
 * await sup.start({ name: 'job', title: 'the job', entry: 'packages/ctr-topology/src/main.ts' })
 * await sup.stopAll(['job'])
 */
export class Supervisor {
  readonly #running = new Map<string, Running>()

  constructor(private readonly options: SupervisorOptions) {}

  /** How many services are running (or stopping). */
  get size(): number {
    return this.#running.size
  }

  /** Starts a service and waits until it is ready; rejects with a {@link ChildDeath} if it exits first. */
  async start(spec: Supervised): Promise<void> {
    mkdirSync(logsDir, { recursive: true })
    const log = logFile(spec.name)
    // One log per run: the file starts empty, so it and its tail are about this run only.
    const from = 0
    const fd = openSync(log, 'w')
    const { command, args } = serviceArgv(spec, [watchModule])
    const child = spawn(command, args, {
      cwd: repoRoot,
      env: {
        ...process.env,
        ...spec.env,
        CTR_SUPERVISOR_FD: String(WATCH_FD),
        CTR_STOP_GRACE_MS: String(this.options.graceMs),
      },
      detached: true,
      stdio: ['ignore', fd, fd, 'pipe'],
    })
    closeSync(fd)
    const watch = (child.stdio[WATCH_FD] as Socket | null | undefined) ?? null
    watch?.on('error', () => {}) // the child is gone: its exit is reported below
    watch?.unref()
    const pidFile = join(this.options.pidDir, `${spec.name}.pid`)
    if (child.pid !== undefined) {
      mkdirSync(this.options.pidDir, { recursive: true })
      writePidFile(pidFile, child.pid)
    }
    let how: string | undefined
    const exited = new Promise<void>((resolve) => {
      const done = (what: string) => {
        how ??= what
        if (child.pid !== undefined) removePidFile(pidFile, child.pid)
        resolve()
      }
      child.once('exit', (code, signal) => done(signal ? `killed by ${signal}` : `exit code ${code}`))
      child.once('error', (err) => done(`could not start: ${err.message}`))
    })
    const entry: Running = { spec, child, watch, exited, stopping: false }
    this.#running.set(spec.name, entry)
    const death = (): ChildDeath => ({
      title: spec.title,
      how: how ?? 'exited',
      log: relative(repoRoot, log),
      tail: tail(log, 10, from),
    })
    void exited.then(() => {
      if (!entry.stopping) this.options.onDeath(death())
    })
    const newLog = () => (existsSync(log) ? readFileSync(log).subarray(from).toString('utf8') : '')
    const deadline = Date.now() + (spec.readyTimeoutMs ?? 60_000)
    for (;;) {
      if (how !== undefined) throw death()
      if (!spec.ready || (await spec.ready(newLog()).catch(() => false))) return
      if (Date.now() > deadline) {
        throw {
          ...death(),
          code: null,
          tail: `not ready after ${(spec.readyTimeoutMs ?? 60_000) / 1000} s\n${tail(log, 15)}`,
        }
      }
      await new Promise((r) => setTimeout(r, 300))
    }
  }

  /** The titles of the running services in the order {@link stopAll} stops them. */
  titles(order: readonly string[]): string[] {
    return this.#inOrder(order).map((n) => this.#running.get(n)?.spec.title ?? n)
  }

  #inOrder(order: readonly string[]): string[] {
    const names = [...this.#running.keys()]
    return [...order.filter((n) => names.includes(n)), ...names.filter((n) => !order.includes(n))]
  }

  /**
   * Stops the services one after the other, those named in `order` first, then any others (SIGTERM, SIGKILL
   * after the grace period); returns the titles of those it had to kill.
   */
  async stopAll(order: readonly string[]): Promise<string[]> {
    const killed: string[] = []
    for (const name of this.#inOrder(order)) {
      const r = this.#running.get(name)
      if (!r) continue
      r.stopping = true
      if (r.child.exitCode === null && r.child.signalCode === null) {
        r.watch?.write('stop\n') // so the child does not take our own exit for a second request (supervisor-watch.mjs)
        r.child.kill('SIGTERM')
        const timer = setTimeout(() => {
          killed.push(r.spec.title)
          r.child.kill('SIGKILL')
        }, this.options.graceMs)
        await r.exited
        clearTimeout(timer)
      }
      this.#running.delete(name)
    }
    return killed
  }

  /** SIGKILLs every child still running, at once (a second Ctrl-C: "stop waiting"). */
  killAll(): void {
    for (const r of this.#running.values()) {
      r.stopping = true
      if (r.child.exitCode === null && r.child.signalCode === null) r.child.kill('SIGKILL')
    }
  }
}
