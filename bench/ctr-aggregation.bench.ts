// In-memory throughput of the CTR aggregation (merge, keyBy, 10 s tumbling, sumOf, map) on one core.
// `pnpm bench ctr-aggregation` runs every mode, each in its own process (its own peak RSS):
//   objects   events already parsed: the serde hands out prepared objects (aggregation path only)
//   json-parse raw JSON Buffers decoded with JSON.parse of the text + zod validation
//   json       raw JSON Buffers decoded by json(zod schema): the field reader (builds only the schema's fields:
//              product_id and timestamp of the CTR job's schema, skipping event_id and user_id) + zod
//   json-fast  the field reader + a hand-written validator instead of zod
// Options: EVENTS (default 5_000_000), PRODUCTS (10_000), BATCH (1000 records per batch), WINDOW (tumbling: the
// CTR job's 10 s windows; hopping: 10 s every 2 s; session: 10 s gap; sliding: 10 s time difference — what each
// window kind costs on the same events; results in bench/results/ctr-aggregation[-<window>].json), OPERATOR
// (window: the CTR topology; what the other stateful operators cost on the same events, json mode only, results in
// bench/results/ctr-aggregation-<operator>.json: running — the merged events summed per product over all time, a
// result per event; interval-join — each click joined to the impressions of its product in the 100 ms before it;
// table-join — each event joined with its product's row of a products table, one row per product read first;
// dedupe — the CTR topology with each input deduplicated by event_id within 1 min first, one event in 20 sent
// twice in a row); process — the CTR counts per product and 10 s window by a custom processor (keyBy(fn).process:
// per product its windows' counts as JSON state, an event-time timer at each window's end emitting it), beside the
// window operator doing the same; top-n — the 10 most clicked products of each 10 s window, topN over one key).
import { spawnSync } from 'node:child_process'
import { writeFileSync } from 'node:fs'
import { Session } from 'node:inspector/promises'
import { loadavg } from 'node:os'
import { fileURLToPath } from 'node:url'
import { ProductId, productIdRule } from '@ctr/ctr-topology/contract'
import {
  hopping,
  type InputBatch,
  json,
  type RawRecord,
  type Serde,
  type Sink,
  session,
  sliding,
  sumOf,
  topic,
  topN,
  topology,
  tumbling,
  type WindowSpec,
} from '@ctr/streams-dsl'
// the engine alone is what this bench measures (no runner, no Kafka): not public API
import { createEngine } from '@ctr/streams-dsl/internal'
import { z } from 'zod'
import { writeResult } from './lib/report.js'

const EVENTS = Number(process.env.EVENTS ?? 5_000_000)
const PRODUCTS = Number(process.env.PRODUCTS ?? 10_000)
const BATCH = Number(process.env.BATCH ?? 1000)
const PARTITIONS = 4
const CLICK_RATE = 0.1
const EVENTS_PER_SECOND = 10_000 // of event time: 5M events span 500 s, 50 windows of 10 s
const T0 = Date.parse('2025-01-01T00:00:00Z')
const MODES = ['objects', 'json-parse', 'json', 'json-fast'] as const
const WINDOWS: Record<string, () => WindowSpec> = {
  tumbling: () => tumbling('10s'),
  hopping: () => hopping({ size: '10s', advance: '2s' }),
  session: () => session('10s'),
  sliding: () => sliding('10s'),
}
const WINDOW = process.env.WINDOW ?? 'tumbling'
if (!(WINDOW in WINDOWS)) throw new Error(`WINDOW must be one of ${Object.keys(WINDOWS).join(', ')}, not ${WINDOW}`)
const windowSpec = (WINDOWS[WINDOW] as () => WindowSpec)()
const OPERATORS = ['window', 'running', 'interval-join', 'table-join', 'dedupe', 'process', 'top-n'] as const
type Operator = (typeof OPERATORS)[number]
const OPERATOR = (process.env.OPERATOR ?? 'window') as Operator
if (!OPERATORS.includes(OPERATOR)) throw new Error(`OPERATOR must be one of ${OPERATORS.join(', ')}, not ${OPERATOR}`)
const Row = z.object({ category: z.string() })
type Mode = (typeof MODES)[number]

// The CTR job's decode schema (packages/ctr-topology): only what the topology reads is validated and built;
// event_id and user_id are in every payload but skipped (docs/contract.md §1.2: unknown fields are ignored).
const Event = z.object({
  product_id: ProductId, // the job's rule: 1-128 code points, no control characters or lone surrogates
  timestamp: z.union([z.number(), z.string()]).nullish(),
})
type Event = z.output<typeof Event>
// OPERATOR=dedupe also reads the event id
const EventWithId = Event.extend({ event_id: z.string() })

