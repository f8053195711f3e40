// `pnpm bench serving`: throughput and latency of the HTTP API (GET /ctr/{product_id} and GET /ctr/latest) with
// 1,000 products in Redis. The API runs as `pnpm api` would (src/main.ts, request logs off) in a child process on a
// free loopback port; autocannon drives it from this process. Redis: a database leased with freshRedis() (@ctr/testing,
// one of 1-15 of REDIS_URL or 127.0.0.1:6379), so it never empties one a test is using; emptied before and after.
import { type ChildProcess, spawn } from 'node:child_process'
import { loadavg } from 'node:os'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { freshRedis, type TestRedis } from '@ctr/testing'
import autocannon from 'autocannon'
import { freePort, result } from '../packages/serving/src/test-support.js'
import { writeResult } from './lib/report.js'

const here = dirname(fileURLToPath(import.meta.url))
const PRODUCTS = 1000
const DURATION_S = 10
const WARMUP_S = 2
const CONNECTIONS = 10

async function seed(redis: TestRedis): Promise<void> {
  const now = Math.floor(Date.now() / 10_000) * 10_000
  const latest: string[] = []
  const previous: string[] = []
  for (let i = 0; i < PRODUCTS; i++) {
    const id = `p-${i}`
    latest.push(id, JSON.stringify(result(id, now, 1000 + i, 10 + (i % 90))))
    previous.push(id, JSON.stringify(result(id, now - 10_000, 1000, 10 + (i % 70))))
  }
  await redis.hset('ctr:latest', ...latest)
  await redis.hset('ctr:previous', ...previous)
}

async function startApi(port: number, redisUrl: string): Promise<ChildProcess> {
  const main = join(here, '..', 'packages', 'serving', 'src', 'main.ts')
  const child = spawn(process.execPath, ['--import', 'tsx', main], {
    env: {
      ...process.env,
      PORT: String(port),
      HOST: '127.0.0.1',
      REDIS_URL: redisUrl,
      LOG_LEVEL: 'warn',
    },
    stdio: ['ignore', 'inherit', 'inherit'],
  })
  const deadline = Date.now() + 30_000
  for (;;) {
    if (child.exitCode !== null) throw new Error(`the API exited (${child.exitCode})`)
    const ok = await fetch(`http://127.0.0.1:${port}/healthz`)
      .then((r) => r.ok)
      .catch(() => false)
    if (ok) return child
    if (Date.now() > deadline) throw new Error('the API did not become healthy within 30 s')
    await new Promise((r) => setTimeout(r, 100))
  }
}

type Run = {
  requestsPerSecond: number
  p50Ms: number
  p90Ms: number
  p99Ms: number
  maxMs: number
  meanMs: number
  requests: number
  non2xx: number
  errors: number
}

async function run(url: string, path: string | ((i: number) => string), duration: number): Promise<Run> {
  let i = 0
  const r = await autocannon({
    url,
    connections: CONNECTIONS,
    duration,
    requests: [
      {
        method: 'GET',
        setupRequest: (req) => ({ ...req, path: typeof path === 'string' ? path : path(i++) }),
      },
    ],
  })
  return {
    requestsPerSecond: Math.round(r.requests.average),
    p50Ms: r.latency.p50,
    p90Ms: r.latency.p90,
    p99Ms: r.latency.p99,
    maxMs: r.latency.max,
    meanMs: r.latency.average,
    requests: r.requests.total,
    non2xx: r.non2xx,
    errors: r.errors + r.timeouts,
  }
}

const loadBefore = loadavg()[0]
const redis = await freshRedis()
await seed(redis)
const port = await freePort()
const api = await startApi(port, redis.url)
const url = `http://127.0.0.1:${port}`
try {
  // Product ids spread over all 1,000 products, in a fixed pseudo-random order.
  const product = (i: number) => `/ctr/p-${(i * 7919) % PRODUCTS}`
  const latestBytes = (await (await fetch(`${url}/ctr/latest`)).text()).length
  await run(url, product, WARMUP_S)
  const byProduct = await run(url, product, DURATION_S)
  await run(url, '/ctr/latest', WARMUP_S)
  const latest = await run(url, '/ctr/latest', DURATION_S)
  for (const [name, r] of Object.entries({ byProduct, latest })) {
    if (r.non2xx > 0 || r.errors > 0) throw new Error(`${name}: ${r.non2xx} non-2xx answers, ${r.errors} errors`)
  }
  writeResult(
    'serving',
    {
      products: PRODUCTS,
      redis: redis.url,
      connections: CONNECTIONS,
      durationSeconds: DURATION_S,
      warmupSeconds: WARMUP_S,
      server: 'packages/serving/src/main.ts in a child process (LOG_LEVEL=warn), autocannon in this process',
      latestResponseBytes: latestBytes,
      latencyResolution: 'autocannon percentiles are whole milliseconds (0 = under 1 ms); meanMs is exact',
      // Other work on the machine skews the figures: the 1-minute load average before and after the runs.
      loadAverage1m: { before: loadBefore, after: loadavg()[0] },
    },
    { 'GET /ctr/{product_id}': byProduct, 'GET /ctr/latest': latest },
  )
} finally {
  api.kill('SIGTERM')
  await redis.release()
}
