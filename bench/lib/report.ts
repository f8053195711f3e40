import { mkdirSync, writeFileSync } from 'node:fs'
import { arch, cpus, hostname, platform, release, totalmem } from 'node:os'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'

/** Where every benchmark writes its JSON result. */
export const resultsDir = join(dirname(fileURLToPath(import.meta.url)), '..', 'results')

/** The machine a figure was measured on, stored with every result. */
export function machine() {
  const cpu = cpus()
  return {
    hostname: hostname(),
    platform: `${platform()} ${release()} ${arch()}`,
    cpu: cpu[0]?.model ?? 'unknown',
    cores: cpu.length,
    memoryGiB: Math.round((totalmem() / 2 ** 30) * 10) / 10,
    node: process.version,
  }
}

/**
 * Writes `bench/results/<name>.json` with the machine, the settings and the figures, and prints a summary.
 *
 * @example
 * writeResult('ctr-aggregation', { events: 5_000_000 }, { eventsPerSecond: 3.1e6 })
 */
export function writeResult(name: string, settings: Record<string, unknown>, results: Record<string, unknown>): string {
  mkdirSync(resultsDir, { recursive: true })
  const file = join(resultsDir, `${name}.json`)
  const body = { name, date: new Date().toISOString(), machine: machine(), settings, results }
  writeFileSync(file, `${JSON.stringify(body, null, 2)}\n`)
  console.log(`[bench] ${name}: ${JSON.stringify(results)}`)
  console.log(`[bench] written ${file}`)
  return file
}
