// End-to-end throughput of the CTR job (packages/ctr-topology) on the real cluster in the runner's three task
// modes, to quantify what repartitioning costs:
//   single     one task holding every partition, no internal topic
//   partition  a task per partition number (the input is co-partitioned: both topics keyed by product_id, same
//              partition count, produced with explicit partitions from one function of product_id)
//   auto       every record of the keyBy goes through `<applicationId>-by-product-repartition` (staged engine:
//              the upstream side routes, one downstream engine per partition runs the windows)
// 1. produce N CTR events (impressions:clicks 10:1, 1000 products, event time rising over 4 minutes and ending
//    ~1 min before now) to two fresh 6-partition topics, shared by every run. The last record of each of the 12
//    partitions is a closing event 30 s of event time later (product `close-<p>`): it moves every partition's
//    watermark past the last real window, so every mode fires every window of the real products.
// 2. per mode (REPEATS times, interleaved), a runner with a fresh applicationId, checkpoints on (default interval),
//    results to Redis latest/previous hashes of its own. Timed from the first partition assignment until every
//    event is counted into a window: engine eventsIn = N ('single', 'partition'); for 'auto', the sum of the
//    downstream engines' eventsIn = N (each event once, duplicates dropped), and separately the upstream
//    side's eventsIn = N (the routing stage alone).
// 3. every run's results (every window the sink received, last value per window, and the Redis hashes) must equal
//    the counts computed while producing; the bench fails if any run differs.
// Settings: BENCH_EVENTS (default 300000), BENCH_REPEATS (2), BENCH_MODES (single,partition,auto), BENCH_IDLE_MS (the
// topology's idle timeout, default 10 s), KAFKA_BROKERS, REDIS_URL (default db 14).

import { loadavg } from 'node:os'
import { KafkaJS } from '@confluentinc/kafka-javascript'
import { Redis } from 'ioredis'
import type { CtrResult } from '../packages/ctr-topology/src/contract.js'
import { toCtrResult } from '../packages/ctr-topology/src/result.js'
import { ctrTopology } from '../packages/ctr-topology/src/topology.js'
import { describeCluster, ensureTopics, KafkaProducer } from '../packages/streams-dsl/src/connectors/kafka/index.js'
import { createSinkRedis, redisLatestPrevious } from '../packages/streams-dsl/src/connectors/redis/index.js'
import type { Sink } from '../packages/streams-dsl/src/index.js'
import { createRunner, type Runner } from '../packages/streams-dsl/src/runner/index.js'
import { partitionForKey } from '../packages/streams-dsl/src/runtime/repartition.js'
import { StagedEngine } from '../packages/streams-dsl/src/runtime/staged-engine.js'
import { quietKafkaLogger } from './lib/quiet-logger.js'
import { writeResult } from './lib/report.js'

const N = Number(process.env.BENCH_EVENTS ?? 300_000)
const REPEATS = Number(process.env.BENCH_REPEATS ?? 2)
const PARTITIONS = 6
const PRODUCTS = 1000
const SPAN_MS = 240_000
const WINDOW_MS = 10_000
type Mode = 'single' | 'partition' | 'auto'
const MODES = (process.env.BENCH_MODES ?? 'single,partition,auto').split(',') as Mode[]
const brokers = process.env.KAFKA_BROKERS ?? '127.0.0.1:9092'
const redisUrl = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379/14'
const stamp = Date.now().toString(36)
const prefix = `bench-ctr-${stamp}`
const impressionsTopic = `${prefix}-impressions`
const clicksTopic = `${prefix}-clicks`
const log = (s: string) => console.log(`[ctr-job] ${s}`)

const quiet = quietKafkaLogger

/** The one partition function both topics are produced with: equal product ids, equal partition numbers. */
const partitionOf = (productId: string) => partitionForKey(productId, PARTITIONS)

/** A closing product id per partition (found by trying `close-0`, `close-1`, ...). */
const closers: string[] = []
for (let k = 0; closers.filter(Boolean).length < PARTITIONS; k++) closers[partitionOf(`close-${k}`)] ??= `close-${k}`
const isCloser = (productId: string) => productId.startsWith('close-')

