import { spawn, spawnSync } from 'node:child_process'
import { readFileSync } from 'node:fs'
import { createServer } from 'node:net'
import { createInterface } from 'node:readline'

/** True when a command is on the PATH. */
export const installed = (command: string): boolean =>
  spawnSync('sh', ['-c', `command -v ${command}`], { stdio: 'ignore' }).status === 0

/** Runs a command to its end; resolves with its stdout lines, wall seconds and exit code. Rejects on a spawn error. */
export function runToEnd(
  command: string,
  args: readonly string[],
  options: { env?: NodeJS.ProcessEnv; onLine?: (line: string) => void; keepLines?: boolean } = {},
): Promise<{ lines: string[]; seconds: number; code: number | null; stderr: string }> {
  return new Promise((resolve, reject) => {
    const started = performance.now()
    const child = spawn(command, args, { env: options.env ?? process.env, stdio: ['ignore', 'pipe', 'pipe'] })
    const lines: string[] = []
    let stderr = ''
    createInterface({ input: child.stdout }).on('line', (l) => {
      options.onLine?.(l)
      if (options.keepLines !== false) lines.push(l)
    })
    child.stderr.on('data', (d) => {
      stderr += String(d)
      if (stderr.length > 100_000) stderr = stderr.slice(-50_000)
    })
    child.on('error', reject)
    child.on('close', (code) => resolve({ lines, seconds: (performance.now() - started) / 1000, code, stderr }))
  })
}

/** The median of the numbers (null when there are none). */
export function median(xs: readonly (number | null | undefined)[]): number | null {
  const done = xs.filter((x): x is number => typeof x === 'number').sort((a, b) => a - b)
  return done.length ? (done[Math.floor(done.length / 2)] as number) : null
}

/** A free TCP port on 127.0.0.1. */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer()
    s.on('error', reject)
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address() as { port: number }
      s.close(() => resolve(port))
    })
  })
}

/** Peak resident set of a running process (the kernel's high-water mark), bytes; null once it is gone. */
export function peakRss(pid: number): number | null {
  try {
    const m = /VmHWM:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))
    return m ? Number(m[1]) * 1024 : null
  } catch {
    return null
  }
}
