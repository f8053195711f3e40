// Kafka -> Redis pass-through throughput next to the raw consume rate of the same topic by the same client,
// measured in ONE run:
//   1. produce N ~110-byte JSON events (keyed by product_id) to a fresh topic with 6 partitions
//   2. (a) raw consume: KafkaJS-API consumer of @confluentinc/kafka-javascript, eachBatch, no processing
//      (b) the same consumer settings through KafkaSource only (conversion to RawRecord, no engine)
//      (c) pass-through topology through the runner: source -> json+zod decode -> map -> Redis hash upsert
// Rates are counted from the partition assignment to the last record (the group join is not part of the figure).
// Settings: BENCH_EVENTS (default 1000000), KAFKA_BROKERS, REDIS_URL (default redis://127.0.0.1:6379/14).

import { loadavg } from 'node:os'
import { KafkaJS } from '@confluentinc/kafka-javascript'
import { Redis } from 'ioredis'
import { z } from 'zod'
import {
  describeCluster,
  ensureTopics,
  KafkaProducer,
  KafkaSource,
} from '../packages/streams-dsl/src/connectors/kafka/index.js'
import { createSinkRedis, redisHash } from '../packages/streams-dsl/src/connectors/redis/index.js'
import { json, type Sink, topic, topology } from '../packages/streams-dsl/src/index.js'
import { createRunner } from '../packages/streams-dsl/src/runner/index.js'
import { quietKafkaLogger } from './lib/quiet-logger.js'
import { writeResult } from './lib/report.js'

const N = Number(process.env.BENCH_EVENTS ?? 1_000_000)
const REPEATS = Number(process.env.BENCH_REPEATS ?? 3)
const PARTITIONS = 6
// 0 = no cap: the client hands each eachBatch everything fetched for the partition (fastest, measured)
const BATCH_SIZE = Number(process.env.BENCH_BATCH ?? 0)
const CONCURRENCY = 3
const brokers = process.env.KAFKA_BROKERS ?? '127.0.0.1:9092'
const redisUrl = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379/14'
const stamp = Date.now().toString(36)
const benchTopic = `bench-passthrough-${stamp}`
const log = (s: string) => console.log(`[kafka-passthrough] ${s}`)

const quiet = quietKafkaLogger

function event(i: number, t0: number) {
  const p = i % 1000
  return {
    key: `p-${p}`,
    value: JSON.stringify({
      event_id: `evt-${stamp}-${String(i).padStart(12, '0')}`,
      product_id: `p-${p}`,
      user_id: `u-${String((i * 7919) % 100_000).padStart(6, '0')}`,
      timestamp: t0 + Math.floor(i / 10),
    }),
  }
}

async function produceAll(): Promise<{ seconds: number; avgBytes: number }> {
  const producer = new KafkaProducer({
    brokers,
    clientId: 'bench-producer',
    rdkafka: { 'linger.ms': 20, 'batch.num.messages': 10_000 },
  })
  const t0 = Date.now() - 60_000
  const chunk = 20_000
  const start = performance.now()
  let bytes = 0
  const inflight: Promise<void>[] = []
  for (let i = 0; i < N; i += chunk) {
    const msgs = []
    for (let j = i; j < Math.min(N, i + chunk); j++) {
      const m = event(j, t0)
      bytes += m.value.length
      msgs.push(m)
    }
    inflight.push(producer.send(benchTopic, msgs))
    if (inflight.length >= 8) await inflight.shift()
  }
  await Promise.all(inflight)
  const seconds = (performance.now() - start) / 1000
  await producer.close()
  return { seconds, avgBytes: bytes / N }
}

/** Waits until count() reaches N; returns seconds from `firstAt` (the assignment) to the last record. */
async function measure(count: () => number, firstAt: () => number | undefined, label: string): Promise<number> {
  const deadline = Date.now() + 600_000
  while (count() < N) {
    if (Date.now() > deadline) throw new Error(`${label}: ${count()} of ${N} within 10 minutes`)
    await new Promise((r) => setTimeout(r, 5))
  }
  return (performance.now() - firstAt()!) / 1000
}

async function rawConsume(run: number): Promise<number> {
  let first: number | undefined
  const consumer = new KafkaJS.Kafka({}).consumer({
    'bootstrap.servers': brokers,
    'group.id': `bench-raw-${stamp}-${run}`,
    'enable.auto.commit': false,
    'auto.offset.reset': 'earliest',
    'js.consumer.max.batch.size': BATCH_SIZE || -1,
    'fetch.wait.max.ms': 100,
    'max.partition.fetch.bytes': 4 * 1024 * 1024,
    'queued.min.messages': 100_000,
    kafkaJS: { logger: quiet },
    rebalance_cb: (err: { code: number }) => {
      if (err.code === KafkaJS.ErrorCodes.ERR__ASSIGN_PARTITIONS) first ??= performance.now()
    },
  } as unknown as KafkaJS.ConsumerConstructorConfig)
  let n = 0
  await consumer.connect()
  await consumer.subscribe({ topics: [benchTopic] })
  await consumer.run({
    partitionsConsumedConcurrently: CONCURRENCY,
    eachBatch: async ({ batch }) => {
      n += batch.messages.length
    },
  })
  const s = await measure(
    () => n,
    () => first,
    'raw consume',
  )
  await consumer.disconnect()
  return s
}