/** `product@window_start` -> the result the job must produce for it. */
const expected = new Map<string, CtrResult>()
const windowKey = (productId: string, windowStart: number) => `${productId}@${windowStart}`

/** A deterministic product sequence (xorshift), so runs of the bench are comparable. */
function* products(): Generator<string> {
  let x = 0x9e3779b9
  for (;;) {
    x ^= x << 13
    x ^= x >>> 17
    x ^= x << 5
    yield `p-${(x >>> 0) % PRODUCTS}`
  }
}

type Message = { key: string; value: string; partition: number }

async function produceAll(): Promise<{ seconds: number; avgBytes: number; impressions: number; clicks: number }> {
  const producer = new KafkaProducer({
    brokers,
    clientId: 'bench-producer',
    rdkafka: { 'linger.ms': 20, 'batch.num.messages': 10_000 },
  })
  const tEnd = Date.now() - 60_000
  const t0 = tEnd - SPAN_MS
  const real = N - 2 * PARTITIONS
  const counts = new Map<string, { impressions: number; clicks: number }>()
  const next = products()
  const chunk = 20_000
  const start = performance.now()
  let bytes = 0
  let impressions = 0
  let clicks = 0
  const inflight: Promise<void>[] = []
  const send = (topic: string, msgs: Message[]) => {
    if (msgs.length) inflight.push(producer.send(topic, msgs))
  }
  const message = (i: number, productId: string, timestamp: number, click: boolean): Message => {
    const value = JSON.stringify({
      event_id: `evt-${stamp}-${String(i).padStart(12, '0')}`,
      product_id: productId,
      user_id: `u-${String((i * 7919) % 100_000).padStart(6, '0')}`,
      timestamp,
      ...(click && { impression_id: `evt-${stamp}-${String(i - 1).padStart(12, '0')}` }),
    })
    bytes += value.length
    return { key: productId, value, partition: partitionOf(productId) }
  }
  for (let i = 0; i < real; i += chunk) {
    const imp: Message[] = []
    const clk: Message[] = []
    for (let j = i; j < Math.min(real, i + chunk); j++) {
      const productId = next.next().value as string
      const timestamp = t0 + Math.floor((j * SPAN_MS) / real)
      const click = j % 11 === 10
      ;(click ? clk : imp).push(message(j, productId, timestamp, click))
      const w = timestamp - (timestamp % WINDOW_MS)
      const k = windowKey(productId, w)
      const c = counts.get(k) ?? { impressions: 0, clicks: 0 }
      if (click) c.clicks++
      else c.impressions++
      counts.set(k, c)
    }
    impressions += imp.length
    clicks += clk.length
    send(impressionsTopic, imp)
    send(clicksTopic, clk)
    while (inflight.length >= 8) await inflight.shift()
  }
  // the closing events: one per partition of each topic, after everything else in it
  await Promise.all(inflight)
  const closing = tEnd + 30_000
  send(
    impressionsTopic,
    closers.map((p, k) => message(real + k, p, closing, false)),
  )
  send(
    clicksTopic,
    closers.map((p, k) => message(real + PARTITIONS + k, p, closing, true)),
  )
  await Promise.all(inflight)
  const seconds = (performance.now() - start) / 1000
  await producer.close()
  for (const [k, c] of counts) {
    const [productId, w] = k.split('@') as [string, string]
    const windowStart = Number(w)
    expected.set(
      k,
      toCtrResult({ key: productId, window: { start: windowStart, end: windowStart + WINDOW_MS }, value: c }),
    )
  }
  return { seconds, avgBytes: bytes / N, impressions: impressions + PARTITIONS, clicks: clicks + PARTITIONS }
}

