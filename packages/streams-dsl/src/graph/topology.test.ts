import { describe, expect, it } from 'vitest'
import { z } from 'zod'
import type { Sink } from '../connectors/types.js'
import type { Windowed } from '../dsl/windows.js'
import { count, json, sumOf, topic, topology, tumbling } from '../index.js'
import { GraphBuilder } from './graph-builder.js'
import { chainedKeyBys, keyByPartitioning } from './repartition.js'
import { compileTopology, TopologyError } from './topology.js'

const Ev = z.object({ product_id: z.string(), n: z.number() })
const sink = <T>(name: string): Sink<T> => ({ name, write: async () => {} })
const watermarks = { maxOutOfOrderness: 0, idleTimeout: 10_000, maxFutureSkew: 300_000 }

function buildError(f: () => unknown): string {
  try {
    f()
  } catch (e) {
    expect(e).toBeInstanceOf(TopologyError)
    return (e as Error).message
  }
  throw new Error('expected build() to fail')
}

describe('build(): validation names the node', () => {
  it('a stream with no sink', () => {
    const app = topology('t')
    app.source(topic('in', { value: json(Ev) })).map((e) => e.n)
    expect(buildError(() => app.build())).toBe('map-2: stream with no sink: end it with .to(sink)')
  })

  it('an unused source', () => {
    const app = topology('t')
    app.source(topic('in', { value: json(Ev) }))
    expect(buildError(() => app.build())).toBe('source-in: source of topic "in" is never used: end it with .to(sink)')
  })

  it('a window without aggregation, a keyBy leading nowhere', () => {
    const a = topology('t')
    a.source(topic('in', { value: json(Ev) }))
      .keyBy((e) => e.product_id)
      .window(tumbling('1s'))
    expect(buildError(() => a.build())).toBe(
      'window-3: window without aggregation: end it with .aggregate(...), .count() or .reduce(fn), then .to(sink)',
    )
    const b = topology('t')
    b.source(topic('in', { value: json(Ev) })).keyBy((e) => e.product_id, { name: 'by-product' })
    expect(buildError(() => b.build())).toBe(
      "by-product: keyBy without window: call .window(tumbling('1m')) on it, then .count() or .aggregate(...) and .to(sink); or .count() / .aggregate(...) for running results over all time",
    )
  })

  it('a window without keyBy (only reachable below the typed DSL) and no source at all', () => {
    const g = new GraphBuilder()
    const src = g.add({ kind: 'source', topic: 'in', serde: json(Ev), timestamp: undefined, inputs: [] })
    const w = g.add({ kind: 'window', spec: tumbling(1000), allowedLateness: 0, emit: 'onClose', inputs: [src] })
    const agg = g.add({ kind: 'aggregate', aggregation: sumOf('n') as never, inputs: [w] })
    g.add({ kind: 'sink', sink: sink('x'), inputs: [agg] })
    expect(buildError(() => compileTopology('t', watermarks, g.seal()))).toBe(
      'window-2: window without keyBy: call .keyBy((value) => key) before .window()',
    )
    expect(buildError(() => topology('empty').build())).toBe(
      `topology "empty" has no source: read a topic with app.source(topic('name', { value: json(Schema) }))`,
    )
  })

  it('a topic read twice, two different sinks with one name, a second build', () => {
    const a = topology('t')
    a.source(topic('in', { value: json(Ev) })).to(sink('s'))
    expect(buildError(() => a.source(topic('in', { value: json(Ev) })))).toBe(
      'source-in: topic "in" is read twice: call app.source() once per topic and reuse the stream it returns',
    )
    const b = topology('t')
    const s = b.source(topic('in', { value: json(Ev) }))
    s.to(sink('s'))
    s.to(sink('s'))
    expect(buildError(() => b.build())).toBe(
      `sink-3: two different sinks are named "s": give one of them another name (a sink's name labels its metrics, logs and test-driver output)`,
    )
    const c = topology('t')
    c.source(topic('in', { value: json(Ev) })).to(sink('s'))
    c.build()
    expect(() => c.source(topic('other', { value: json(Ev) }))).toThrow('topology is already built')
  })
})

