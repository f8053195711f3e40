// Redis memory per product of the CTR job's keys (not a timing: a measurement of how history keys are bounded).
// `pnpm bench redis-memory` starts a private, empty redis-server (`redis-server` must be installed; the shared one
// is never touched), writes PRODUCTS products (default 2,000) x WINDOWS windows (default 120, the job's
// HISTORY_WINDOWS) of CTR results through the job's sink (`ctrResultsSink` with a history capped at WINDOWS),
// and reports `MEMORY USAGE` of one history key, of `ctr:latest` and `ctr:previous` per product, and the growth of
// `used_memory` per product.
import { ctrResultsSink } from '@ctr/ctr-topology'
import { createSinkRedis } from '@ctr/streams-dsl/redis'
import { privateRedis } from './lib/redis-server.js'
import { writeResult } from './lib/report.js'

const PRODUCTS = Number(process.env.PRODUCTS ?? 2_000)
const WINDOWS = Number(process.env.WINDOWS ?? 120)
const T0 = 1_764_330_000_000

type CtrResult = {
  product_id: string
  impressions: number
  clicks: number
  ctr: number | null
  window_start: number
  window_end: number
}

const redis = await privateRedis()
const { admin } = redis
const sinkRedis = createSinkRedis(redis.url)
try {
  const used = async () => Number(/used_memory:(\d+)/.exec(await admin.info('memory'))![1])
  const before = await used()
  const sink = ctrResultsSink({
    redis: sinkRedis,
    history: { max: WINDOWS },
    publish: false,
    logger: { warn: () => {}, info: () => {} },
  })
  // Window by window, as the job writes them: every product gets one result per window (120 impressions, 7 clicks).
  for (let w = 0; w < WINDOWS; w++) {
    const batch: CtrResult[] = []
    for (let p = 1; p <= PRODUCTS; p++) {
      const start = T0 + w * 10_000
      batch.push({
        product_id: `p-${p}`,
        impressions: 120,
        clicks: 7,
        ctr: 7 / 120,
        window_start: start,
        window_end: start + 10_000,
      })
    }
    await sink.write(batch)
  }
  const after = await used()
  const usage = async (key: string) => Number(await admin.call('MEMORY', 'USAGE', key, 'SAMPLES', '0'))
  const historyKey = await usage(`ctr:history:p-${PRODUCTS}`)
  const latest = await usage('ctr:latest')
  const previous = await usage('ctr:previous')
  const sample = (await admin.hget('ctr:latest', `p-${PRODUCTS}`)) ?? ''
  writeResult(
    'redis-memory',
    {
      products: PRODUCTS,
      windows: WINDOWS,
      resultJsonBytes: Buffer.byteLength(sample),
      redis: await admin.info('server').then((i) => /redis_version:(\S+)/.exec(i)?.[1]),
    },
    {
      historyEntries: await admin.zcard(`ctr:history:p-${PRODUCTS}`),
      historyKeyBytes: historyKey,
      latestBytesPerProduct: Math.round(latest / PRODUCTS),
      previousBytesPerProduct: Math.round(previous / PRODUCTS),
      usedMemoryBytesPerProduct: Math.round((after - before) / PRODUCTS),
    },
  )
} finally {
  sinkRedis.disconnect()
  redis.stop()
}