/** The latest and previous hashes the job must leave: per product, its two windows with the greatest start. */
function expectedHashes(): { latest: Map<string, string>; previous: Map<string, string> } {
  const byProduct = new Map<string, CtrResult[]>()
  for (const r of expected.values()) byProduct.set(r.product_id, [...(byProduct.get(r.product_id) ?? []), r])
  const latest = new Map<string, string>()
  const previous = new Map<string, string>()
  for (const [p, rs] of byProduct) {
    rs.sort((a, b) => b.window_start - a.window_start)
    latest.set(p, JSON.stringify(rs[0]))
    if (rs[1]) previous.set(p, JSON.stringify(rs[1]))
  }
  return { latest, previous }
}

/** What differs between `got` and `want` (first few keys), or nothing. */
function differences(label: string, got: Map<string, string>, want: Map<string, string>): string[] {
  const out: string[] = []
  for (const [k, v] of want) if (got.get(k) !== v) out.push(`${label} ${k}: got ${got.get(k) ?? 'nothing'}, want ${v}`)
  for (const [k, v] of got) if (!want.has(k)) out.push(`${label} ${k}: got ${v}, want nothing`)
  return out
}

type Run = {
  mode: Mode
  /** Null when the run did not count every event (stalled or failed). */
  seconds: number | null
  upstreamSeconds?: number | null
  /** From the assignment until the sink received the last expected window (fired windows, not part of the rate). */
  lastWindowSeconds: number
  counters: Record<string, number>
  mismatches: string[]
}

/** Events counted into a window so far: the engine's, or for a staged engine its downstream engines'. */
function counted(runner: Runner): { windows: number; upstream: number } {
  const engine = runner.engine
  if (!engine) return { windows: 0, upstream: 0 }
  if (engine instanceof StagedEngine) {
    let windows = 0
    for (const e of engine.downstream.values()) windows += e.counters.eventsIn
    return { windows, upstream: engine.upstream.counters.eventsIn }
  }
  const n = engine.status().counters.eventsIn
  return { windows: n, upstream: n }
}

/** What a stalled runner looks like: paused or not, and each input partition's position, lag and idleness. */
function stallReport(runner: Runner): string {
  const s = runner.status()
  const parts = s.partitions.map(
    (p) =>
      `${p.topic.slice(prefix.length + 1)}:${p.partition} pos ${p.position} hw ${p.highWatermark} lag ${p.lag}` +
      (p.idle ? ' idle' : ''),
  )
  return JSON.stringify({
    state: s.state,
    paused: s.paused,
    pauses: s.pauses,
    watermark: s.watermark,
    partitions: parts,
  })
}

