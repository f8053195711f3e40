import type { Aggregation } from '../core/aggregation.js'

export type { Aggregation } from '../core/aggregation.js'

/**
 * Counts events.
 *
 * @example
 * keyed.window(tumbling('1m')).aggregate(count())
 */
export function count(): Aggregation<unknown, number, number> {
  return { name: 'count', init: () => 0, add: (a) => a + 1, merge: (a, b) => a + b, result: (a) => a }
}

/**
 * Sums a number read from each event.
 *
 * @example
 * orders.keyBy((o) => o.shop).window(tumbling('1h')).aggregate(sum((o) => o.amount))
 */
export function sum<T>(field: (value: T) => number): Aggregation<T, number, number> {
  return { name: 'sum', init: () => 0, add: (a, v) => a + field(v), merge: (a, b) => a + b, result: (a) => a }
}

const IDENTIFIER = /^[A-Za-z_$][\w$]*$/

/**
 * `acc.a += v.a; acc.b += v.b` as straight-line code: named property access stays monomorphic and fast,
 * where a loop over field names is a slow keyed lookup. Field names are checked to be identifiers first.
 */
function compileSumAdd<F extends string>(
  fields: readonly F[],
): (acc: Record<F, number>, v: { readonly [k in F]: number }) => Record<F, number> {
  if (fields.every((f) => IDENTIFIER.test(f))) {
    const body = `${fields.map((f) => `acc.${f} += v.${f};`).join(' ')} return acc`
    return new Function('acc', 'v', body) as (
      acc: Record<F, number>,
      v: { readonly [k in F]: number },
    ) => Record<F, number>
  }
  return (acc, v) => {
    for (const f of fields) acc[f] += v[f]
    return acc
  }
}

/** `(acc) => ({ a: <expr a>, b: <expr b> })`: object literals share one hidden class. */
function compileObject<F extends string>(
  fields: readonly F[],
  expr: (f: F) => string | number,
): (acc?: Record<F, number>) => Record<F, number> {
  if (fields.every((f) => IDENTIFIER.test(f))) {
    return new Function('acc', `return { ${fields.map((f) => `${f}: ${expr(f)}`).join(', ')} }`) as (
      acc?: Record<F, number>,
    ) => Record<F, number>
  }
  return (acc) => {
    const out = {} as Record<F, number>
    for (const f of fields) out[f] = acc ? acc[f] : 0
    return out
  }
}

/**
 * Sums several numeric fields at once into one object, e.g. impressions and clicks.
 *
 * @example
 * events.keyBy((e) => e.productId).window(tumbling('10s')).aggregate(sumOf('impressions', 'clicks'))
 */
export function sumOf<F extends string>(
  ...fields: F[]
): Aggregation<{ readonly [k in F]: number }, Record<F, number>, Record<F, number>> {
  if (fields.length === 0) throw new TypeError("sumOf: name at least one numeric field, e.g. sumOf('views', 'orders')")
  const init = compileObject<F>(fields, () => 0)
  return {
    name: `sumOf(${fields.join(',')})`,
    init,
    // mutates in place: one accumulator per key and window, never shared
    add: compileSumAdd<F>(fields),
    merge: (a, b) => {
      const out = init()
      for (const f of fields) out[f] = a[f] + b[f]
      return out
    },
    // a copy, because the accumulator keeps changing after a firing
    result: compileObject<F>(fields, (f) => `acc.${f}`) as (acc: Record<F, number>) => Record<F, number>,
  }
}

/**
 * Arithmetic mean of a number read from each event.
 *
 * @example
 * readings.keyBy((r) => r.sensor).window(tumbling('1m')).aggregate(avg((r) => r.celsius))
 */
export function avg<T>(field: (value: T) => number): Aggregation<T, { sum: number; count: number }, number> {
  return {
    name: 'avg',
    init: () => ({ sum: 0, count: 0 }),
    add: (a, v) => {
      a.sum += field(v)
      a.count++
      return a
    },
    merge: (a, b) => ({ sum: a.sum + b.sum, count: a.count + b.count }),
    result: (a) => a.sum / a.count,
  }
}

function extreme<T>(name: string, field: (value: T) => number, pick: (a: number, b: number) => number) {
  return {
    name,
    init: () => null,
    add: (a: number | null, v: T) => (a === null ? field(v) : pick(a, field(v))),
    merge: (a: number | null, b: number | null) => (a === null ? b : b === null ? a : pick(a, b)),
    result: (a: number | null) => a as number,
  } satisfies Aggregation<T, number | null, number>
}

/**
 * Smallest number read from the events of a window.
 *
 * @example
 * prices.keyBy((p) => p.sku).window(tumbling('1m')).aggregate(min((p) => p.price))
 */
export function min<T>(field: (value: T) => number): Aggregation<T, number | null, number> {
  return extreme('min', field, Math.min)
}

/**
 * Largest number read from the events of a window.
 *
 * @example
 * prices.keyBy((p) => p.sku).window(tumbling('1m')).aggregate(max((p) => p.price))
 */
