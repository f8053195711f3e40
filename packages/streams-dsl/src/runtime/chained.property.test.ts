import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { z } from 'zod'
import { json, sumOf, topic, topology, tumbling, type Windowed } from '../index.js'
import { collectingSink } from '../testing/collecting-sink.js'
import { TestDriver } from '../testing/test-driver.js'

// Property tests of chained topologies (a join's results keyed again and windowed, run as one task): over random
// inputs spread on random partitions, delivered in a random interleaving of the partitions (each partition in
// event-time order, so nothing is late: L > B), with crashes replayed from the last commit, the last result of
// every key and window is what an oracle computing straight from the inputs says. This checks the claim of
// docs/guide.md §12: results an operator releases as W advances reach the window after it before that W does,
// so none is late there, in any arrival order and across restarts.

const T0 = Date.parse('2025-01-01T12:00:00Z')
const WINDOW = 10_000
const ATTRIBUTION = 8_000
const Impression = z.object({ impression_id: z.string(), product_id: z.string(), ts: z.number() })
const Click = z.object({ impression_id: z.string(), ts: z.number() })
type Impression = z.infer<typeof Impression>
type Click = z.infer<typeof Click>
type Counts = { product_id: string; impressions: number; clicks: number }
type Row = { key: string; start: number; impressions: number; clicks: number }

const watermarks = { maxOutOfOrderness: '2s', idleTimeout: '5s', maxFutureSkew: '1h' } as const

/** Impressions per product and window of their time, clicks per product of the impression they name, in theirs. */
function attributedTopology() {
  const app = topology('chained-attribution', { watermarks })
  const impressions = app.source(topic('impressions', { value: json(Impression), timestamp: (i) => i.ts }))
  const clicks = app.source(topic('clicks', { value: json(Click), timestamp: (c) => c.ts }))
  const attributed = clicks
    .keyBy((c) => c.impression_id)
    .join(
      impressions.keyBy((i) => i.impression_id),
      (_c, i): Counts => ({ product_id: i.product_id, impressions: 0, clicks: 1 }),
      { within: { before: ATTRIBUTION, after: 0 }, allowedLateness: '5s' },
    )
  const results = collectingSink<Windowed<string, { impressions: number; clicks: number }>>('ctr')
  impressions
    .map((i): Counts => ({ product_id: i.product_id, impressions: 1, clicks: 0 }))
    .merge(attributed)
    .keyBy((c) => c.product_id)
    .window(tumbling(WINDOW), { allowedLateness: '5s' })
    .aggregate(sumOf('impressions', 'clicks'))
    .to(results)
  return { topology: app.build(), results }
}

function expectedAttributed(impressions: readonly Impression[], clicks: readonly Click[]): Row[] {
  const shown = new Map(impressions.map((i) => [i.impression_id, i]))
  const rows = new Map<string, Row>()
  const add = (key: string, ts: number, impressions: number, clicks: number) => {
    const start = ts - (((ts % WINDOW) + WINDOW) % WINDOW)
    const id = `${key}@${start}`
    const r = rows.get(id) ?? { key, start, impressions: 0, clicks: 0 }
    r.impressions += impressions
    r.clicks += clicks
    rows.set(id, r)
  }
  for (const i of impressions) add(i.product_id, i.ts, 1, 0)
  for (const c of clicks) {
    const i = shown.get(c.impression_id)
    if (i !== undefined && i.ts <= c.ts && c.ts - i.ts <= ATTRIBUTION) add(i.product_id, c.ts, 0, 1)
  }
  return sorted([...rows.values()])
}

const sorted = (rows: Row[]): Row[] => [...rows].sort((a, b) => a.start - b.start || (a.key < b.key ? -1 : 1))

/** The last result of each key and window (a restart may emit a window again: the last one counts). */
function lastResults(records: readonly Windowed<string, { impressions: number; clicks: number }>[]): Row[] {
  const last = new Map<string, Row>()
  for (const r of records)
    last.set(`${r.key}@${r.window.start}`, {
      key: r.key,
      start: r.window.start,
      impressions: r.value.impressions,
      clicks: r.value.clicks,
    })
  return sorted([...last.values()])
}

type Delivery = { topic: string; partition: number; value: unknown; key?: string }
type Step = { kind: 'pipe'; delivery: Delivery } | { kind: 'crash' } | { kind: 'advance'; ms: number }

/**
 * A random interleaving of the partitions' queues (each in its order), with crashes and short wall-clock advances
 * (adding up to less than the idle timeout: no partition goes idle while it has records) spliced in.
 */