async function runMode(mode: Mode, r: number): Promise<Run> {
  const applicationId = `${prefix}-${mode}-${r}`
  const latestKey = `bench:ctr-job:${stamp}:${mode}:${r}:latest`
  const previousKey = `bench:ctr-job:${stamp}:${mode}:${r}:previous`
  const sinkRedis = createSinkRedis(redisUrl)
  const inner = redisLatestPrevious<CtrResult>({ latest: latestKey, previous: previousKey, redis: sinkRedis })
  // every window the sink received (the last value of each), and when the last expected one arrived
  const received = new Map<string, string>()
  let realWindows = 0
  let lastWindowAt: number | undefined
  const results: Sink<CtrResult> = {
    ...inner,
    async write(records) {
      await inner.write(records)
      for (const x of records) {
        if (isCloser(x.product_id)) continue
        const k = windowKey(x.product_id, x.window_start)
        if (!received.has(k)) realWindows++
        received.set(k, JSON.stringify(x))
      }
      if (realWindows >= expected.size) lastWindowAt ??= performance.now()
    },
  }
  const runner = createRunner(
    ctrTopology({
      applicationId,
      impressionsTopic,
      clicksTopic,
      results,
      ...(process.env.BENCH_IDLE_MS && { idleTimeout: Number(process.env.BENCH_IDLE_MS) }),
    }),
    {
      tasks: mode,
      config: { applicationId, kafkaBrokers: brokers, redisUrl, port: 0, logLevel: 'warn' },
      checkpoints: { enabled: true },
    },
  )
  await runner.start()
  let first: number | undefined
  let upstreamAt: number | undefined
  let error: string | undefined
  // gives up once nothing has been counted for a minute (the figures and counters are still reported)
  let progress = { n: -1, at: Date.now() }
  for (;;) {
    if (first === undefined && runner.status().partitions.length > 0) first = performance.now()
    const c = counted(runner)
    if (c.upstream >= N) upstreamAt ??= performance.now()
    if (c.windows >= N && first !== undefined) break
    if (c.windows + c.upstream !== progress.n) progress = { n: c.windows + c.upstream, at: Date.now() }
    if (runner.state === 'failed' || runner.state === 'stopped') {
      error = `runner ${runner.state} (${runner.status().error ?? 'no error'}) at ${c.windows} of ${N} (upstream ${c.upstream})`
      break
    }
    if (Date.now() - progress.at > 60_000) {
      error = `stalled: ${c.windows} of ${N} events counted into windows (upstream ${c.upstream}), no progress for 60 s`
      log(`${mode} ${error}; runner status: ${stallReport(runner)}`)
      break
    }
    await new Promise((res) => setTimeout(res, 5))
  }
  const end = performance.now()
  const start = first ?? end
  // every window of the real products must fire (the closing events carry the watermark past them)
  const windowsDeadline = Date.now() + 60_000
  while (!error && realWindows < expected.size && Date.now() < windowsDeadline)
    await new Promise((res) => setTimeout(res, 20))
  const counters = { ...(runner.engine?.status().counters ?? {}), countedIntoWindows: counted(runner).windows }
  await runner.stop()
  const exitCode = await runner.finished

  const check = new Redis(redisUrl)
  const hash = async (key: string) =>
    new Map(Object.entries(await check.hgetall(key)).filter(([p]) => !isCloser(p)) as [string, string][])
  const want = expectedHashes()
  const mismatches = [
    ...(error ? [error] : []),
    ...(exitCode !== 0 ? [`runner exit code ${exitCode}`] : []),
    ...differences('window', received, new Map([...expected].map(([k, v]) => [k, JSON.stringify(v)]))),
    ...differences('ctr:latest', await hash(latestKey), want.latest),
    ...differences('ctr:previous', await hash(previousKey), want.previous),
  ]
  await check.del(latestKey, previousKey)
  check.disconnect()
  sinkRedis.disconnect()
  return {
    mode,
    seconds: error ? null : (end - start) / 1000,
    ...(mode === 'auto' && { upstreamSeconds: upstreamAt === undefined ? null : (upstreamAt - start) / 1000 }),
    lastWindowSeconds: ((lastWindowAt ?? performance.now()) - start) / 1000,
    counters,
    mismatches,
  }
}

/** Deletes this benchmark's topics (input, repartition, changelog, DLQ) and groups, or leftovers of interrupted runs. */
async function deleteBenchTopics(match: (name: string) => boolean) {
  const admin = new KafkaJS.Kafka({}).admin({ 'bootstrap.servers': brokers, kafkaJS: { logger: quiet } } as never)
  await admin.connect()
  const topics = (await admin.listTopics()).filter((t) => t.startsWith('bench-ctr-') && match(t))
  if (topics.length) await admin.deleteTopics({ topics }).catch(() => {})
  const groups = await admin
    .listGroups()
    .then((g) => g.groups.map((x) => x.groupId).filter((id) => id.startsWith('bench-ctr-') && match(id)))
    .catch(() => [] as string[])
  if (groups.length) await admin.deleteGroups(groups).catch(() => {})
  await admin.disconnect()
}

await deleteBenchTopics((t) => !t.startsWith(prefix))
const loadBefore = loadavg()[0]
const cluster = await describeCluster(brokers)
log(`${N} events to ${impressionsTopic} and ${clicksTopic} (${PARTITIONS} partitions each, ${cluster.brokers} brokers)`)
await ensureTopics(
  [
    { topic: impressionsTopic, partitions: PARTITIONS },
    { topic: clicksTopic, partitions: PARTITIONS },
  ],
  brokers,
)
const produced = await produceAll()
log(
  `produced ${produced.impressions} impressions and ${produced.clicks} clicks in ${produced.seconds.toFixed(1)} s (${Math.round(N / produced.seconds)} events/s), ${produced.avgBytes.toFixed(0)} B avg; ${expected.size} windows expected`,
)

