// `pnpm bench serving`: throughput and latency of the HTTP API with 1,000 products in Redis, measured as the targets
// of the serving README say: Debian's `wrk` (apt-get install wrk) as a separate process, 1 thread, 32 connections,
// `--latency` percentiles; autocannon in this process (same connections) when wrk is not installed. The API runs as
// `pnpm api` would (src/main.ts, LOG_LEVEL=warn) in a child process on a free loopback port. Redis: a database leased
// with freshRedis() (@ctr/testing, one of 1-15 of REDIS_URL or 127.0.0.1:6379), so it never empties one a test is
// using; emptied before and after. Options: DURATION_S (10), ROUTES=product,latest,top (a subset is printed, not
// written to bench/results), CPU_PROF=<dir> (the API writes a CPU profile there when it stops).
import { type ChildProcess, spawn } from 'node:child_process'
import { loadavg } from 'node:os'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { toCtrResult } from '@ctr/ctr-topology'
import { freshRedis, type TestRedis } from '@ctr/testing'
import autocannon from 'autocannon'
import { freePort } from './lib/processes.js'
import { writeResult } from './lib/report.js'
import { hasWrk, type LoadRun, wrk } from './lib/wrk.js'

const here = dirname(fileURLToPath(import.meta.url))
const PRODUCTS = 1000
const DURATION_S = Number(process.env.DURATION_S ?? 10)
const WARMUP_S = 2
const CONNECTIONS = 32
const ROUTES = { product: '/ctr/{product_id}', latest: '/ctr/latest', top: '/ctr/top' }
const TARGETS = { 'GET /ctr/{product_id}': '>= 15,000 req/s', 'GET /ctr/latest': '>= 3,000 req/s, p99 <= 20 ms' }

/** A product's result for the window starting at `start`, as the job writes it. */
const result = (id: string, start: number, impressions: number, clicks: number) =>
  toCtrResult({ key: id, window: { start, end: start + 10_000 }, value: { impressions, clicks } })

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
  // CPU_PROF=<dir>: the API writes a V8 CPU profile there when it stops (open it in Chrome DevTools).
  const prof = process.env.CPU_PROF ? ['--cpu-prof', '--cpu-prof-dir', process.env.CPU_PROF] : []
  const child = spawn(process.execPath, [...prof, '--import', 'tsx', main], {
    env: { ...process.env, PORT: String(port), HOST: '127.0.0.1', REDIS_URL: redisUrl, LOG_LEVEL: 'warn' },
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

// Product ids spread over all 1,000 products, in a fixed pseudo-random order (the same in both drivers).
const productPath = (i: number) => `/ctr/p-${(i * 7919) % PRODUCTS}`
const PRODUCT_PATHS_LUA = `"/ctr/p-" .. ((i * 7919) % ${PRODUCTS})`

async function autocannonRun(url: string, path: string | ((i: number) => string), duration: number): Promise<LoadRun> {
  let i = 0
  const r = await autocannon({
    url,
    connections: CONNECTIONS,
    duration,
    requests: [
      { method: 'GET', setupRequest: (req) => ({ ...req, path: typeof path === 'string' ? path : path(i++) }) },
    ],
  })
  return {
    requestsPerSecond: Math.round(r.requests.average),
    p50Ms: r.latency.p50,
    p90Ms: r.latency.p90,
    p99Ms: r.latency.p99,
    maxMs: r.latency.max,
    requests: r.requests.total,
    non2xx: r.non2xx,
    errors: r.errors + r.timeouts,
  }
}

const useWrk = hasWrk()
const load = (base: string, path: string, seconds: number): Promise<LoadRun> => {
  const spread = path === '/ctr/{product_id}'
  if (useWrk) {
    return wrk({
      url: `${base}${spread ? '/' : path}`,
      connections: CONNECTIONS,
      seconds,
      ...(spread ? { paths: PRODUCT_PATHS_LUA } : {}),
    })
  }
  return autocannonRun(base, spread ? productPath : path, seconds)
}

const loadBefore = loadavg()[0]
const redis = await freshRedis()
await seed(redis)
const port = await freePort()
const api = await startApi(port, redis.url)
const base = `http://127.0.0.1:${port}`
try {
  const latestBytes = (await (await fetch(`${base}/ctr/latest`)).text()).length
  const results: Record<string, LoadRun> = {}
  const pick = process.env.ROUTES?.split(',')
  const routes = Object.entries(ROUTES).filter(([name]) => !pick || pick.includes(name))
  for (const [, path] of routes) {
    await load(base, path, WARMUP_S)
    const r = await load(base, path, DURATION_S)
    if (r.non2xx > 0 || r.errors > 0) throw new Error(`${path}: ${r.non2xx} non-2xx answers, ${r.errors} errors`)
    results[`GET ${path}`] = r
  }
  if (pick) console.log(JSON.stringify(results, null, 2))
  else
    writeResult(
      'serving',
      {
        products: PRODUCTS,
        redis: redis.url,
        driver: useWrk
          ? `wrk -t1 -c${CONNECTIONS} -d${DURATION_S}s --latency (separate process)`
          : `autocannon, ${CONNECTIONS} connections, in this process (wrk is not installed)`,
        connections: CONNECTIONS,
        durationSeconds: DURATION_S,
        warmupSeconds: WARMUP_S,
        server: 'packages/serving/src/main.ts in a child process (LOG_LEVEL=warn)',
        latestResponseBytes: latestBytes,
        targets: TARGETS,
        // Other work on the machine skews the figures: the 1-minute load average before and after the runs.
        loadAverage1m: { before: loadBefore, after: loadavg()[0] },
      },
      results,
    )
} finally {
  api.kill('SIGTERM')
  await new Promise((r) => api.once('exit', r))
  await redis.release()
}
