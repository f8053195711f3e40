import { describe, expect, it } from 'vitest'
import { z } from 'zod'
import { json, type TableChange, topic, topology } from '../../index.js'
import { collectingSink } from '../../testing/collecting-sink.js'
import { EngineHarness } from '../../testing/engine-harness.js'

const View = z.object({ product_id: z.string(), ts: z.number() })
const Product = z.object({ category: z.string(), ts: z.number() })

function app(type: 'join' | 'leftJoin', lateness = 0) {
  const a = topology('enrich', { watermarks: { maxOutOfOrderness: 0 } })
  const out = collectingSink<string>('out')
  const changes = collectingSink<TableChange<z.infer<typeof Product>>>('changes')
  const products = a.table(topic('products', { value: json(Product), timestamp: (p) => p.ts }))
  const keyed = a.source(topic('views', { value: json(View), timestamp: (v) => v.ts })).keyBy((v) => v.product_id)
  const options = { allowedLateness: lateness }
  const joined =
    type === 'join'
      ? keyed.join(products, (v, p, key) => `${key}@${v.ts} ${p.category}`, options)
      : keyed.leftJoin(products, (v, p, key) => `${key}@${v.ts} ${p?.category ?? '-'}`, options)
  joined.to(out)
  products.toStream().to(changes)
  return { topology: a.build(), out, changes }
}

/** Table changes (keyed by product) and views, each piped as its own batch. */
const product = (d: EngineHarness, id: string, category: string | null, ts: number) =>
  d.pipe('products', [category === null ? null : { category, ts }], { key: id, timestamp: ts })
const view = (d: EngineHarness, id: string, ts: number) => d.pipe('views', [{ product_id: id, ts }])

describe('stream-table join', () => {
  it('joins each view with its product as of the view, once the watermark passes it', async () => {
    const { topology: t, out } = app('join')
    const d = new EngineHarness(t, { startTime: 0 })
    await product(d, 'p1', 'shoes', 1000)
    await view(d, 'p1', 1500) // W = 999: it waits, a change at or before 1500 may still come
    await product(d, 'p1', 'boots', 1400)
    expect(out.records).toEqual([])
    await view(d, 'p1', 1600) // W = min(1599, 1399) = 1399
    await product(d, 'p1', 'sandals', 1700) // W = 1599: the view at 1500 is due, with the row as of 1500
    expect(out.records).toEqual(['p1@1500 boots'])
    await view(d, 'p1', 1650) // W = 1599 < 1650: waits
    await view(d, 'p9', 1800) // W = 1699: 1600 and 1650 are due, as of their times (sandals is at 1700)
    expect(out.records).toEqual(['p1@1500 boots', 'p1@1600 boots', 'p1@1650 boots'])
    await product(d, 'p1', 'x', 2000)
    await view(d, 'p1', 3000) // W = 1999: p9 at 1800 has no row, an inner join drops it
    expect(out.records).toHaveLength(3)
  })

  it('a view behind the watermark but within the lateness is joined at once; a deletion removes the row', async () => {
    const { topology: t, out } = app('leftJoin', 500)
    const d = new EngineHarness(t, { startTime: 0 })
    await product(d, 'p1', 'shoes', 1000)
    await view(d, 'p1', 1001) // W = 999: waits
    await product(d, 'p1', null, 1200) // a tombstone at 1200 (its record timestamp); W = 1000
    await view(d, 'p1', 1300) // W = 1199: the view at 1001 is due
    expect(out.records).toEqual(['p1@1001 shoes'])
    await view(d, 'p1', 1000) // behind W but within L: joined at once, as of 1000
    expect(out.records).toEqual(['p1@1001 shoes', 'p1@1000 shoes'])
    await product(d, 'p2', 'hats', 5000)
    await view(d, 'p2', 5000) // W = 4999: the view at 1300 finds the row deleted
    expect(out.records).toEqual(['p1@1001 shoes', 'p1@1000 shoes', 'p1@1300 -'])
  })

  it('late views and late table changes go to the late-events output; a table record needs a key', async () => {
    const { topology: t, out, changes } = app('join')
    const d = new EngineHarness(t, { startTime: 0 })
    await product(d, 'p1', 'shoes', 1000)
    await view(d, 'p1', 2000) // W = 999
    await view(d, 'p1', 999) // late
    await product(d, 'p1', 'boots', 900) // late
    await d.pipe('products', [{ category: 'nokey', ts: 3000 }]) // no key: a dead letter
    expect(d.lateEvents().map((l) => l.record.topic)).toEqual(['views', 'products'])
    expect(d.deadLetters().map((l) => l.reason)).toEqual(['late_event', 'late_event', 'invalid_event'])
    expect(d.deadLetters()[2]?.message).toMatch(/a table record needs a key/)
    // the change stream carries every change read, late for the join or not
    expect(changes.records).toEqual([
      { key: 'p1', value: { category: 'shoes', ts: 1000 } },
      { key: 'p1', value: { category: 'boots', ts: 900 } },
    ])
    expect(out.records).toEqual([])
  })

  it('keeps only the versions a lookup can still need (the committable offset of the table moves on)', async () => {
    const { topology: t } = app('join', 100)
    const d = new EngineHarness(t, { startTime: 0, partitions: { products: 1, views: 1 } })
    await product(d, 'p1', 'a', 1000)
    await product(d, 'p1', 'b', 2000)
    const offset = () => d.engine.committable().find((c) => c.topic === 'products')?.offset
    await view(d, 'p1', 2100) // W = min(1999, 2099) = 1999: 'a' is needed by any view before 2000
    expect(offset()).toBe(0)
    await product(d, 'p1', null, 2200) // W = 2099
    expect(offset()).toBe(0)
    await view(d, 'p1', 2200) // W = 2199 >= 2000 + L: 'b' is the newest at or before W - L, 'a' goes
    expect(offset()).toBe(1)
    expect(d.status().windows.open).toBe(3) // the versions at 2000 and 2200, and the view at 2200 waiting
  })

  it('keeps its rows and waiting records across a snapshot and restore', async () => {
    const { topology: t, out } = app('join')
    const d = new EngineHarness(t, { startTime: 0 })
    await product(d, 'p1', 'shoes', 1000)
    await view(d, 'p1', 1500)
    d.restore(d.snapshot())
    await product(d, 'p1', 'boots', 2000)
    await view(d, 'p1', 2000)
    expect(out.records).toEqual(['p1@1500 shoes'])
  })

  it('the build refuses a within, and describes the table and the join', () => {
    const a = topology('described')
    const products = a.table(topic('products', { value: json(Product) }))
    const keyed = a.source(topic('views', { value: json(View) })).keyBy((v) => v.product_id)
    // @ts-expect-error a stream-table join takes no within
    expect(() => keyed.join(products, (v) => v, { within: '1m' })).toThrow(/has no within/)
    keyed.join(products, (v, p) => ({ ...v, ...p }), { name: 'enrich' }).to(collectingSink('o'))
    const text = a.build().describe()
    expect(text).toMatch(/source\s+table-products \[table of topic "products"/)
    expect(text).toMatch(/tableJoin\s+enrich \[inner, each record with its row as of its event time/)
  })
})
