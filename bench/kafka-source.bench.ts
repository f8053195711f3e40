// `pnpm bench kafka-source`: how fast and how lean the Kafka source is, beside the limits of its client, in ONE run
// on the same preloaded topics (the CTR backlog of bench/lib/ctr-dataset.ts: impressions + clicks, 6 partitions
// each, RF 3, JSON events of ~100 B):
//   kcat      Debian's kcat (librdkafka, C), a balanced consumer reading to the end: the librdkafka ceiling
//   rdkafka   the package's librdkafka-style KafkaConsumer, consume(1000) in a loop, no processing: the raw rate
//   source    KafkaSource (streams-dsl) with a handler that only counts: what the framework's source adds
//   kafkajs   the package's KafkaJS-compatible API, eachBatch, no processing (what the source used before)
// Each consumer is its own process from a fresh consumer group (peak RSS is the process's own), timed from the
// process start to the last record, as a user times it; `steady` is from the first record to the last. Modes
// are interleaved over the repeats (the machine is shared; its load drifts) and the median is reported.
// Settings: BENCH_EVENTS (1000000), BENCH_PRODUCTS (10000), BENCH_PARTITIONS (6 per topic), BENCH_REPEATS (3),
// BENCH_MODES (kcat,rdkafka,source,kafkajs), KAFKA_BROKERS.

import { loadavg } from 'node:os'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import rdkafka from '@confluentinc/kafka-javascript'
import { describeCluster } from '@ctr/streams-dsl/kafka'
import { deleteBenchTopics } from './lib/cleanup.js'
import { preloadCtrDataset } from './lib/ctr-dataset.js'
import { installed, median, runToEnd } from './lib/processes.js'
import { writeResult } from './lib/report.js'

const N = Number(process.env.BENCH_EVENTS ?? 1_000_000)
const PRODUCTS = Number(process.env.BENCH_PRODUCTS ?? 10_000)
const PARTITIONS = Number(process.env.BENCH_PARTITIONS ?? 6)
const REPEATS = Number(process.env.BENCH_REPEATS ?? 3)
const brokers = process.env.KAFKA_BROKERS ?? '127.0.0.1:9092'
type Mode = 'kcat' | 'rdkafka' | 'source' | 'kafkajs'
const wanted = (process.env.BENCH_MODES ?? 'kcat,rdkafka,source,kafkajs').split(',') as Mode[]
const modes = wanted.filter((m) => m !== 'kcat' || installed('kcat'))
const prefix = `bench-source-${Date.now().toString(36)}`
const here = dirname(fileURLToPath(import.meta.url))
const log = (s: string) => console.log(`[kafka-source] ${s}`)

type Run = { mode: Mode; seconds: number; steadySeconds: number | null; peakRssBytes: number | null; events: number }

async function kcat(topics: readonly string[], r: number): Promise<Run> {
  let events = 0
  const args = ['-f', '%M', 'kcat', '-b', brokers, '-G', `${prefix}-kcat-${r}`, '-X', 'auto.offset.reset=earliest']
  args.push('-o', 'beginning', '-e', '-q', '-f', '%o\\n', ...topics)
  const res = await runToEnd('/usr/bin/time', args, { onLine: () => void events++, keepLines: false })
  const kib = Number(res.stderr.trim().split('\n').pop())
  if (res.code !== 0) throw new Error(`kcat exited ${res.code}: ${res.stderr.slice(-500)}`)
  return { mode: 'kcat', seconds: res.seconds, steadySeconds: null, peakRssBytes: kib > 0 ? kib * 1024 : null, events }
}

async function child(mode: Exclude<Mode, 'kcat'>, topics: readonly string[]): Promise<Run> {
  const res = await runToEnd(process.execPath, [
    '--import',
    'tsx',
    join(here, 'lib', 'consume-child.ts'),
    mode,
    String(N),
    topics.join(','),
    brokers,
  ])
  const last = res.lines.filter((l) => l.startsWith('{')).pop()
  if (res.code !== 0 || !last) throw new Error(`${mode} exited ${res.code}: ${res.stderr.slice(-800)}`)
  return JSON.parse(last) as Run
}

