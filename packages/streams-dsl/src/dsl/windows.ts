import { type Duration, formatDuration, toMillis } from './duration.js'

/** A time window `[start, end)` in epoch ms. */
export type Window = { readonly start: number; readonly end: number }

/** A result of a windowed aggregation: the key, its window, the value, and whether it was emitted after the window closed. */
export type Windowed<K, V> = {
  readonly key: K
  readonly window: Window
  readonly value: V
  /** True when emitted after the window had already fired (a late event updated it). */
  readonly lateFiring: boolean
}

/**
 * How events map to windows. Windows are aligned to the epoch: `start = floor((ts - offset) / advance) * advance + offset`.
 * `windowStarts` is pure, so the assigner is trivially testable.
 */
export type WindowSpec = {
  readonly kind: 'tumbling' | 'hopping' | 'session'
  readonly size: number
  readonly advance: number
  readonly name: string
}

/**
 * Fixed-size, non-overlapping windows.
 *
 * @example
 * keyed.window(tumbling('10s'))
 */
export function tumbling(size: Duration): WindowSpec {
  const ms = toMillis(size, 'tumbling window size')
  if (ms <= 0) throw new RangeError('tumbling window size must be positive')
  return Object.freeze({ kind: 'tumbling', size: ms, advance: ms, name: `tumbling-${formatDuration(ms)}` })
}

/**
 * Fixed-size windows that start every `advance`; an event belongs to `size / advance` windows.
 *
 * @example
 * keyed.window(hopping({ size: '1m', advance: '10s' }))
 */
export function hopping(options: { size: Duration; advance: Duration }): WindowSpec {
  const size = toMillis(options.size, 'hopping window size')
  const advance = toMillis(options.advance, 'hopping window advance')
  if (size <= 0 || advance <= 0) throw new RangeError('hopping window size and advance must be positive')
  if (advance > size) throw new RangeError(`hopping window advance ${advance}ms exceeds its size ${size}ms`)
  return Object.freeze({
    kind: 'hopping',
    size,
    advance,
    name: `hopping-${formatDuration(size)}-every-${formatDuration(advance)}`,
  })
}

/**
 * Session windows: a key's events closer than `gap` to each other form one window `[first, last + gap)`.
 * Needs an aggregation with `merge` (all built-ins have one).
 *
 * @example
 * clicks.keyBy((c) => c.user_id).window(session('30m')).count()
 */
export function session(gap: Duration): WindowSpec {
  const ms = toMillis(gap, 'session gap')
  if (ms <= 0) throw new RangeError('session gap must be positive')
  return Object.freeze({ kind: 'session', size: ms, advance: ms, name: `session-${formatDuration(ms)}` })
}

/**
 * Start times of every window containing `ts`, oldest first, written into `out`; returns how many.
 *
 * @example
 * const out: number[] = []; windowStarts(tumbling('10s'), 12_345, out) // 1, out = [10_000]
 */
export function windowStarts(spec: WindowSpec, ts: number, out: number[]): number {
  if (spec.kind === 'session') {
    out[0] = ts // the proto-window [ts, ts + gap), before merging
    return 1
  }
  const last = Math.floor(ts / spec.advance) * spec.advance
  let n = 0
  for (let s = last - Math.ceil(spec.size / spec.advance - 1) * spec.advance; s <= last; s += spec.advance) {
    if (s + spec.size > ts) out[n++] = s
  }
  return n
}
