import { execFileSync } from 'node:child_process'
import { existsSync, mkdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs'
import { dirname } from 'node:path'

/**
 * What identifies a process beyond its pid, which the system hands out again once it has exited: its full
 * command line and the time it started. Two records are the same process only when all three are equal, so
 * a reused pid is never taken for ours, whatever the new program's command line looks like.
 */
export type ProcessRecord = {
  readonly pid: number
  /** The command line exactly (Linux: `/proc/<pid>/cmdline` split at NUL bytes). */
  readonly argv: readonly string[]
  /** When it started, in the system's own unit (Linux: clock ticks after boot, `/proc/<pid>/stat` field 22). */
  readonly startTime: string
}

const hasProc = existsSync('/proc/self/stat')

/** The record of a live process, or null when it is gone or a zombie (exited, not yet reaped by its parent). */
export function processRecord(pid: number): ProcessRecord | null {
  if (!Number.isInteger(pid) || pid <= 0) return null
  return hasProc ? procRecord(pid) : psRecord(pid)
}

function procRecord(pid: number): ProcessRecord | null {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8')
    // "pid (comm) state ppid ...": comm may hold spaces and parentheses, so count fields after the last ')'.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ')
    const [state, startTime] = [fields[0], fields[19]]
    if (state === 'Z' || state === 'X' || startTime === undefined) return null
    const argv = readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0')
    if (argv.at(-1) === '') argv.pop() // the NUL that ends the last argument
    return argv.length > 0 ? { pid, argv, startTime } : null
  } catch {
    return null
  }
}

/**
 * Without /proc (macOS): `ps`, whose command column joins the arguments with spaces (one string, compared
 * whole). Exported for its test.
 */
export function psRecord(pid: number): ProcessRecord | null {
  try {
    const out = execFileSync('ps', ['-ww', '-o', 'stat=', '-o', 'lstart=', '-o', 'command=', '-p', String(pid)], {
      encoding: 'utf8',
      stdio: ['ignore', 'pipe', 'ignore'],
    })
    const m = /^\s*(\S+)\s+(\S+\s+\S+\s+\d+\s+[\d:]+\s+\d+)\s(.*)$/.exec(out.trimEnd())
    if (!m || m[1]?.startsWith('Z')) return null
    return { pid, argv: [m[3] ?? ''], startTime: m[2] ?? '' }
  } catch {
    return null
  }
}

/** True when `record` still describes a live process: same pid, same start time, same command line exactly. */
export function isAlive(record: ProcessRecord): boolean {
  const now = processRecord(record.pid)
  return now !== null && now.startTime === record.startTime && sameArgv(now.argv, record.argv)
}

/** Exact equality of two command lines: same arguments in the same order, no prefix or substring match. */
export function sameArgv(a: readonly string[], b: readonly string[]): boolean {
  return a.length === b.length && a.every((arg, i) => arg === b[i])
}

/**
 * Writes a pid file for a live process: the pid on the first line (what `kill $(head -1 <file>)` expects), its
 * {@link ProcessRecord} as JSON on the second. Written to a temporary file and renamed, so a reader never sees
 * half of it. Returns the record, or null (nothing written) when the process is already gone.
 *
 * @example
 * const child = spawn('redis-server', ['--port', '6380'])
 * writePidFile('.run/pipeline/redis.pid', child.pid!)
 */
export function writePidFile(file: string, pid: number): ProcessRecord | null {
  const record = processRecord(pid)
  if (!record) return null
  mkdirSync(dirname(file), { recursive: true })
  const tmp = `${file}.${process.pid}.tmp`
  writeFileSync(tmp, `${pid}\n${JSON.stringify({ argv: record.argv, startTime: record.startTime })}\n`)
  renameSync(tmp, file)
  return record
}

/** What a pid file holds: the pid, and the record when the file has one (files of older versions hold only the pid). */
export type PidFileContent = { readonly pid: number; readonly record: ProcessRecord | null }

/** Reads a pid file; null when there is none or it does not start with a pid. */
export function readPidFile(file: string): PidFileContent | null {
  let text: string
  try {
    text = readFileSync(file, 'utf8')
  } catch {
    return null
  }
  const [first, second] = text.split('\n')
  const pid = Number(first?.trim())
  if (!Number.isInteger(pid) || pid <= 0) return null
  try {
    const { argv, startTime } = JSON.parse(second ?? '') as { argv?: unknown; startTime?: unknown }
    if (Array.isArray(argv) && argv.every((a) => typeof a === 'string') && typeof startTime === 'string') {
      return { pid, record: { pid, argv, startTime } }
    }
  } catch {
    // a pid-only file
  }
  return { pid, record: null }
}

/** What a pid file says about its process. */
export type PidFileState =
  | { readonly state: 'absent' }
  | { readonly state: 'running'; readonly record: ProcessRecord }
  /** Not ours (any more): the process is gone, or the pid now belongs to another program (`other` is what runs there). */
  | { readonly state: 'stale'; readonly pid: number | null; readonly other: ProcessRecord | null }

/**
 * Whether the process a pid file names still runs. A file without a record (older versions) matches only a
 * process whose command line is exactly `expectedArgv`; without `expectedArgv` such a file is stale.
 */
export function inspectPidFile(file: string, expectedArgv?: readonly string[]): PidFileState {
  if (!existsSync(file)) return { state: 'absent' }
  const content = readPidFile(file)
  if (!content) return { state: 'stale', pid: null, other: null }
  const live = processRecord(content.pid)
  if (!live) return { state: 'stale', pid: content.pid, other: null }
  const ours = content.record
    ? live.startTime === content.record.startTime && sameArgv(live.argv, content.record.argv)
    : expectedArgv !== undefined && sameArgv(live.argv, expectedArgv)
  return ours ? { state: 'running', record: live } : { state: 'stale', pid: content.pid, other: live }
}

/** Removes a pid file if it still names `pid` (a newer run may have written its own meanwhile). */
export function removePidFile(file: string, pid: number): void {
  if (readPidFile(file)?.pid === pid) rmSync(file, { force: true })
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms))

/** How {@link stopProcess} ended: it exited after SIGTERM, had to be SIGKILLed, or was gone already. */
export type StopResult = 'stopped' | 'killed' | 'gone'

/**
 * Stops the process a record describes: SIGTERM (a clean stop), SIGKILL after `graceMs` if it still runs.
 * Checks the record before each signal, so a process that exited meanwhile and whose pid was reused is never
 * signalled. Works for processes that are not our children (it polls instead of waiting).
 */
export async function stopProcess(record: ProcessRecord, graceMs: number): Promise<StopResult> {
  if (!signal(record, 'SIGTERM')) return 'gone'
  const deadline = Date.now() + graceMs
  while (isAlive(record) && Date.now() < deadline) await sleep(100)
  if (!signal(record, 'SIGKILL')) return 'stopped'
  for (let i = 0; i < 100 && isAlive(record); i++) await sleep(50)
  return 'killed'
}

/** Sends `sig` when the record still describes a live process; false when it does not (nothing sent). */
function signal(record: ProcessRecord, sig: NodeJS.Signals): boolean {
  if (!isAlive(record)) return false
  try {
    process.kill(record.pid, sig)
    return true
  } catch {
    return false
  }
}