/** The validator a faster decoder would use: checks the CTR fields by hand, no zod. */
function validateEvent(v: unknown): Event | string {
  if (typeof v !== 'object' || v === null) return 'value: expected an object'
  const e = v as Record<string, unknown>
  const p = e.product_id
  if (typeof p !== 'string') return 'product_id: expected a string'
  const problem = productIdRule(p)
  if (problem !== null) return `product_id: ${problem}`
  const ts = e.timestamp
  if (ts !== undefined && ts !== null && typeof ts !== 'number' && typeof ts !== 'string')
    return 'timestamp: number or ISO string'
  return e as Event
}

type CtrResult = {
  product_id: string
  impressions: number
  clicks: number
  ctr: number | null
  window_start: number
  window_end: number
}

function build(mode: Mode, prepared: Event[] | undefined) {
  let next = 0 // reset by each build: every repetition hands out the objects again
  // objects mode: decoding is a lookup, so only the aggregation path is measured
  const objects: Serde<Event> = {
    name: 'prepared',
    decode: () => (prepared as Event[])[next++] as Event,
    encode: () => Buffer.alloc(0),
  }
  const serdes: Record<Mode, Serde<Event>> = {
    objects,
    'json-parse': json(Event, { parse: (b) => JSON.parse(b.toString('utf8')) }),
    json: json(Event),
    'json-fast': json(Event, { validate: validateEvent }),
  }
  const serde = OPERATOR === 'dedupe' ? (json(EventWithId) as Serde<Event>) : serdes[mode]
  const app = topology('ctr-bench', {
    watermarks: { maxOutOfOrderness: '3s', idleTimeout: '10s', maxFutureSkew: '5m' },
  })
  const deduped = (s: ReturnType<typeof app.source<Event>>) =>
    OPERATOR === 'dedupe'
      ? s.deduplicate({ by: (e) => (e as Event & { event_id: string }).event_id, within: '1m', allowedLateness: '5s' })
      : s
  const impressions = deduped(app.source(topic('impressions', { value: serde, timestamp: (e) => e.timestamp })))
  const clicks = deduped(app.source(topic('clicks', { value: serde, timestamp: (e) => e.timestamp })))
  let results = 0
  const sink: Sink<CtrResult> = {
    name: 'count',
    write: async (rs) => {
      results += rs.length
    },
  }
  // the other operators' results are only counted
  const counting: Sink<unknown> = {
    name: 'count',
    write: async (rs) => {
      results += rs.length
    },
  }
  const merged = () =>
    impressions
      .map((e) => ({ productId: e.product_id, impressions: 1, clicks: 0 }))
      .merge(clicks.map((e) => ({ productId: e.product_id, impressions: 0, clicks: 1 })))
  if (OPERATOR === 'running') {
    merged()
      .keyBy((e) => e.productId)
      .aggregate(sumOf('impressions', 'clicks'))
      .to(counting)
    return { topology: app.build(), results: () => results }
  }
  if (OPERATOR === 'interval-join') {
    clicks
      .keyBy((c) => c.product_id)
      .join(
        impressions.keyBy((i) => i.product_id),
        (c, i) => ({ product_id: c.product_id, delay: (c.timestamp as number) - (i.timestamp as number) }),
        { within: { before: 100, after: 0 }, allowedLateness: '5s' },
      )
      .to(counting)
    return { topology: app.build(), results: () => results }
  }
  if (OPERATOR === 'process') {
    type Counts = Record<string, [number, number]>
    merged()
      .keyBy((e) => e.productId)
      .process<Counts, { product_id: string; window_start: number; impressions: number; clicks: number }>({
        name: 'ctr-by-processor',
        process(e, ctx) {
          const start = ctx.timestamp - (((ctx.timestamp % 10_000) + 10_000) % 10_000)
          if (start + 10_000 - 1 + 5_000 <= ctx.watermark) return // past the window's lateness: dropped
          const w = ctx.state ?? {}
          const c = w[start]
          if (c === undefined) {
            w[start] = [e.impressions, e.clicks]
            ctx.setTimer(start + 10_000 - 1)
          } else {
            c[0] += e.impressions
            c[1] += e.clicks
          }
          ctx.state = w
        },
        onTimer(time, ctx) {
          const start = time + 1 - 10_000
          const c = ctx.state?.[start]
          if (c === undefined || ctx.state === undefined) return
          ctx.emit({ product_id: ctx.key, window_start: start, impressions: c[0], clicks: c[1] })
          delete ctx.state[start]
          if (Object.keys(ctx.state).length === 0) ctx.state = undefined
        },
      })
      .to(counting)
    return { topology: app.build(), results: () => results }
  }
  if (OPERATOR === 'top-n') {
    merged()
      .keyBy(() => 'all')
      .window(tumbling('10s'), { allowedLateness: '5s' })
      .aggregate(topN({ n: 10, key: (e) => e.productId, score: (e) => e.clicks }))
      .to(counting)
    return { topology: app.build(), results: () => results }
  }
  if (OPERATOR === 'table-join') {
    const products = app.table(topic('products', { value: json(Row) }))
    merged()
      .keyBy((e) => e.productId)
      .join(products, (e, row) => ({ ...e, category: row.category }), { allowedLateness: '5s' })
      .to(counting)
    return { topology: app.build(), results: () => results }
  }
  merged()
    .keyBy((e) => e.productId)
    .window(windowSpec, { allowedLateness: '5s' })
    .aggregate(sumOf('impressions', 'clicks'))
    .map((r) => ({
      product_id: r.key,
      impressions: r.value.impressions,
      clicks: r.value.clicks,
      ctr: r.value.impressions === 0 ? null : r.value.clicks / r.value.impressions,
      window_start: r.window.start,
      window_end: r.window.end,
    }))
    .to(sink)
  return { topology: app.build(), results: () => results }
}

