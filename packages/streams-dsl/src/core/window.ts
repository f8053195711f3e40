/**
 * Windows as the DSL, the graph and the runtime share them: the window of a result, the result itself and how
 * events map to windows.
 */

/**
 * A time window `[start, end)` in epoch ms.
 *
 * @example
 * const w: Window = { start: 1735732800000, end: 1735732810000 } // [12:00:00, 12:00:10)
 */
export type Window = {
  /** Inclusive, epoch ms. */
  readonly start: number
  /** Exclusive, epoch ms. */
  readonly end: number
}

/**
 * A result of a windowed aggregation: the key, its window, the value, and whether it was emitted after the window
 * had fired (a late firing).
 *
 * @example
 * keyed.window(tumbling('1m')).count().map((r: Windowed<string, number>) => ({ page: r.key, views: r.value, from: r.window.start }))
 */
export type Windowed<K, V> = {
  /** The key of the keyBy. */
  readonly key: K
  readonly window: Window
  /** The aggregation's result. */
  readonly value: V
  /** True when emitted after the window had already fired (a late event updated it). */
  readonly lateFiring: boolean
}

/**
 * How events map to windows, made by `tumbling`, `hopping`, `session` or `sliding`. Tumbling and hopping windows
 * are aligned to the epoch: `start = floor(ts / advance) * advance`; session and sliding windows follow the
 * records of each key.
 *
 * @example
 * hopping({ size: '1m', advance: '10s' }) // { kind: 'hopping', size: 60000, advance: 10000, name: 'hopping-1m-every-10s' }
 */
export type WindowSpec = {
  readonly kind: 'tumbling' | 'hopping' | 'session' | 'sliding'
  /** Window length, ms (for sessions: the gap; for sliding windows: the time difference, see `sliding`). */
  readonly size: number
  /** How far apart window starts are, ms (= size for tumbling windows). */
  readonly advance: number
  /** Shown in `describe()`, e.g. `tumbling-10s`. */
  readonly name: string
}

/**
 * Start times of every window containing `ts`, oldest first, written into `out`; returns how many.
 *
 * @example
 * const out: number[] = []; windowStarts({ kind: 'tumbling', size: 10_000, advance: 10_000, name: 'tumbling-10s' }, 12_345, out) // 1, out = [10_000]
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
