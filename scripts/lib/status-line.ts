/** The job figures the live status line shows, read from the job's `/status` JSON. */
export type JobFigures = {
  readonly eventsIn: number
  readonly watermark: number | null
  readonly windowsEmitted: number
  readonly lateFirings: number
  readonly late: number
  readonly deadLetters: number
}

const num = (v: unknown): number | null => (typeof v === 'number' && Number.isFinite(v) ? v : null)

/**
 * Reads the figures from the job's `/status` body: the engine's `counters` and `watermark`, at the top
 * level or under `engine`. Returns null when the body has neither (not the job, or not ready).
 *
 * @example
 * jobFigures({ watermark: 5, counters: { eventsIn: 9, late: 0, deadLetters: 1, windowsEmitted: 2, lateFirings: 0 } })
 */
export function jobFigures(body: unknown): JobFigures | null {
  if (typeof body !== 'object' || body === null) return null
  const b = body as Record<string, unknown>
  const engine = (typeof b.engine === 'object' && b.engine !== null ? b.engine : b) as Record<string, unknown>
  const c = engine.counters as Record<string, unknown> | undefined
  if (typeof c !== 'object' || c === null) return null
  return {
    eventsIn: num(c.eventsIn) ?? 0,
    watermark: num(engine.watermark),
    windowsEmitted: num(c.windowsEmitted) ?? 0,
    lateFirings: num(c.lateFirings) ?? 0,
    late: num(c.late) ?? 0,
    deadLetters: num(c.deadLetters) ?? 0,
  }
}

const int = (n: number) => Math.round(n).toLocaleString('en-US')
const clock = (ms: number) => new Date(ms).toISOString().slice(11, 19)

/**
 * One compact line: input rate since the previous sample, watermark (UTC, and how far it trails the
 * wall clock), windows emitted (late firings), late events and dead letters.
 *
 * @example
 * formatStatusLine(now, prev, 2000, Date.now()) // '1,204 ev/s | watermark 12:00:03 UTC (-4.1 s) | windows 380 (+2 late) | late 3 | DLQ 12'
 */
export function formatStatusLine(
  now: JobFigures,
  before: JobFigures | null,
  elapsedMs: number,
  wallClock: number,
): string {
  const rate = before && elapsedMs > 0 ? ((now.eventsIn - before.eventsIn) * 1000) / elapsedMs : 0
  const wm =
    now.watermark === null
      ? 'watermark -'
      : `watermark ${clock(now.watermark)} UTC (${((now.watermark - wallClock) / 1000).toFixed(1)} s)`
  return (
    `${int(Math.max(0, rate))} ev/s | ${wm} | windows ${int(now.windowsEmitted)} (+${int(now.lateFirings)} late) | ` +
    `late ${int(now.late)} | DLQ ${int(now.deadLetters)}`
  )
}
