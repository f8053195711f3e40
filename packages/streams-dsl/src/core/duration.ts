/**
 * A span of time: milliseconds as a number, or a string such as `'250ms'`, `'10s'`, `'5m'`, `'1h'`, `'1d'`.
 *
 * @example
 * const lateness: Duration = '5s' // same as 5000
 */
export type Duration = number | `${number}${'ms' | 's' | 'm' | 'h' | 'd'}`

const UNIT_MS: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 }
const PATTERN = /^(\d+(?:\.\d+)?)(ms|s|m|h|d)$/

/**
 * Converts a {@link Duration} to whole milliseconds; throws a one-line error for anything else.
 *
 * @example
 * toMillis('10s') // 10000
 */
export function toMillis(d: Duration, what = 'duration'): number {
  if (typeof d === 'number') {
    if (!Number.isFinite(d) || d < 0) throw new RangeError(`${what}: ${d} is not a non-negative number of milliseconds`)
    return Math.round(d)
  }
  const m = PATTERN.exec(String(d).trim())
  if (!m) throw new RangeError(`${what}: "${d}" is not a duration (use e.g. 250ms, 10s, 5m, 1h)`)
  return Math.round(Number(m[1]) * (UNIT_MS[m[2] as string] as number))
}

/**
 * Formats milliseconds compactly for names and descriptions (`10000` -> `'10s'`).
 *
 * @example
 * formatDuration(300_000) // '5m'
 */
export function formatDuration(ms: number): string {
  if (ms === 0) return '0ms'
  for (const [unit, size] of [
    ['d', 86_400_000],
    ['h', 3_600_000],
    ['m', 60_000],
    ['s', 1000],
  ] as const) {
    if (ms % size === 0) return `${ms / size}${unit}`
  }
  return `${ms}ms`
}