describe('DSL mistakes: one line saying what to pass instead', () => {
  const src = () => topology('t').source(topic('in', { value: json(Ev) }))
  const keyed = () => src().keyBy((e) => e.product_id)

  it('an operator given something other than a function', () => {
    expect(() => src().map(undefined as never)).toThrow(
      'map: pass a function of the value, e.g. .map((v) => ({ page: v.page, n: 1 })); got undefined',
    )
    expect(() => src().filter('yes' as never)).toThrow(
      `filter: pass a function of the value, e.g. .filter((v) => v.page !== ''); got string "yes"`,
    )
    expect(() => src().keyBy({ field: 'page' } as never)).toThrow(
      'keyBy: pass a function of the value, e.g. .keyBy((v) => v.page); got an object with keys field',
    )
    expect(() => src().merge({} as never)).toThrow(
      'merge: pass streams of this topology, e.g. a.merge(b); argument 1 is an object with keys (none)',
    )
  })

  it('a window or an aggregation that is not one', () => {
    expect(() => keyed().window('10s' as never)).toThrow(
      `window: pass a window spec, e.g. tumbling('10s'), hopping({ size: '1m', advance: '10s' }), session('30m') or sliding('1m'); got string "10s"`,
    )
    expect(() => keyed().window(tumbling('1s'), { emit: 'always' as never })).toThrow(
      `window: emit must be 'onClose' or 'onUpdate', not string "always"`,
    )
    expect(() =>
      keyed()
        .window(tumbling('1s'))
        .aggregate((() => 0) as never),
    ).toThrow(
      "aggregate: pass an aggregation { name, init, add, result }, e.g. count(), sum((v) => v.n) or sumOf('views', 'orders'); got a function",
    )
    expect(() => tumbling(0)).toThrow("tumbling window size must be positive, got 0ms: e.g. tumbling('10s')")
  })

  it('a source or a sink that is not one', () => {
    expect(() => topology('t').source('in' as never)).toThrow(
      `source: pass a topic spec, e.g. app.source(topic('views', { value: json(View) })); got string "in"`,
    )
    expect(() => topic('in', {} as never)).toThrow(
      'topic "in": value must be a serde that decodes the records, e.g. { value: json(View) } or { value: text() }',
    )
    const app = topology('t')
    app.source(topic('in', { value: json(Ev) })).to(undefined as never)
    expect(buildError(() => app.build())).toBe(
      "sink-2: .to() needs a sink: an object with a name and write(records), e.g. collectingSink('out') or redisHash({ ... }); got undefined",
    )
  })

  it('two operators with one name', () => {
    const s = src()
    s.map((e) => e.n, { name: 'n' }).to(sink('a'))
    expect(buildError(() => s.map((e) => e.n, { name: 'n' }))).toBe(
      'n: this name is used by two operators: give each its own { name }, or leave it out for <kind>-<n>',
    )
  })
})

