// Kafka -> Redis pass-through throughput next to the raw consume rate of the same topic by the same client,
// measured in ONE run:
//   1. produce N ~110-byte JSON events (keyed by product_id) to a fresh topic with 6 partitions
//   2. (a) raw consume: KafkaJS-API consumer of @confluentinc/kafka-javascript, eachBatch, no processing
//      (b) the same consumer settings through KafkaSource only (conversion to RawRecord, no engine)
//      (c) pass-through topology through the runner: source -> json+zod decode -> map -> Redis hash upsert
// Rates are counted from the first record delivered to the last (the group join is not part of the figure).
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
import { json, topic, topology } from '../packages/streams-dsl/src/index.js'
import { createRunner } from '../packages/streams-dsl/src/runner/index.js'
import { writeResult } from './lib/report.js'

const N = Number(process.env.BENCH_EVENTS ?? 1_000_000)
const PARTITIONS = 6
// 0 = no cap: the client hands each eachBatch everything fetched for the partition (fastest, measured)
const BATCH_SIZE = Number(process.env.BENCH_BATCH ?? 0)
const CONCURRENCY = 3
const brokers = process.env.KAFKA_BROKERS ?? '127.0.0.1:9092'
const redisUrl = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379/14'
const stamp = Date.now().toString(36)
const benchTopic = `bench-passthrough-${stamp}`
const log = (s: string) => console.log(`[kafka-passthrough] ${s}`)

const quiet: KafkaJS.Logger = {
  info: () => {},
  warn: () => {},
  error: () => {},
  debug: () => {},
  namespace: () => quiet,
  setLogLevel: () => {},
}

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

/** Waits until count() reaches N; returns seconds from the first record to the last. */
async function measure(count: () => number, firstAt: () => number | undefined, label: string): Promise<number> {
  const deadline = Date.now() + 600_000
  while (count() < N) {
    if (Date.now() > deadline) throw new Error(`${label}: ${count()} of ${N} within 10 minutes`)
    await new Promise((r) => setTimeout(r, 5))
  }
  return (performance.now() - firstAt()!) / 1000
}

async function rawConsume(): Promise<number> {
  const consumer = new KafkaJS.Kafka({}).consumer({
    'bootstrap.servers': brokers,
    'group.id': `bench-raw-${stamp}`,
    'enable.auto.commit': false,
    'auto.offset.reset': 'earliest',
    'js.consumer.max.batch.size': BATCH_SIZE || -1,
    'fetch.wait.max.ms': 100,
    'max.partition.fetch.bytes': 4 * 1024 * 1024,
    'queued.min.messages': 100_000,
    kafkaJS: { logger: quiet },
  } as unknown as KafkaJS.ConsumerConstructorConfig)
  let n = 0
  let first: number | undefined
  await consumer.connect()
  await consumer.subscribe({ topics: [benchTopic] })
  await consumer.run({
    partitionsConsumedConcurrently: CONCURRENCY,
    eachBatch: async ({ batch }) => {
      first ??= performance.now()
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

async function sourceOnly(): Promise<number> {
  const source = new KafkaSource({
    topics: [benchTopic],
    groupId: `bench-source-${stamp}`,
    brokers,
    maxBatchSize: BATCH_SIZE,
    concurrency: CONCURRENCY,
    logger: { info: () => {}, warn: () => {}, error: () => {}, debug: () => {} } as never,
  })
  let n = 0
  let first: number | undefined
  await source.start({
    onBatch: async (b) => {
      first ??= performance.now()
      n += b.records.length
    },
    onAssigned: async () => {},
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

async function passThrough(): Promise<{ seconds: number; written: number }> {
  const Event = z.object({
    event_id: z.string(),
    product_id: z.string().min(1).max(128),
    user_id: z.string(),
    timestamp: z.union([z.number(), z.string()]).optional(),
  })
  const key = `bench:passthrough:${stamp}`
  const sinkRedis = createSinkRedis(redisUrl)
  const app = topology(`bench-passthrough-${stamp}`)
  app
    .source(topic(benchTopic, { value: json(Event), timestamp: (e) => e.timestamp }))
    .map((e) => ({ product_id: e.product_id, user_id: e.user_id }))
    .to(redisHash({ key, field: (r) => r.product_id, value: (r) => r.user_id, redis: sinkRedis }))
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
  let first: number | undefined
  const seconds = await measure(
    () => {
      const n = runner.engine?.status().counters.eventsIn ?? 0
      if (n > 0) first ??= performance.now()
      return n
    },
    () => first,
    'pass-through',
  )
  await runner.stop()
  const check = new Redis(redisUrl)
  const written = await check.hlen(key)
  await check.del(key)
  check.disconnect()
  sinkRedis.disconnect()
  return { seconds, written }
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
const raw = await rawConsume()
log(`raw consume: ${Math.round(N / raw)} events/s`)
const src = await sourceOnly()
log(`KafkaSource only: ${Math.round(N / src)} events/s`)
const pt = await passThrough()
log(`pass-through to Redis: ${Math.round(N / pt.seconds)} events/s (${pt.written} hash fields written)`)

await deleteBenchTopics((t) => t.includes(stamp))

writeResult(
  'kafka-passthrough',
  {
    events: N,
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
    rawConsumeEventsPerSecond: Math.round(N / raw),
    kafkaSourceEventsPerSecond: Math.round(N / src),
    passThroughEventsPerSecond: Math.round(N / pt.seconds),
    passThroughVsRaw: Math.round((raw / pt.seconds) * 100) / 100,
  },
)
process.exit(0)
