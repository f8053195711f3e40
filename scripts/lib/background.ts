import { spawn } from 'node:child_process'
import { closeSync, existsSync, mkdirSync, openSync, readFileSync, rmSync } from 'node:fs'
import { createRequire } from 'node:module'
import { join } from 'node:path'
import { repoRoot } from './paths.js'
import { inspectPidFile, removePidFile, stopProcess, writePidFile } from './process-record.js'

/** Where background services keep their pid files (gitignored). */
export const runDir: string = process.env.CTR_RUN_DIR ?? join(repoRoot, '.run')
/** Where background and foreground services write their logs. */
export const logsDir: string = join(runDir, 'logs')

/**
 * A service: a TypeScript entry point run with `node --import tsx`, or a JavaScript one (`.mjs`, `.js`: the
 * bundled job) run by node alone; either way its pid is the service itself (no wrapper).
 */
export type Service = {
  /** Short name: pid file `.run/<name>.pid`, log `.run/logs/<name>.log`. */
  readonly name: string
  /** Entry file, relative to the repository root; `.ts` files are run with tsx's loader. */
  readonly entry: string
  readonly args?: readonly string[]
  /** Flags for node itself, before the entry (e.g. the heap bound of the job). */
  readonly nodeArgs?: readonly string[]
  readonly env?: NodeJS.ProcessEnv
}

const tsxLoader = (): string => createRequire(join(repoRoot, 'package.json')).resolve('tsx')

/**
 * The command line that runs a service: `node [nodeArgs] [--import <tsx>] [--import <preload>...] <entry> ...args`
 * (tsx for a `.ts` entry only; the supervisor preloads supervisor-watch.mjs).
 */
export function serviceArgv(s: Service, preload: readonly string[] = []): { command: string; args: string[] } {
  const loader = s.entry.endsWith('.ts') ? [tsxLoader()] : []
  const imports = [...loader, ...preload].flatMap((p) => ['--import', p])
  return {
    command: process.execPath,
    args: [...(s.nodeArgs ?? []), ...imports, join(repoRoot, s.entry), ...(s.args ?? [])],
  }
}

/** The pid file of a background service: `.run/<name>.pid`. */
export const pidFile = (name: string): string => join(runDir, `${name}.pid`)
/** The log of a service: `.run/logs/<name>.log`. */
export const logFile = (name: string): string => join(logsDir, `${name}.log`)

/**
 * The pid of the running service, or null (no pid file, process gone, or the pid now belongs to another
 * program). The process must have exactly the command line and start time recorded in the pid file; a pid
 * file of an older version (the pid alone) matches only a process with exactly the service's command line.
 */
export function runningPid(s: Service): number | null {
  const { command, args } = serviceArgv(s)
  const found = inspectPidFile(pidFile(s.name), [command, ...args])
  return found.state === 'running' ? found.record.pid : null
}

/**
 * The last `lines` lines of a log file from byte `from` on (empty when there is none), JSON log lines
 * (pino) shortened to their level and message.
 */
export function tail(file: string, lines = 10, from = 0): string {
  if (!existsSync(file)) return ''
  return readFileSync(file)
    .subarray(from)
    .toString('utf8')
    .trimEnd()
    .split('\n')
    .slice(-lines)
    .map(readableLine)
    .join('\n')
}

const LEVELS: Record<number, string> = { 10: 'trace', 20: 'debug', 30: 'info', 40: 'warn', 50: 'error', 60: 'fatal' }

/** A pino JSON line as `level: msg (err)`; any other line as it is. */
export function readableLine(line: string): string {
  if (!line.startsWith('{')) return line
  try {
    const o = JSON.parse(line) as { level?: number; msg?: string; err?: unknown; error?: unknown }
    if (typeof o.msg !== 'string') return line
    const err = o.err ?? o.error
    const why = typeof err === 'string' ? ` (${err})` : ''
    return `${LEVELS[o.level ?? 30] ?? 'info'}: ${o.msg}${why && !o.msg.includes(String(err)) ? why : ''}`
  } catch {
    return line
  }
}

/** What {@link startService} did. */
export type StartOutcome =
  | { readonly state: 'started'; readonly pid: number }
  | { readonly state: 'already-running'; readonly pid: number }
  | { readonly state: 'died'; readonly code: number | null; readonly tail: string }
  | { readonly state: 'not-ready'; readonly pid: number; readonly tail: string }

/**
 * Starts a service in the background (detached, outlives this process), appending to its log, and
 * writes its pid file; then waits until `ready(output so far)` says yes, the process dies, or `timeoutMs` passes.
 * Does nothing when it is already running.
 */
export async function startService(
  s: Service,
  opts: { ready?: (newLog: string) => Promise<boolean>; timeoutMs?: number } = {},
): Promise<StartOutcome> {
  const running = runningPid(s)
  if (running !== null) return { state: 'already-running', pid: running }
  mkdirSync(logsDir, { recursive: true })
  rmSync(pidFile(s.name), { force: true })
  const log = logFile(s.name)
  const from = existsSync(log) ? readFileSync(log).length : 0
  const fd = openSync(log, 'a')
  const { command, args } = serviceArgv(s)
  const child = spawn(command, args, {
    cwd: repoRoot,
    env: { ...process.env, ...s.env },
    detached: true,
    stdio: ['ignore', fd, fd],
  })
  closeSync(fd)
  let exit: number | null | undefined
  child.once('exit', (code, signal) => {
    exit = code ?? (signal ? 128 : null)
  })
  const pid = child.pid
  if (pid === undefined) return { state: 'died', code: null, tail: `could not spawn ${command}` }
  writePidFile(pidFile(s.name), pid)
  child.unref()
  const newLog = () => (existsSync(log) ? readFileSync(log).subarray(from).toString('utf8') : '')
  const lastLines = (n = 10) => newLog().trimEnd().split('\n').slice(-n).map(readableLine).join('\n')
  const deadline = Date.now() + (opts.timeoutMs ?? 20_000)
  for (;;) {
    await new Promise((r) => setTimeout(r, 250))
    if (exit !== undefined) {
      removePidFile(pidFile(s.name), pid)
      return { state: 'died', code: exit, tail: lastLines() }
    }
    if (!opts.ready || (await opts.ready(newLog()).catch(() => false))) return { state: 'started', pid }
    if (Date.now() > deadline) return { state: 'not-ready', pid, tail: lastLines() }
  }
}

/** What {@link stopService} did. */
export type StopOutcome = 'stopped' | 'killed' | 'not-running' | 'stale-pid-file'

/**
 * Stops a background service: SIGTERM (it shuts down cleanly), then SIGKILL after `graceMs`.
 * Removes the pid file. Safe to call when nothing runs.
 */
export async function stopService(s: Service, graceMs = 20_000): Promise<StopOutcome> {
  const { command, args } = serviceArgv(s)
  const found = inspectPidFile(pidFile(s.name), [command, ...args])
  if (found.state === 'absent') return 'not-running'
  if (found.state === 'stale') {
    rmSync(pidFile(s.name), { force: true })
    return 'stale-pid-file'
  }
  const result = await stopProcess(found.record, graceMs)
  removePidFile(pidFile(s.name), found.record.pid)
  return result === 'killed' ? 'killed' : 'stopped'
}
