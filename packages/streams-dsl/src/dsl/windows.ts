import { type Duration, formatDuration, toMillis } from '../core/duration.js'
import type { WindowSpec } from '../core/window.js'

export { type Window, type Windowed, type WindowSpec, windowStarts } from '../core/window.js'

/**
 * Fixed-size, non-overlapping windows.
 *
 * @example
 * keyed.window(tumbling('10s'))
 */
export function tumbling(size: Duration): WindowSpec {
  const ms = toMillis(size, 'tumbling window size')
  if (ms <= 0) throw new RangeError(`tumbling window size must be positive, got ${ms}ms: e.g. tumbling('10s')`)
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
  if (size <= 0 || advance <= 0)
    throw new RangeError(
      `hopping window size and advance must be positive, got ${size}ms and ${advance}ms: e.g. hopping({ size: '1m', advance: '10s' })`,
    )
  if (advance > size)
    throw new RangeError(
      `hopping window advance ${advance}ms exceeds its size ${size}ms, which would leave gaps between windows: use an advance of at most the size (tumbling(size) when they are equal)`,
    )
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
  if (ms <= 0) throw new RangeError(`session gap must be positive, got ${ms}ms: e.g. session('30m')`)
  return Object.freeze({ kind: 'session', size: ms, advance: ms, name: `session-${formatDuration(ms)}` })
}

/**
 * Sliding windows (Kafka Streams' `SlidingWindows`): for every record of a key at time `t`, the window of that
 * key's records within `timeDifference` before it, both ends included — `[t - timeDifference, t]`, reported as
 * `{ start: t - timeDifference, end: t + 1 }` (end exclusive, as every `Window`). A window exists only where a
 * record of the key is, so each key gets one result per distinct timestamp, not one per hop. A record also
 * updates the key's later windows it falls into (those ending up to `timeDifference` after it). Needs an
 * aggregation with `merge` (all built-ins have one): a new window merges what is stored per timestamp.
 *
 * @example
 * // per user, the clicks within 1 minute before each click
 * clicks.keyBy((c) => c.user_id).window(sliding('1m'), { allowedLateness: '5s' }).count()
 */
export function sliding(timeDifference: Duration): WindowSpec {
  const ms = toMillis(timeDifference, 'sliding window time difference')
  if (ms <= 0) throw new RangeError(`sliding window time difference must be positive, got ${ms}ms: e.g. sliding('1m')`)
  return Object.freeze({ kind: 'sliding', size: ms, advance: 1, name: `sliding-${formatDuration(ms)}` })
}
