import { spawn, spawnSync } from 'node:child_process'
import { mkdtempSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'

/** One load run's figures: throughput, latency percentiles in ms, and what went wrong. */
export type LoadRun = {
  requestsPerSecond: number
  p50Ms: number
  p90Ms: number
  p99Ms: number
  maxMs: number
  requests: number
  non2xx: number
  errors: number
}

/** Whether Debian's `wrk` is on the PATH. */
export function hasWrk(): boolean {
  return spawnSync('wrk', ['--version'], { stdio: 'ignore' }).error === undefined
}

const toMs = (value: string): number => {
  const m = /^([\d.]+)(us|ms|s|m)$/.exec(value.trim())
  if (!m) return Number.NaN
  const n = Number(m[1])
  return m[2] === 'us' ? n / 1000 : m[2] === 'ms' ? n : m[2] === 's' ? n * 1000 : n * 60_000
}

/**
 * Parses wrk's text report (run with `--latency`).
 *
 * @example
 * parseWrk(stdout).requestsPerSecond
 */
export function parseWrk(out: string): LoadRun {
  const pct = (p: string) => toMs(new RegExp(`^\\s+${p}%\\s+(\\S+)`, 'm').exec(out)?.[1] ?? '')
  const errors = /Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)/.exec(out)
  return {
    requestsPerSecond: Math.round(Number(/Requests\/sec:\s+([\d.]+)/.exec(out)?.[1] ?? Number.NaN)),
    p50Ms: pct('50'),
    p90Ms: pct('90'),
    p99Ms: pct('99'),
    maxMs: toMs(/Latency\s+\S+\s+\S+\s+(\S+)/.exec(out)?.[1] ?? ''),
    requests: Number(/(\d+) requests in/.exec(out)?.[1] ?? Number.NaN),
    non2xx: Number(/Non-2xx or 3xx responses: (\d+)/.exec(out)?.[1] ?? 0),
    errors: errors ? errors.slice(1).reduce((a, b) => a + Number(b), 0) : 0,
  }
}

/**
 * Runs `wrk --latency` against `url` (1 thread, `connections` connections, `seconds` s) as a separate process.
 * `paths` (a Lua expression of `i`, the request number) spreads requests over several paths.
 *
 * @example
 * await wrk({ url: 'http://127.0.0.1:8000/ctr/latest', connections: 32, seconds: 10 })
 */
export function wrk(o: { url: string; connections: number; seconds: number; paths?: string }): Promise<LoadRun> {
  const args = ['-t1', `-c${o.connections}`, `-d${o.seconds}s`, '--latency']
  if (o.paths) {
    const script = join(mkdtempSync(join(tmpdir(), 'wrk-')), 'paths.lua')
    writeFileSync(
      script,
      `local i = 0\nrequest = function()\n  i = i + 1\n  return wrk.format("GET", ${o.paths})\nend\n`,
    )
    args.push('-s', script)
  }
  args.push(o.url)
  return new Promise((resolve, reject) => {
    const child = spawn('wrk', args, { stdio: ['ignore', 'pipe', 'inherit'] })
    let out = ''
    child.stdout.on('data', (d: Buffer) => {
      out += d.toString()
    })
    child.on('error', reject)
    child.on('exit', (code) => {
      if (code !== 0) return reject(new Error(`wrk exited with ${code}: ${out}`))
      resolve(parseWrk(out))
    })
  })
}
