import { describe, expect, it } from 'vitest'
import { z } from 'zod'
import { json, sumOf, type TableChange, topic, topology } from '../../index.js'
import { collectingSink } from '../../testing/collecting-sink.js'
import { EngineHarness } from '../../testing/engine-harness.js'

const Order = z.object({ customer: z.string(), cents: z.number(), ts: z.number() })

describe('aggregations over all time (tables of running results)', () => {
  it('emits each key its new result on every record, whatever its time; no record is late', async () => {
    const a = topology('totals', { watermarks: { maxOutOfOrderness: 0 } })
    const totals = collectingSink<TableChange<{ cents: number }>>('totals')
    const counts = collectingSink<string>('counts')
    const orders = a.source(topic('orders', { value: json(Order), timestamp: (o) => o.ts }))
    orders
      .keyBy((o) => o.customer)
      .aggregate(sumOf('cents'))
      .to(totals)
    orders
      .keyBy((o) => o.customer, { name: 'by-customer' })
      .count()
      .toStream()
      .map((c) => `${c.key}=${c.value}`)
      .to(counts)
    const d = new EngineHarness(a.build(), { startTime: 0 })
    await d.pipe('orders', [
      { customer: 'c1', cents: 100, ts: 5000 },
      { customer: 'c2', cents: 5, ts: 5001 },
      { customer: 'c1', cents: 50, ts: 1 }, // far behind the watermark: still counted
    ])
    expect(totals.records).toEqual([
      { key: 'c1', value: { cents: 100 } },
      { key: 'c2', value: { cents: 5 } },
      { key: 'c1', value: { cents: 150 } },
    ])
    expect(counts.records).toEqual(['c1=1', 'c2=1', 'c1=2'])
    expect(d.lateEvents()).toEqual([])
    expect(d.status().windows.open).toBe(4) // two keys in each of two tables
    d.restore(d.snapshot())
    await d.pipe('orders', [{ customer: 'c2', cents: 1, ts: 6000 }])
    expect(counts.records.at(-1)).toBe('c2=2')
  })

  it('reduce keeps the running fold; a stream joined with the running table sees it as of its time', async () => {
    const Reading = z.object({ sensor: z.string(), value: z.number(), ts: z.number() })
    const a = topology('peaks', { watermarks: { maxOutOfOrderness: 0 } })
    const out = collectingSink<string>('out')
    const readings = a.source(topic('readings', { value: json(Reading), timestamp: (r) => r.ts }))
    const peaks = readings.keyBy((r) => r.sensor).reduce((x, y) => (x.value >= y.value ? x : y))
    a.source(topic('alerts', { value: json(Reading), timestamp: (r) => r.ts }))
      .keyBy((r) => r.sensor)
      .join(peaks, (alert, peak) => `${alert.sensor}@${alert.ts}: peak ${peak.value}`)
      .to(out)
    const d = new EngineHarness(a.build(), { startTime: 0, partitions: { readings: 1, alerts: 1 } })
    await d.pipe('readings', [
      { sensor: 's', value: 3, ts: 1000 },
      { sensor: 's', value: 9, ts: 2000 },
      { sensor: 's', value: 4, ts: 3000 },
    ])
    await d.pipe('alerts', [{ sensor: 's', ts: 2500, value: 0 }]) // W = 2499: it waits
    await d.pipe('readings', [{ sensor: 's', value: 1, ts: 9000 }])
    await d.pipe('alerts', [{ sensor: 's', ts: 9000, value: 0 }]) // W = 8999: the alert at 2500 is due
    expect(out.records).toEqual(['s@2500: peak 9'])
  })

  it('describes itself and says how to end a keyBy', () => {
    const a = topology('described')
    a.source(topic('orders', { value: json(Order) }))
      .keyBy((o) => o.customer)
      .count({ name: 'orders-per-customer' })
      .to(collectingSink('o'))
    expect(a.build().describe()).toMatch(
      /tableAggregate\s+orders-per-customer \[count over all time, a result per record/,
    )
    const b = topology('unfinished')
    b.source(topic('orders', { value: json(Order) })).keyBy((o) => o.customer)
    expect(() => b.build()).toThrow(/or \.count\(\) \/ \.aggregate\(\.\.\.\) for running results over all time/)
  })
})