export function max<T>(field: (value: T) => number): Aggregation<T, number | null, number> {
  return extreme('max', field, Math.max)
}

/**
 * Folds events with a binary function; the first event is the initial value.
 *
 * @example
 * keyed.window(tumbling('1m')).aggregate(reducing((a, b) => (a.ts > b.ts ? a : b)))
 */
export function reducing<T>(fn: (a: T, b: T) => T): Aggregation<T, { v: T } | null, T> {
  return {
    name: 'reduce',
    init: () => null,
    add: (a, v) => (a === null ? { v } : { v: fn(a.v, v) }),
    merge: (a, b) => (a === null ? b : b === null ? a : { v: fn(a.v, b.v) }),
    result: (a) => (a as { v: T }).v,
  }
}

/**
 * One entry of a {@link topN} ranking: a key and its score (its events' summed `score`, else their count).
 *
 * @example
 * const first: Ranked | undefined = result.value.top[0] // { key: 'p-7', score: 31 }
 */
export type Ranked = { readonly key: string; readonly score: number }

/**
 * The result of {@link topN}: the `n` best keys, best first, and how many keys and how much score in all.
 *
 * @example
 * .map((r: Windowed<string, TopN>) => ({ start: r.window.start, best: r.value.top.map((t) => t.key), clicks: r.value.total }))
 */
export type TopN = {
  readonly top: readonly Ranked[]
  /** Distinct keys among the events. */
  readonly keys: number
  /** The score of every key together (the number of events when no `score` is given). */
  readonly total: number
}

/**
 * {@link topN}'s accumulator: per-key scores kept as JSON (window state is snapshotted as JSON), each key stored as
 * `#<key>`, so no key — not even `__proto__` or `constructor` — can meet a property every object has.
 *
 * @example
 * const acc: TopNState = { '#p-7': 31, '#p-2': 4 }
 */
export type TopNState = Record<string, number>

/**
 * Top-N: the `n` keys with the highest score among the events aggregated (a window's, or all of them for a
 * table), best first, ties broken by key in code-point order. The score of a key is the sum of `score` over its
 * events, or their count without `score`. As SQL's `ORDER BY score DESC LIMIT n` per window (Flink's Top-N):
 * state is one number per distinct key; the ranking is computed once per result.
 *
 * A ranking needs every event of the window in one place: key the stream by what is ranked within (a constant
 * for one ranking per window, or a category), not by the ranked key.
 *
 * @example
 * // the 5 most clicked products of each minute
 * clicks.keyBy(() => 'all').window(tumbling('1m')).aggregate(topN({ n: 5, key: (c) => c.product_id }))
 * // { top: [{ key: 'p-7', score: 31 }, ...], keys: 812, total: 4210 }
 * // the 3 best-selling products per shop and hour, by revenue
 * orders.keyBy((o) => o.shop).window(tumbling('1h')).aggregate(topN({ n: 3, key: (o) => o.sku, score: (o) => o.amount }))
 */
export function topN<T>(options: {
  readonly n: number
  readonly key: (value: T) => string
  readonly score?: (value: T) => number
}): Aggregation<T, TopNState, TopN> {
  const { n, key, score } = options
  if (!Number.isInteger(n) || n < 1) throw new RangeError(`topN: n must be a whole number >= 1, got ${n}`)
  if (typeof key !== 'function')
    throw new TypeError('topN: key must be a function of an event giving the ranked key, e.g. { key: (e) => e.id }')
  if (score !== undefined && typeof score !== 'function')
    throw new TypeError('topN: score must be a function of an event giving a number, e.g. { score: (e) => e.amount }')
  return {
    name: `top-${n}`,
    init: () => ({}),
    add: (acc, v) => {
      const k = `#${key(v)}`
      let s = 1
      if (score !== undefined) {
        s = score(v)
        if (typeof s !== 'number' || !Number.isFinite(s))
          throw new TypeError(`topN: score of an event for key "${k.slice(1)}" is ${String(s)}, not a finite number`)
      }
      acc[k] = (acc[k] ?? 0) + s
      return acc
    },
    merge: (a, b) => {
      const out = { ...a }
      for (const k in b) out[k] = (out[k] ?? 0) + (b[k] as number)
      return out
    },
    result: (acc) => {
      let keys = 0
      let total = 0
      // keep the best n while scanning: O(keys * n) at worst, no sort of every key
      const best: Ranked[] = []
      for (const k in acc) {
        const s = acc[k] as number
        keys++
        total += s
        const key = k.slice(1)
        if (best.length === n) {
          const last = best[n - 1] as Ranked
          if (s < last.score || (s === last.score && key > last.key)) continue
        }
        let i = best.length
        while (i > 0) {
          const prev = best[i - 1] as Ranked
          if (prev.score > s || (prev.score === s && prev.key < key)) break
          i--
        }
        best.splice(i, 0, { key, score: s })
        if (best.length > n) best.pop()
      }
      return { top: best, keys, total }
    },
  }
}