function interleave(
  queues: Map<string, Delivery[]>,
  order: readonly number[],
  crashes: readonly number[],
  advances: readonly (readonly [number, number])[],
): Step[] {
  const steps: Step[] = []
  const ids = [...queues.keys()].sort()
  let o = 0
  while (ids.some((id) => (queues.get(id)?.length ?? 0) > 0)) {
    const open = ids.filter((id) => (queues.get(id)?.length ?? 0) > 0)
    const id = open[(order[o++ % order.length] ?? 0) % open.length] as string
    steps.push({ kind: 'pipe', delivery: (queues.get(id) as Delivery[]).shift() as Delivery })
  }
  for (const c of [...crashes].sort((a, b) => b - a)) steps.splice(Math.min(c, steps.length), 0, { kind: 'crash' })
  for (const [at, ms] of advances) steps.splice(Math.min(at, steps.length), 0, { kind: 'advance', ms })
  return steps
}

const enqueue = (queues: Map<string, Delivery[]>, d: Delivery) => {
  const id = `${d.topic}:${d.partition}`
  queues.set(id, [...(queues.get(id) ?? []), d])
}

/** Runs the steps on the driver, then lets every partition go idle so every window closes. */
async function drive(d: TestDriver, steps: readonly Step[]): Promise<void> {
  for (const step of steps) {
    if (step.kind === 'crash') await d.crashAndReplay()
    else if (step.kind === 'advance') await d.advanceWallClock(step.ms)
    else
      await d.pipe(step.delivery.topic, [step.delivery.value], {
        partition: step.delivery.partition,
        ...(step.delivery.key !== undefined && { key: step.delivery.key }),
      })
  }
  await d.advanceWallClock('60s') // every partition idle: W runs on, every window closes
}

const crashes = fc.array(fc.nat({ max: 120 }), { maxLength: 3 })
const advances = fc.array(fc.tuple(fc.nat({ max: 120 }), fc.integer({ min: 1, max: 1200 })), { maxLength: 3 })
const order = fc.array(fc.nat(), { minLength: 200, maxLength: 200 })

/**
 * Random ads: impressions over 60 s of event time on 4 products, some clicked 0-12 s later (some beyond the
 * attribution window), some clicks naming no impression; each event on a random partition of its topic.
 */
const scenario = fc
  .record({
    impressionPartitions: fc.integer({ min: 1, max: 3 }),
    clickPartitions: fc.integer({ min: 1, max: 3 }),
    impressions: fc.array(
      fc.record({
        product: fc.integer({ min: 0, max: 3 }),
        at: fc.integer({ min: 0, max: 60_000 }),
        click: fc.option(fc.integer({ min: 0, max: 12_000 }), { nil: undefined }),
        stray: fc.boolean(),
        partitions: fc.tuple(fc.nat(), fc.nat()),
      }),
      { minLength: 1, maxLength: 40 },
    ),
    order,
    crashes,
    advances,
  })
  .map((s) => {
    const impressions: Impression[] = []
    const clicks: Click[] = []
    const queues = new Map<string, Delivery[]>()
    s.impressions.forEach((x, n) => {
      const i: Impression = { impression_id: `i-${n}`, product_id: `p-${x.product}`, ts: T0 + x.at }
      impressions.push(i)
      if (x.click !== undefined) clicks.push({ impression_id: i.impression_id, ts: i.ts + x.click })
      if (x.stray) clicks.push({ impression_id: `never-shown-${n}`, ts: i.ts })
    })
    const byTime = <T extends { ts: number }>(xs: T[]) => [...xs].sort((a, b) => a.ts - b.ts)
    byTime(impressions).forEach((i) => {
      const n = Number(i.impression_id.slice(2))
      const [pi] = s.impressions[n]?.partitions ?? [0, 0]
      enqueue(queues, { topic: 'impressions', partition: pi % s.impressionPartitions, value: i })
    })
    byTime(clicks).forEach((c, k) => {
      const [, pc] = s.impressions[k % s.impressions.length]?.partitions ?? [0, 0]
      enqueue(queues, { topic: 'clicks', partition: (pc + k) % s.clickPartitions, value: c })
    })
    const steps = interleave(queues, s.order, s.crashes, s.advances)
    return { ...s, impressions, clicks, steps }
  })

const Sale = z.object({ product_id: z.string(), ts: z.number() })
const Product = z.object({ category: z.string(), updated_at: z.number() })
type Sale = z.infer<typeof Sale>
type Version = { product_id: string; category: string; updated_at: number }

/** Sales per category and window, each sale in its product's category as of its time (a stream-table join). */
function categoryTopology() {
  const app = topology('chained-category', { watermarks })
  const products = app.table(topic('products', { value: json(Product), timestamp: (p) => p.updated_at }))
  const results = collectingSink<Windowed<string, number>>('per-category')
  app
    .source(topic('sales', { value: json(Sale), timestamp: (e) => e.ts }))
    .keyBy((e) => e.product_id)
    .leftJoin(products, (_e, row) => ({ category: row?.category ?? 'none' }), { allowedLateness: '5s' })
    .keyBy((e) => e.category)
    .window(tumbling(WINDOW), { allowedLateness: '5s' })
    .count()
    .to(results)
  return { topology: app.build(), results }
}

