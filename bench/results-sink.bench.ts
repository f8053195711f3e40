// `pnpm bench results-sink`: how long one window's firing takes to become readable in Redis, through the CTR job's
// own sink (`ctrResultsSink`: latest/previous script calls, then the capped history, PUBLISH on ctr:updates), on a
// private, empty redis-server. Per window, PRODUCTS results (default 10,000) in one write, as the job hands a
// firing over; WINDOWS windows (default 30; the first 5 warm up and are not counted). Reports per firing the time
// until `readable` (latest/previous applied: where the job's streams_result_latency_seconds stops) and until the
// write resolved (history too), median and p90, and the server's own time per result from INFO commandstats.
// The live bench (`pnpm bench e2e`, result latency) measures the same with the brokers and a producer beside it.
import { ctrResultsSink } from '@ctr/ctr-topology'
import { createSinkRedis } from '@ctr/streams-dsl/redis'
import { median } from './lib/processes.js'
import { privateRedis } from './lib/redis-server.js'
import { writeResult } from './lib/report.js'

const PRODUCTS = Number(process.env.PRODUCTS ?? 10_000)
const WINDOWS = Number(process.env.WINDOWS ?? 30)
const WARMUP = 5
const T0 = 1_764_330_000_000

const redis = await privateRedis()
const sinkRedis = createSinkRedis(redis.url)
const quantile = (xs: number[], q: number) =>
  [...xs].sort((a, b) => a - b)[Math.min(xs.length - 1, Math.floor(q * xs.length))] as number
const round = (x: number | null) => (x === null ? null : Math.round(x * 10) / 10)
try {
  const sink = ctrResultsSink({ redis: sinkRedis, history: { max: 120 }, logger: { warn: () => {}, info: () => {} } })
  const readable: number[] = []
  const whole: number[] = []
  for (let w = 0; w < WINDOWS; w++) {
    const start = T0 + w * 10_000
    const firing = Array.from({ length: PRODUCTS }, (_, p) => ({
      product_id: `p-${p}`,
      impressions: 120 + (p % 50),
      clicks: p % 9,
      ctr: (p % 9) / (120 + (p % 50)),
      window_start: start,
      window_end: start + 10_000,
    }))
    if (w === WARMUP) await redis.admin.config('RESETSTAT')
    const t0 = performance.now()
    let at = 0
    await sink.write(firing, () => {
      at = performance.now()
    })
    if (w >= WARMUP) {
      readable.push(at - t0)
      whole.push(performance.now() - t0)
    }
  }
  const stats = await redis.admin.info('commandstats')
  const usec = (cmd: string) => Number(new RegExp(`cmdstat_${cmd}:calls=\\d+,usec=(\\d+)`).exec(stats)?.[1] ?? 0)
  const counted = PRODUCTS * (WINDOWS - WARMUP)
  const results = {
    readableMs: { median: round(median(readable)), p90: round(quantile(readable, 0.9)) },
    writeMs: { median: round(median(whole)), p90: round(quantile(whole, 0.9)) },
    // both scripts (latest/previous, then the history), with what they call inside
    serverUsPerResult: round(usec('evalsha') / counted),
  }
  writeResult(
    'results-sink',
    { products: PRODUCTS, windows: WINDOWS, warmup: WARMUP, history: 120, publish: 'ctr:updates' },
    results,
  )
  console.log(
    `[results-sink] ${PRODUCTS} results per firing: readable after ${results.readableMs.median} ms (p90 ${results.readableMs.p90}), written after ${results.writeMs.median} ms; Redis ${results.serverUsPerResult} µs per result`,
  )
} finally {
  sinkRedis.disconnect()
  redis.stop()
}
