// A preloaded CTR backlog for the end-to-end benchmarks: impressions and clicks (docs/contract.md §1 JSON) keyed by
// product_id, the same partition function for both topics (co-partitioned), event time rising over `spanMs` and
// ending a minute before now; the exact per-window counts are computed while producing, so every run can be
// checked against them. The last record of each partition is a closing event `closingAfterMs` of event time
// later (product `close-<k>`): it carries every partition's watermark past the last real window, so a streaming
// run fires every real window without waiting for idleness.

import rdkafka from '@confluentinc/kafka-javascript'
import { partitionForKey } from '@ctr/streams-dsl/internal'
import { ensureTopics } from '@ctr/streams-dsl/kafka'

export type DatasetOptions = {
  readonly brokers: string
  readonly prefix: string
  readonly events: number
  readonly products: number
  readonly partitions: number
  /** Event time covered by the real events (default 4 minutes). */
  readonly spanMs?: number
  /** Every n-th event is a click (default 11: impressions:clicks 10:1). */
  readonly clickEvery?: number
  readonly windowMs?: number
  readonly closingAfterMs?: number
}

/** Impressions and clicks of one product in one window. */
export type WindowCounts = { impressions: number; clicks: number }

export type Dataset = {
  readonly impressionsTopic: string
  readonly clicksTopic: string
  readonly events: number
  readonly impressions: number
  readonly clicks: number
  readonly avgBytes: number
  readonly produceSeconds: number
  /** `product@window_start` -> counts, real products only. */
  readonly expected: ReadonlyMap<string, WindowCounts>
  readonly closers: readonly string[]
}

export const windowKey = (productId: string, windowStart: number): string => `${productId}@${windowStart}`
export const isCloser = (productId: string): boolean => productId.startsWith('close-')

/** A deterministic product sequence (xorshift), so runs are comparable. */
function* productIds(products: number): Generator<string> {
  let x = 0x9e3779b9
  for (;;) {
    x ^= x << 13
    x ^= x >>> 17
    x ^= x << 5
    yield `p-${(x >>> 0) % products}`
  }
}

/** Creates the two topics and produces the backlog (librdkafka-style producer, acks=all, lz4). */
export async function preloadCtrDataset(o: DatasetOptions): Promise<Dataset> {
  const span = o.spanMs ?? 240_000
  const clickEvery = o.clickEvery ?? 11
  const windowMs = o.windowMs ?? 10_000
  const impressionsTopic = `${o.prefix}-impressions`
  const clicksTopic = `${o.prefix}-clicks`
  await ensureTopics(
    [
      { topic: impressionsTopic, partitions: o.partitions },
      { topic: clicksTopic, partitions: o.partitions },
    ],
    o.brokers,
  )
  const partitionOf = (productId: string) => partitionForKey(productId, o.partitions)
  const closers: string[] = []
  for (let k = 0; closers.filter(Boolean).length < o.partitions; k++)
    closers[partitionOf(`close-${k}`)] ??= `close-${k}`

  const producer = new rdkafka.Producer({
    'bootstrap.servers': o.brokers,
    'client.id': 'bench-preload',
    'enable.idempotence': true,
    acks: -1,
    'linger.ms': 20,
    'batch.num.messages': 10_000,
    'compression.type': 'lz4',
    'queue.buffering.max.messages': 500_000,
    'queue.buffering.max.kbytes': 256 * 1024,
    dr_cb: true,
    log_level: 0,
  })
  await new Promise<void>((resolve, reject) => producer.connect({}, (err) => (err ? reject(err) : resolve())))
  producer.setPollInterval(50)
  let delivered = 0
  let failed: { message: string } | undefined
  producer.on('delivery-report', (err) => {
    if (err) failed ??= err
    delivered++
  })

  const stamp = o.prefix
  const tEnd = Date.now() - 60_000
  const t0 = tEnd - span
  const real = o.events - 2 * o.partitions
  const expected = new Map<string, WindowCounts>()
  const next = productIds(o.products)
  let bytes = 0
  let impressions = 0
  let clicks = 0
  let sent = 0
  /** Produces one event; when librdkafka's local queue is full, waits for deliveries and tries again. */
  const produce = async (i: number, productId: string, timestamp: number, click: boolean) => {
    const value = Buffer.from(
      JSON.stringify({
        event_id: `evt-${stamp}-${i}`,
        product_id: productId,
        user_id: `u-${(i * 7919) % 100_000}`,
        timestamp,
        ...(click && { impression_id: `evt-${stamp}-${i - 1}` }),
      }),
    )
    bytes += value.length
    const topic = click ? clicksTopic : impressionsTopic
    for (;;) {
      try {
        producer.produce(topic, partitionOf(productId), value, productId, timestamp)
        break
      } catch {
        await new Promise((r) => setTimeout(r, 5))
      }
    }
    sent++
    if (click) clicks++
    else impressions++
  }
  const started = performance.now()
  for (let j = 0; j < real; j++) {
    const productId = next.next().value as string
    const timestamp = t0 + Math.floor((j * span) / real)
    const click = j % clickEvery === clickEvery - 1
    await produce(j, productId, timestamp, click)
    const k = windowKey(productId, timestamp - (timestamp % windowMs))
    const c = expected.get(k)
    if (c) {
      if (click) c.clicks++
      else c.impressions++
    } else expected.set(k, { impressions: click ? 0 : 1, clicks: click ? 1 : 0 })
    if (sent - delivered > 400_000) await new Promise((r) => setTimeout(r, 20))
  }
  const closing = tEnd + (o.closingAfterMs ?? 30_000)
  for (let k = 0; k < o.partitions; k++) {
    await produce(real + k, closers[k] as string, closing, false)
    await produce(real + o.partitions + k, closers[k] as string, closing, true)
  }
  await new Promise<void>((resolve, reject) => producer.flush(120_000, (err) => (err ? reject(err) : resolve())))
  while (delivered < sent && !failed) await new Promise((r) => setTimeout(r, 20))
  const produceSeconds = (performance.now() - started) / 1000
  await new Promise<void>((resolve) => producer.disconnect(() => resolve()))
  if (failed) throw new Error(`preloading the dataset failed: ${failed.message}`)
  return {
    impressionsTopic,
    clicksTopic,
    events: sent,
    impressions,
    clicks,
    avgBytes: bytes / sent,
    produceSeconds,
    expected,
    closers,
  }
}
