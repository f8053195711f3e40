import { expect, it } from 'vitest'
import { z } from 'zod'
import { json, sumOf, topic, topology, tumbling, type Windowed } from '../index.js'
import { collectingSink } from './collecting-sink.js'
import { TestDriver } from './test-driver.js'

// The example at the top of the README, kept working.
it('README example', async () => {
  const Event = z.object({
    event_id: z.string(),
    product_id: z.string().min(1).max(128),
    user_id: z.string(),
    timestamp: z.union([z.number(), z.string()]).optional(),
  })
  const app = topology('ctr', { watermarks: { maxOutOfOrderness: '3s', idleTimeout: '10s', maxFutureSkew: '5m' } })
  const impressions = app.source(topic('impressions', { value: json(Event), timestamp: (e) => e.timestamp }))
  const clicks = app.source(topic('clicks', { value: json(Event), timestamp: (e) => e.timestamp }))
  const results = collectingSink<{ product_id: string; ctr: number | null; window_start: number }>('ctr')
  impressions
    .map((e) => ({ productId: e.product_id, impressions: 1, clicks: 0 }))
    .merge(clicks.map((e) => ({ productId: e.product_id, impressions: 0, clicks: 1 })))
    .keyBy((e) => e.productId)
    .window(tumbling('10s'), { allowedLateness: '5s' })
    .aggregate(sumOf('impressions', 'clicks'))
    .map((r: Windowed<string, { impressions: number; clicks: number }>) => ({
      product_id: r.key,
      ctr: r.value.impressions === 0 ? null : r.value.clicks / r.value.impressions,
      window_start: r.window.start,
    }))
    .to(results)
  const t = app.build()
  const d = new TestDriver(t, { startTime: '2025-01-01T12:00:00Z' })
  await d.pipe('impressions', [{ event_id: '1', product_id: 'p-1', user_id: 'u', timestamp: d.now() }])
  await d.pipe('clicks', [{ event_id: '2', product_id: 'p-1', user_id: 'u', timestamp: d.now() + 1000 }])
  await d.advanceWallClock('20s')
  expect(results.records).toEqual([{ product_id: 'p-1', ctr: 1, window_start: 1735732800000 }])
})
