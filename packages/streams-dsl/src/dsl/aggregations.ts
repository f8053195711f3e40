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