/** Deterministic event stream: mostly in order, up to 2 s jitter, products drawn from a skewed distribution. */
function* events(): Generator<{ topic: 'impressions' | 'clicks'; partition: number; product: number; ts: number }> {
  let seed = 42
  const rand = () => {
    seed = (seed * 1_103_515_245 + 12_345) & 0x7fffffff
    return seed / 0x7fffffff
  }
  for (let i = 0; i < EVENTS; i++) {
    const product = Math.floor(rand() ** 2 * PRODUCTS)
    const ts = T0 + Math.floor((i / EVENTS_PER_SECOND) * 1000) - Math.floor(rand() * 2000)
    yield { topic: rand() < CLICK_RATE ? 'clicks' : 'impressions', partition: product % PARTITIONS, product, ts }
  }
}

async function runMode(mode: Mode) {
  // Input is prepared before timing: per partition, batches of RawRecords over one Buffer slab (raw modes)
  // or prepared objects (objects mode), in the order a consumer would deliver them.
  const prepared: Event[] = []
  const pendingObjects = new Map<string, Event[]>()
  const pending = new Map<string, RawRecord[]>()
  const batches: InputBatch[] = []
  const offsets = new Map<string, number>()
  const products = Array.from({ length: PRODUCTS }, (_, i) => `p-${i}`)
  const parts: Buffer[] = []
  for (const e of events()) {
    const id = `${e.topic}:${e.partition}`
    const offset = offsets.get(id) ?? 0
    offsets.set(id, offset + 1)
    const body: Event & { event_id: string; user_id: string } = {
      event_id: `e-${offset}-${id}`,
      product_id: products[e.product] as string,
      user_id: `u-${e.product % 977}`,
      timestamp: e.ts,
    }
    let value: Buffer
    if (mode === 'objects') {
      const objs = pendingObjects.get(id) ?? []
      pendingObjects.set(id, objs)
      objs.push(body)
      value = Buffer.alloc(0)
    } else {
      value = Buffer.from(JSON.stringify(body))
      parts.push(value)
    }
    const list = pending.get(id) ?? []
    pending.set(id, list)
    list.push({ topic: e.topic, partition: e.partition, offset, key: null, value, timestamp: e.ts })
    if (OPERATOR === 'dedupe' && offset % 20 === 7) {
      // a producer's retry: the same record again, at the next offset
      offsets.set(id, offset + 2)
      list.push({ topic: e.topic, partition: e.partition, offset: offset + 1, key: null, value, timestamp: e.ts })
    }
    if (list.length >= BATCH) {
      batches.push({ topic: e.topic, partition: e.partition, records: list })
      pending.set(id, [])
      // objects are handed out in processing order
      if (mode === 'objects') prepared.push(...(pendingObjects.get(id) ?? []))
      pendingObjects.set(id, [])
    }
  }
  for (const [id, list] of pending) {
    const [t, p] = id.split(':') as [string, string]
    if (list.length) batches.push({ topic: t, partition: Number(p), records: list })
    if (mode === 'objects') prepared.push(...(pendingObjects.get(id) ?? []))
  }
  if (OPERATOR === 'table-join')
    // the catalogue first, one row per product, a second before the first event
    for (let p = 0; p < PARTITIONS; p++)
      batches.unshift({
        topic: 'products',
        partition: p,
        records: products
          .filter((_, i) => i % PARTITIONS === p)
          .map((id, offset) => ({
            topic: 'products',
            partition: p,
            offset,
            key: Buffer.from(id),
            value: Buffer.from(JSON.stringify({ category: `c-${offset % 20}` })),
            timestamp: T0 - 1000,
          })),
      })
  const bytes = parts.reduce((n, b) => n + b.length, 0)
  parts.length = 0
  // The machine is shared: each mode runs REPEAT times over the same input, fresh engine each time;
  // the best and the median run are reported.
  const runs: { seconds: number; cpuSeconds: number; results: number; late: number; duplicatesDropped: number }[] = []
  const repeat = Number(process.env.REPEAT ?? 3)
  globalThis.gc?.()
  const rssBefore = process.memoryUsage().rss
  for (let r = 0; r < repeat; r++) runs.push(await timedRun(mode, prepared, batches, r === repeat - 1))
  const sorted = runs.map((r) => r.seconds).sort((a, b) => a - b)
  const best = sorted[0] as number
  const median = sorted[Math.floor(sorted.length / 2)] as number
  const cpuBest = Math.min(...runs.map((r) => r.cpuSeconds))
  const ms = (x: number) => Math.round(x * 1000) / 1000
  return {
    mode,
    events: EVENTS,
    wallSeconds: sorted.map(ms),
    cpuSeconds: runs.map((r) => ms(r.cpuSeconds)),
    eventsPerSecondBest: Math.round(EVENTS / best),
    eventsPerSecondMedian: Math.round(EVENTS / median),
    // the machine is shared: events per second of this process's own CPU time is the steadier figure
    eventsPerCpuSecondBest: Math.round(EVENTS / cpuBest),
    loadAverage1m: loadavg()[0],
    results: runs[0]?.results,
    late: runs[0]?.late,
    // OPERATOR=dedupe: the copies read besides the EVENTS events (events per second counts the events)
    duplicatesDropped: runs[0]?.duplicatesDropped,
    inputMiB: Math.round(bytes / 2 ** 20),
    rssBeforeRunMiB: Math.round(rssBefore / 2 ** 20),
    peakRssMiB: Math.round(process.resourceUsage().maxRSS / 1024),
  }
}