describe('Topology', () => {
  it('is immutable, lists its source topics and describes itself', () => {
    const app = topology('ctr', { watermarks: { maxOutOfOrderness: '3s' } })
    const imp = app.source(topic('impressions', { value: json(Ev), timestamp: () => 1 }))
    const clk = app.source(topic('clicks', { value: json(Ev) }))
    imp
      .map((e) => ({ p: e.product_id, impressions: 1, clicks: 0 }))
      .merge(clk.map((e) => ({ p: e.product_id, impressions: 0, clicks: 1 })))
      .keyBy((e) => e.p)
      .window(tumbling('10s'), { allowedLateness: '5s' })
      .aggregate(sumOf('impressions', 'clicks'))
      .to(sink('ctr'))
    app.deadLetters().to(sink('dlq'))
    const t = app.build()
    expect(t.sourceTopics).toEqual(['impressions', 'clicks'])
    expect(Object.isFrozen(t)).toBe(true)
    expect(Object.isFrozen(t.nodes)).toBe(true)
    expect(t.describe()).toBe(
      [
        'Topology "ctr"',
        '  watermarks: max out-of-orderness 3s, idle timeout 10s, max future skew 5m',
        '  source      source-impressions [topic "impressions" (json, event time from payload)] --> map-3',
        '  source      source-clicks [topic "clicks" (json)] --> map-4',
        '  map         map-3 --> merge-5',
        '  map         map-4 --> merge-5',
        '  merge       merge-5 --> keyBy-6',
        '  keyBy       keyBy-6 [repartitioned via "<application-id>-keyBy-6-repartition" (input not declared partitioned by this key)] --> window-7',
        '  window      window-7 [tumbling-10s, allowed lateness 5s, emit onClose] --> aggregate-8',
        '  aggregate   aggregate-8 [sumOf(impressions,clicks)] --> sink-9',
        '  sink        sink-9 [sink "ctr"]',
        '  deadLetters dead-letters --> sink-11',
        '  sink        sink-11 [sink "dlq"]',
      ].join('\n'),
    )
  })

  it('says per keyBy whether its input is repartitioned or co-partitioned, checking declared partition counts', () => {
    const app = topology('t')
    const a = app.source(topic('a', { value: json(Ev) }))
    const b = app.source(topic('b', { value: json(Ev) }))
    a.merge(b)
      .keyBy((e) => e.product_id, { copartitioned: true, name: 'by-product' })
      .window(tumbling('10s'))
      .aggregate(count())
      .to(sink('out'))
    a.keyBy((e) => e.product_id.length, { name: 'by-length' })
      .window(tumbling('10s'))
      .aggregate(count())
      .to(sink('out2'))
    const t = app.build()
    expect(t.describe()).toContain(
      'keyBy       by-product [co-partitioned: declared co-partitioned (partition counts checked at start)]',
    )
    expect(t.describe()).toContain('by-length [repartitioned via "<application-id>-by-length-repartition"')
    const same = keyByPartitioning(
      t,
      new Map([
        ['a', 4],
        ['b', 4],
      ]),
    )
    expect(same.map((k) => [k.keyBy, k.mode, k.sources])).toEqual([
      ['by-product', 'co-partitioned', ['a', 'b']],
      ['by-length', 'repartitioned', ['a']],
    ])
    const differ = keyByPartitioning(
      t,
      new Map([
        ['a', 4],
        ['b', 3],
      ]),
    )[0]
    expect(differ?.mode).toBe('repartitioned')
    expect(differ?.reason).toBe('declared co-partitioned, but the partition counts differ (a: 4, b: 3)')
  })

  // A keyBy of a window's results (stage 2) makes the whole topology one task: describe() must not claim that
  // either keyBy goes through a repartition topic, and says which operator's results are keyed again.
  it("a keyBy of a window's results: stages, the operator keyed again, every keyBy one task", () => {
    const app = topology('t')
    const counts = app
      .source(topic('a', { value: json(Ev) }))
      .keyBy((e) => e.product_id, { name: 'by-product' })
      .window(tumbling('10s'), { name: 'per-product' })
      .aggregate(count())
    counts
      .map((r) => ({ category: r.key.slice(0, 1), n: r.value }))
      .keyBy((c) => c.category, { name: 'by-category' })
      .window(tumbling('1m'), { name: 'per-category' })
      .aggregate(sumOf('n'))
      .map((r) => ({ n: r.value.n }))
      .keyBy(() => 'all', { name: 'by-all' })
      .window(tumbling('1h'))
      .aggregate(sumOf('n'))
      .to(sink('out'))
    const t = app.build()
    const text = t.describe()
    expect(text).not.toContain('repartitioned via')
    const oneTask =
      'the topology runs as one task holding every partition, on one instance (TASKS=single): chained repartition stages are not supported yet'
    expect(text).toContain(`by-product [stage 1; by-category keys again the results of per-product, so ${oneTask}]`)
    expect(text).toContain(`by-category [stage 2: keys again the results of per-product; ${oneTask}]`)
    expect(text).toContain(`by-all [stage 3: keys again the results of per-category; ${oneTask}]`)
    const parts = keyByPartitioning(t, new Map([['a', 4]]))
    expect(parts.map((k) => [k.keyBy, k.mode, k.stage, k.rekeys, k.sources])).toEqual([
      ['by-product', 'one-task', 1, [], ['a']],
      ['by-category', 'one-task', 2, ['per-product'], ['a']],
      ['by-all', 'one-task', 3, ['per-category'], ['a']],
    ])
    expect(chainedKeyBys(t)).toEqual(['by-category', 'by-all'])
  })

  it("a window's results merged with a join's: stage 2 keys again both operators", () => {
    const app = topology('t')
    const a = app.source(topic('a', { value: json(Ev) }))
    const b = app.source(topic('b', { value: json(Ev) }))
    const perProduct = a
      .keyBy((e) => e.product_id, { name: 'by-product' })
      .window(tumbling('10s'), { name: 'per-product' })
      .aggregate(count())
      .map((r) => ({ product_id: r.key, n: r.value }))
    const joined = b
      .keyBy((e) => e.product_id, { name: 'by-product-b' })
      .join(
        a.keyBy((e) => e.product_id, { name: 'by-product-a' }),
        (l) => l,
        { within: { before: '1s', after: 0 }, name: 'pairs' },
      )
    perProduct
      .merge(joined)
      .keyBy((e) => e.n, { name: 'by-n' })
      .window(tumbling('1m'))
      .aggregate(count())
      .to(sink('out'))
    const parts = keyByPartitioning(app.build())
    const byN = parts.find((k) => k.keyBy === 'by-n')
    expect([byN?.stage, [...(byN?.rekeys ?? [])].sort()]).toEqual([2, ['pairs', 'per-product']])
    // both sides of a join go through one keyBy (named after the first)
    expect(parts.filter((k) => k.stage === 1).map((k) => k.keyBy)).toEqual(['by-product', 'by-product-b'])
  })

  it('types flow end to end: a sink of the wrong record type does not compile', () => {
    const app = topology('t')
    const counts = app
      .source(topic('in', { value: json(Ev) }))
      .keyBy((e) => e.product_id)
      .window(tumbling('1s'))
      .count()
    counts
      .map((r) => ({ key: r.key, n: r.value, start: r.window.start }))
      .to(sink<{ key: string; n: number; start: number }>('ok'))
    // @ts-expect-error a Sink<string> cannot take Windowed<string, number> results
    counts.to(sink<string>('wrong'))
    const windowed = app
      .source(topic('x', { value: json(Ev) }))
      .keyBy((e) => e.product_id)
      .window(tumbling('1s'))
    // @ts-expect-error sumOf needs numeric fields the events do not have
    windowed.aggregate(sumOf('clicks'))
    windowed.aggregate(sumOf('n')).to(sink('sums'))
    // The @ts-expect-error lines are the assertions: `pnpm typecheck` (part of npm test) fails if either
    // wrong use compiles. At run time the well-typed chain must build on its own.
    const typed = topology('typed')
    typed
      .source(topic('in', { value: json(Ev) }))
      .keyBy((e) => e.product_id)
      .window(tumbling('1s'))
      .aggregate(sumOf('n'))
      .to(sink<Windowed<string, { n: number }>>('typed-sums'))
    expect(typed.build().describe()).toContain('typed-sums')
  })
})