async function sourceOnly(run: number): Promise<number> {
  const source = new KafkaSource({
    topics: [benchTopic],
    groupId: `bench-source-${stamp}-${run}`,
    brokers,
    maxBatchSize: BATCH_SIZE,
    concurrency: CONCURRENCY,
    logger: { info: () => {}, warn: () => {}, error: () => {}, debug: () => {} } as never,
  })
  let n = 0
  let first: number | undefined
  await source.start({
    onBatch: async (b) => {
      n += b.records.length
    },
    onAssigned: async () => {
      first ??= performance.now()
    },
    onRevoked: async () => {},
  })
  const s = await measure(
    () => n,
    () => first,
    'KafkaSource',
  )
  await source.stop()
  return s
}

async function passThrough(run: number): Promise<{ seconds: number; written: number }> {
  const Event = z.object({
    event_id: z.string(),
    product_id: z.string().min(1).max(128),
    user_id: z.string(),
    timestamp: z.union([z.number(), z.string()]).optional(),
  })
  const key = `bench:passthrough:${stamp}:${run}`
  let written = 0
  let first: number | undefined
  const counted = <T>(sink: Sink<T>): Sink<T> => ({
    name: sink.name,
    async write(records) {
      await sink.write(records)
      written += records.length
    },
  })
  const sinkRedis = createSinkRedis(redisUrl)
  const app = topology(`bench-passthrough-${stamp}-app${run}`)
  app
    .source(topic(benchTopic, { value: json(Event), timestamp: (e) => e.timestamp }))
    .map((e) => ({ product_id: e.product_id, user_id: e.user_id }))
    .to(counted(redisHash({ key, field: (r) => r.product_id, value: (r) => r.user_id, redis: sinkRedis })))
  const runner = createRunner(app.build(), {
    config: {
      kafkaBrokers: brokers,
      redisUrl,
      port: 0,
      logLevel: 'warn',
      batchSize: BATCH_SIZE,
      concurrency: CONCURRENCY,
    },
  })
  await runner.start()
  // Counted when the sink write resolves: the records are in Redis, not just decoded.
  const seconds = await measure(
    () => {
      if (runner.status().partitions.length > 0) first ??= performance.now()
      return written
    },
    () => first,
    'pass-through',
  )
  await runner.stop()
  const check = new Redis(redisUrl)
  const fields = await check.hlen(key)
  await check.del(key)
  check.disconnect()
  sinkRedis.disconnect()
  return { seconds, written: fields }
}

/** Deletes this benchmark's topics (those of this run, or leftovers of interrupted runs): ~330 MB each. */
async function deleteBenchTopics(match: (topic: string) => boolean) {
  const admin = new KafkaJS.Kafka({}).admin({ 'bootstrap.servers': brokers, kafkaJS: { logger: quiet } } as never)
  await admin.connect()
  const topics = (await admin.listTopics()).filter((t) => t.startsWith('bench-passthrough-') && match(t))
  if (topics.length) await admin.deleteTopics({ topics }).catch(() => {})
  await admin.disconnect()
}

await deleteBenchTopics((t) => !t.includes(stamp))
const loadBefore = loadavg()[0]
const cluster = await describeCluster(brokers)
log(`${N} events to ${benchTopic} (${PARTITIONS} partitions, ${cluster.brokers} brokers)`)
await ensureTopics([{ topic: benchTopic, partitions: PARTITIONS }], brokers)
const produced = await produceAll()
log(
  `produced in ${produced.seconds.toFixed(1)} s (${Math.round(N / produced.seconds)} events/s), ${produced.avgBytes.toFixed(0)} B avg`,
)
// Each measurement REPEATS times, interleaved (the machine is shared: its load varies); the median is reported.
const runs: { raw: number[]; source: number[]; passThrough: number[] } = { raw: [], source: [], passThrough: [] }
const rate = (seconds: number) => Math.round(N / seconds)
for (let r = 0; r < REPEATS; r++) {
  runs.raw.push(rate(await rawConsume(r)))
  runs.source.push(rate(await sourceOnly(r)))
  const pt = await passThrough(r)
  if (pt.written !== 1000) throw new Error(`pass-through wrote ${pt.written} hash fields, expected 1000`)
  runs.passThrough.push(rate(pt.seconds))
  log(
    `run ${r + 1}/${REPEATS}: raw ${runs.raw[r]}/s, KafkaSource ${runs.source[r]}/s, pass-through ${runs.passThrough[r]}/s`,
  )
}
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!
await deleteBenchTopics((t) => t.includes(stamp))

writeResult(
  'kafka-passthrough',
  {
    events: N,
    repeats: REPEATS,
    statistic: 'median of the repeats, each from the partition assignment to the last record',
    avgEventBytes: Math.round(produced.avgBytes),
    partitions: PARTITIONS,
    brokers: cluster.brokers,
    replicationFactor: Math.min(3, cluster.brokers),
    consumer: {
      client: '@confluentinc/kafka-javascript 1.10.1 (KafkaJS API, eachBatch)',
      'js.consumer.max.batch.size': BATCH_SIZE || -1,
      partitionsConsumedConcurrently: CONCURRENCY,
      'fetch.wait.max.ms': 100,
      'max.partition.fetch.bytes': 4 * 1024 * 1024,
    },
    loadAverage1mBeforeAfter: [loadBefore, loadavg()[0]].map((l) => Math.round((l ?? 0) * 10) / 10),
    passThrough: 'runner: KafkaSource -> engine (JSON.parse + zod) -> map -> redisHash (HSET per batch, pipelined)',
  },
  {
    produceEventsPerSecond: Math.round(N / produced.seconds),
    rawConsumeEventsPerSecond: median(runs.raw),
    kafkaSourceEventsPerSecond: median(runs.source),
    passThroughEventsPerSecond: median(runs.passThrough),
    passThroughVsRaw: Math.round((median(runs.passThrough) / median(runs.raw)) * 100) / 100,
    runs,
  },
)
process.exit(0)