// Each mode REPEATS times, interleaved (the machine is shared: its load varies); the median is reported.
const rate = (seconds: number | null | undefined) => (seconds == null ? null : Math.round(N / seconds))
const runs: Run[] = []
try {
  for (let r = 0; r < REPEATS; r++)
    for (const mode of MODES) {
      const run = await runMode(mode, r)
      runs.push(run)
      log(
        `run ${r + 1}/${REPEATS} ${mode}: ${run.seconds === null ? 'did not finish' : `${rate(run.seconds)} events/s (${run.seconds.toFixed(1)} s)`}` +
          (run.upstreamSeconds !== undefined ? `, upstream ${rate(run.upstreamSeconds)} events/s` : '') +
          `, last window after ${run.lastWindowSeconds.toFixed(1)} s; counters ${JSON.stringify(run.counters)}` +
          (run.mismatches.length
            ? `; ${run.mismatches.length} MISMATCHES: ${run.mismatches.slice(0, 5).join('; ')}`
            : '; results as expected'),
      )
    }
} finally {
  await deleteBenchTopics((t) => t.startsWith(prefix))
}

/** The median of the runs that finished (null if none did). */
const median = (xs: (number | null)[]) => {
  const done = xs.filter((x): x is number => x !== null).sort((a, b) => a - b)
  return done.length ? done[Math.floor(done.length / 2)]! : null
}
const rates = (mode: Mode) => median(runs.filter((x) => x.mode === mode).map((x) => rate(x.seconds)))
const upstream = median(runs.filter((x) => x.mode === 'auto').map((x) => rate(x.upstreamSeconds)))
const failed = runs.filter((x) => x.mismatches.length > 0)
const [single, auto] = [rates('single'), rates('auto')]

writeResult(
  'ctr-job',
  {
    events: N,
    impressions: produced.impressions,
    clicks: produced.clicks,
    closingEvents: `${2 * PARTITIONS} (one per partition, 30 s of event time after the rest, included in events)`,
    products: PRODUCTS,
    eventTimeSpanSeconds: SPAN_MS / 1000,
    windowsExpected: expected.size,
    avgEventBytes: Math.round(produced.avgBytes),
    partitions: PARTITIONS,
    brokers: cluster.brokers,
    repeats: REPEATS,
    statistic:
      'median of the repeats that finished (null: none did), events/s from the first partition assignment until every event is counted into a window',
    runner: 'createRunner(ctrTopology(...)), checkpoints on (default interval), other settings default',
    results: 'redisLatestPrevious (EVALSHA per window) to per-run hashes in Redis db 14',
    loadAverage1mBeforeAfter: [loadBefore, loadavg()[0]].map((l) => Math.round((l ?? 0) * 10) / 10),
  },
  {
    produceEventsPerSecond: Math.round(N / produced.seconds),
    single: rates('single'),
    partition: rates('partition'),
    auto: rates('auto'),
    autoUpstream: upstream,
    autoVsSingle: auto !== null && single !== null ? Math.round((auto / single) * 100) / 100 : null,
    resultsIdentical: failed.length === 0,
    runs: runs.map((x) => ({
      mode: x.mode,
      eventsPerSecond: rate(x.seconds),
      ...(x.upstreamSeconds !== undefined && { upstreamEventsPerSecond: rate(x.upstreamSeconds) }),
      ...(x.seconds === null && { error: x.mismatches[0] }),
      lastWindowSeconds: Math.round(x.lastWindowSeconds * 10) / 10,
      counters: x.counters,
      ...(x.mismatches.length && { mismatches: x.mismatches.length, firstMismatches: x.mismatches.slice(0, 5) }),
    })),
  },
)
if (failed.length) {
  console.error(`[ctr-job] results differ from the expected counts in ${failed.map((x) => x.mode).join(', ')}`)
  process.exit(1)
}
process.exit(0)