function expectedCategories(sales: readonly Sale[], versions: readonly Version[]): Map<string, number> {
  const out = new Map<string, number>()
  for (const e of sales) {
    let best: Version | undefined
    for (const v of versions)
      if (
        v.product_id === e.product_id &&
        v.updated_at <= e.ts &&
        (best === undefined || v.updated_at >= best.updated_at)
      )
        best = v
    const start = e.ts - (((e.ts % WINDOW) + WINDOW) % WINDOW)
    const id = `${best?.category ?? 'none'}@${start}`
    out.set(id, (out.get(id) ?? 0) + 1)
  }
  return out
}

/** Sales over 60 s on 3 products, and the products table: categories set and changed at random times. */
const tableScenario = fc
  .record({
    salePartitions: fc.integer({ min: 1, max: 3 }),
    productPartitions: fc.integer({ min: 1, max: 2 }),
    sales: fc.array(
      fc.record({ product: fc.integer({ min: 0, max: 2 }), at: fc.integer({ min: 0, max: 60_000 }), p: fc.nat() }),
      { minLength: 1, maxLength: 40 },
    ),
    versions: fc.array(
      fc.record({
        product: fc.integer({ min: 0, max: 2 }),
        at: fc.integer({ min: 0, max: 60_000 }),
        category: fc.constantFrom('a', 'b', 'c'),
      }),
      { maxLength: 8 },
    ),
    order,
    crashes,
    advances,
  })
  .map((s) => {
    const sales: Sale[] = s.sales.map((x) => ({ product_id: `p-${x.product}`, ts: T0 + x.at }))
    // one change per product and time: two at the same instant would leave which one counts to the arrival order
    const seen = new Set<string>()
    const versions: Version[] = s.versions
      .map((v) => ({ product_id: `p-${v.product}`, category: v.category, updated_at: T0 + v.at }))
      .filter((v) => !seen.has(`${v.product_id}@${v.updated_at}`) && seen.add(`${v.product_id}@${v.updated_at}`))
    const queues = new Map<string, Delivery[]>()
    const bySale = sales.map((e, n) => ({ e, p: (s.sales[n]?.p ?? 0) % s.salePartitions }))
    for (const { e, p } of bySale.sort((a, b) => a.e.ts - b.e.ts))
      enqueue(queues, { topic: 'sales', partition: p, value: e })
    // the table's topic is keyed by product: a product's changes in one partition, in time order
    for (const v of [...versions].sort((a, b) => a.updated_at - b.updated_at))
      enqueue(queues, {
        topic: 'products',
        partition: Number(v.product_id.slice(2)) % s.productPartitions,
        key: v.product_id,
        value: { category: v.category, updated_at: v.updated_at },
      })
    return { ...s, sales, versions, steps: interleave(queues, s.order, s.crashes, s.advances) }
  })

describe('chained topologies (one task) vs an oracle', () => {
  it('an interval join merged and keyed again into tumbling windows: the last result of each product and window, in any arrival order and across crashes', async () => {
    await fc.assert(
      fc.asyncProperty(scenario, async (s) => {
        const { topology: t, results } = attributedTopology()
        const d = new TestDriver(t, {
          startTime: T0,
          partitions: { impressions: s.impressionPartitions, clicks: s.clickPartitions },
          checkpointInterval: 1000,
        })
        await drive(d, s.steps)
        expect(d.lateEvents()).toEqual([])
        expect(lastResults(results.records)).toEqual(expectedAttributed(s.impressions, s.clicks))
        await d.close()
      }),
      { numRuns: 40 },
    )
  })

  it('a stream-table join keyed again by the looked-up category into tumbling windows: the last count of each category and window, in any arrival order and across crashes', async () => {
    await fc.assert(
      fc.asyncProperty(tableScenario, async (s) => {
        const { topology: t, results } = categoryTopology()
        const d = new TestDriver(t, {
          startTime: T0,
          partitions: { sales: s.salePartitions, products: s.productPartitions },
          checkpointInterval: 1000,
        })
        await drive(d, s.steps)
        expect(d.lateEvents()).toEqual([])
        const last = new Map<string, number>()
        for (const r of results.records) last.set(`${r.key}@${r.window.start}`, r.value)
        expect(last).toEqual(expectedCategories(s.sales, s.versions))
        await d.close()
      }),
      { numRuns: 40 },
    )
  })
})
