import { type ChildProcess, spawn } from 'node:child_process'
import { closeSync, existsSync, mkdirSync, openSync, readFileSync } from 'node:fs'
import { relative } from 'node:path'
import { logFile, logsDir, type Service, serviceArgv, tail } from './background.js'
import { repoRoot } from './paths.js'

/** A service the supervisor runs in the foreground, with a readiness check. */
export type Supervised = Service & {
  /** What to call it in messages ("the job"). */
  readonly title: string
  /** True once the service is up (polled with its log output since it started). */
  readonly ready?: (newLog: string) => Promise<boolean>
  readonly readyTimeoutMs?: number
}

type Running = { spec: Supervised; child: ChildProcess; exited: Promise<void>; stopping: boolean }

/** A child that exited when it should not have: which, how, and the end of its log. */
export type ChildDeath = {
  readonly title: string
  readonly how: string
  readonly log: string
  readonly tail: string
}

/**
 * Runs services as children, each in its own process group (so a Ctrl-C at the terminal reaches only
 * the supervisor, which then stops them in the order it chooses), their output in `.run/logs/<name>.log`.
 * Reports the first unexpected exit through `onDeath`.
 *
 * @example
 * const sup = new Supervisor((d) => console.error(`${d.title} died`))
 * await sup.start({ name: 'job', title: 'the job', entry: 'packages/ctr-topology/src/main.ts' })
 * await sup.stopAll(['job'])
 */
export class Supervisor {
  readonly #running = new Map<string, Running>()

  constructor(private readonly onDeath: (death: ChildDeath) => void) {}

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
    const { command, args } = serviceArgv(spec)
    const child = spawn(command, args, {
      cwd: repoRoot,
      env: { ...process.env, ...spec.env },
      detached: true,
      stdio: ['ignore', fd, fd],
    })
    closeSync(fd)
    let how: string | undefined
    const exited = new Promise<void>((resolve) =>
      child.once('exit', (code, signal) => {
        how = signal ? `killed by ${signal}` : `exit code ${code}`
        resolve()
      }),
    )
    const entry: Running = { spec, child, exited, stopping: false }
    this.#running.set(spec.name, entry)
    const death = (): ChildDeath => ({
      title: spec.title,
      how: how ?? 'exited',
      log: relative(repoRoot, log),
      tail: tail(log, 10, from),
    })
    void exited.then(() => {
      if (!entry.stopping) this.onDeath(death())
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

  /** Stops the named services one after the other (SIGTERM, SIGKILL after `graceMs`); returns those it had to kill. */
  async stopAll(order: readonly string[], graceMs = 15_000): Promise<string[]> {
    const killed: string[] = []
    for (const name of order) {
      const r = this.#running.get(name)
      if (!r) continue
      r.stopping = true
      if (r.child.exitCode === null && r.child.signalCode === null) {
        r.child.kill('SIGTERM')
        const timer = setTimeout(() => {
          killed.push(r.spec.title)
          r.child.kill('SIGKILL')
        }, graceMs)
        await r.exited
        clearTimeout(timer)
      }
      this.#running.delete(name)
    }
    return killed
  }

  /** Last resort at exit: SIGKILL every child still running (synchronous, for `process.on('exit')`). */
  killAll(): void {
    for (const r of this.#running.values()) {
      r.stopping = true
      if (r.child.exitCode === null && r.child.signalCode === null) r.child.kill('SIGKILL')
    }
  }
}