async function timedRun(mode: Mode, prepared: Event[], batches: InputBatch[], profile: boolean) {
  const { topology: t, results } = build(mode, prepared)
  // a wall clock that follows event time, so no event is "in the future" and nothing goes idle
  let now = T0
  const engine = createEngine(t, { clock: { now: () => now } })
  globalThis.gc?.()
  // PROFILE=<file>: a CPU profile of the timed part only (open it in Chrome DevTools, or see the README)
  const session = profile && process.env.PROFILE ? new Session() : undefined
  if (session) {
    session.connect()
    await session.post('Profiler.enable')
    await session.post('Profiler.start')
  }
  const cpu = process.cpuUsage()
  const start = process.hrtime.bigint()
  for (const b of batches) {
    now = (b.records[b.records.length - 1] as RawRecord).timestamp
    await engine.process(b)
  }
  now += 60_000
  await engine.tick()
  await engine.close()
  const seconds = Number(process.hrtime.bigint() - start) / 1e9
  const used = process.cpuUsage(cpu)
  const cpuSeconds = (used.user + used.system) / 1e6
  if (session) {
    const { profile } = await session.post('Profiler.stop')
    writeFileSync(`${process.env.PROFILE}-${mode}.cpuprofile`, JSON.stringify(profile))
    session.disconnect()
  }
  const status = engine.status()
  if (status.counters.deadLetters !== 0) throw new Error(`unexpected dead letters: ${JSON.stringify(status.counters)}`)
  return {
    seconds,
    cpuSeconds,
    results: results(),
    late: status.counters.late,
    duplicatesDropped: status.counters.duplicatesDropped,
  }
}

const mode = process.argv[2] as Mode | undefined
if (mode) {
  const r = await runMode(mode)
  console.log(JSON.stringify(r))
} else {
  const out: Record<string, unknown> = {}
  for (const m of OPERATOR === 'window' ? MODES : (['json'] as const)) {
    const child = spawnSync(process.execPath, [...process.execArgv, fileURLToPath(import.meta.url), m], {
      encoding: 'utf8',
    })
    if (child.status !== 0) throw new Error(`mode ${m} failed: ${child.stderr}`)
    const line = child.stdout.trim().split('\n').at(-1) as string
    out[m] = JSON.parse(line)
    console.log(`[bench] ctr-aggregation ${m}: ${line}`)
  }
  writeResult(
    OPERATOR !== 'window'
      ? `ctr-aggregation-${OPERATOR}`
      : WINDOW === 'tumbling'
        ? 'ctr-aggregation'
        : `ctr-aggregation-${WINDOW}`,
    {
      events: EVENTS,
      products: PRODUCTS,
      batch: BATCH,
      partitionsPerTopic: PARTITIONS,
      clickRate: CLICK_RATE,
      window: `${windowSpec.name}, lateness 5s, B 3s`,
      operator: OPERATOR,
      eventsPerSecondOfEventTime: EVENTS_PER_SECOND,
    },
    out,
  )
}