const loadBefore = loadavg()[0]
const cluster = await describeCluster(brokers)
await deleteBenchTopics(brokers, 'bench-source-')
log(
  `preloading ${N} events (${PRODUCTS} products) into 2 topics x ${PARTITIONS} partitions (${cluster.brokers} brokers)`,
)
const data = await preloadCtrDataset({ brokers, prefix, events: N, products: PRODUCTS, partitions: PARTITIONS })
const topics = [data.impressionsTopic, data.clicksTopic]
log(`preloaded in ${data.produceSeconds.toFixed(1)} s, ${data.avgBytes.toFixed(0)} B per event`)

const runs: Run[] = []
try {
  for (let r = 0; r < REPEATS; r++)
    for (const mode of modes) {
      const run = mode === 'kcat' ? await kcat(topics, r) : await child(mode, topics)
      if (run.events < N) throw new Error(`${mode} read ${run.events} of ${N} events`)
      runs.push(run)
      log(
        `run ${r + 1}/${REPEATS} ${mode}: ${Math.round(N / run.seconds)} events/s (${run.seconds.toFixed(2)} s from start` +
          `${run.steadySeconds ? `, steady ${Math.round(N / run.steadySeconds)}/s` : ''}), peak RSS ${run.peakRssBytes ? `${Math.round(run.peakRssBytes / 2 ** 20)} MiB` : '?'}`,
      )
    }
} finally {
  await deleteBenchTopics(brokers, prefix)
}

const of = (mode: Mode) => runs.filter((x) => x.mode === mode)
const rate = (mode: Mode) => median(of(mode).map((x) => Math.round(N / x.seconds)))
const steady = (mode: Mode) => median(of(mode).map((x) => (x.steadySeconds ? Math.round(N / x.steadySeconds) : null)))
const rss = (mode: Mode) => median(of(mode).map((x) => (x.peakRssBytes ? Math.round(x.peakRssBytes / 2 ** 20) : null)))
const ratio = (a: number | null, b: number | null) =>
  a !== null && b !== null ? Math.round((a / b) * 100) / 100 : null
const figures = Object.fromEntries(
  modes.map((m) => [m, { eventsPerSecond: rate(m), steadyEventsPerSecond: steady(m), peakRssMiB: rss(m) }]),
)
const table = modes.map((m) => `| ${m} | ${rate(m)} | ${steady(m) ?? '-'} | ${rss(m) ?? '?'} MiB |`)
console.log(
  ['| consumer | events/s (from process start) | steady events/s | peak RSS |', '|---|---|---|---|', ...table].join(
    '\n',
  ),
)

writeResult(
  'kafka-source',
  {
    events: N,
    products: PRODUCTS,
    topics: `impressions + clicks, ${PARTITIONS} partitions each, RF ${Math.min(3, cluster.brokers)}`,
    avgEventBytes: Math.round(data.avgBytes),
    brokers: cluster.brokers,
    repeats: REPEATS,
    client: `@confluentinc/kafka-javascript 1.10.1, librdkafka ${rdkafka.librdkafkaVersion}`,
    statistic:
      'median of the repeats; events/s from the process start to the last record; each consumer its own process',
    loadAverage1mBeforeAfter: [loadBefore, loadavg()[0]].map((l) => Math.round((l ?? 0) * 10) / 10),
  },
  {
    ...figures,
    sourceVsRdkafka: ratio(rate('source'), rate('rdkafka')),
    sourceVsRdkafkaSteady: ratio(steady('source'), steady('rdkafka')),
    rdkafkaVsKcat: ratio(rate('rdkafka'), rate('kcat')),
    kafkajsVsRdkafka: ratio(rate('kafkajs'), rate('rdkafka')),
    runs,
  },
)
process.exit(0)
