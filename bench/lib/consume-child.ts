// One consumer of a preloaded backlog in its own process (so its peak RSS is its own), for bench/kafka-source:
//   node --import tsx bench/lib/consume-child.ts <rdkafka|kafkajs|source> <events> <topic,topic> <brokers>
// Reads everything from a fresh consumer group with no processing and prints one JSON line:
// { mode, events, seconds (process start to the last record), steadySeconds (first to last record), peakRssBytes }.

import { readFileSync } from 'node:fs'
import rdkafka, { KafkaJS } from '@confluentinc/kafka-javascript'
import { KafkaSource } from '@ctr/streams-dsl/kafka'
import { quietKafkaLogger } from './quiet-logger.js'

const [mode, eventsArg, topicsArg, brokers = '127.0.0.1:9092'] = process.argv.slice(2)
const N = Number(eventsArg)
const topics = (topicsArg ?? '').split(',')
const groupId = `bench-consume-${mode}-${Date.now().toString(36)}`
const started = performance.now() - process.uptime() * 1000 // the process start, as a user times it
let first: number | undefined
let count = 0
const seen = (n: number) => {
  if (n === 0) return
  first ??= performance.now()
  count += n
}

/** Peak resident set of this process (the kernel's high-water mark). */
const peakRss = () => Number(/VmHWM:\s+(\d+) kB/.exec(readFileSync('/proc/self/status', 'utf8'))?.[1] ?? 0) * 1024

async function untilAll(): Promise<void> {
  const deadline = Date.now() + 600_000
  while (count < N) {
    if (Date.now() > deadline) throw new Error(`${mode}: ${count} of ${N} within 10 minutes`)
    await new Promise((r) => setTimeout(r, 2))
  }
}

if (mode === 'rdkafka') {
  // the librdkafka-style API: consume(n) in a loop, as KafkaSource does, with the larger prefetch KafkaSource had
  // before 2026-12-07 (16 MiB; it now defaults to 8 MiB, for memory): the ceiling at its own best
  const c = new rdkafka.KafkaConsumer(
    {
      'bootstrap.servers': brokers,
      'group.id': groupId,
      'enable.auto.commit': false,
      'fetch.wait.max.ms': 100,
      'fetch.max.bytes': 4 * 1024 * 1024,
      'max.partition.fetch.bytes': 512 * 1024,
      'queued.max.messages.kbytes': 16_384,
      log_level: 0,
    } as rdkafka.ConsumerGlobalConfig,
    { 'auto.offset.reset': 'earliest' },
  )
  await new Promise<void>((res, rej) => c.connect({}, (e) => (e ? rej(e) : res())))
  c.setDefaultConsumeTimeout(100)
  ;(
    c as unknown as { setDefaultIsTimeoutOnlyForFirstMessage(v: boolean): void }
  ).setDefaultIsTimeoutOnlyForFirstMessage(true)
  c.subscribe(topics)
  while (count < N) {
    const n = await new Promise<number>((res, rej) => c.consume(1000, (e, ms) => (e ? rej(e) : res(ms.length))))
    seen(n)
  }
  report()
  c.disconnect()
} else if (mode === 'kafkajs') {
  // the KafkaJS-compatible API of the same package, eachBatch with no processing (what KafkaSource used before)
  const consumer = new KafkaJS.Kafka({}).consumer({
    'bootstrap.servers': brokers,
    'group.id': groupId,
    'enable.auto.commit': false,
    'auto.offset.reset': 'earliest',
    'js.consumer.max.batch.size': -1,
    'fetch.wait.max.ms': 100,
    kafkaJS: { logger: quietKafkaLogger },
  } as unknown as KafkaJS.ConsumerConstructorConfig)
  await consumer.connect()
  await consumer.subscribe({ topics })
  await consumer.run({
    partitionsConsumedConcurrently: 3,
    eachBatch: async ({ batch }) => seen(batch.messages.length),
  })
  await untilAll()
  report()
  await consumer.disconnect()
} else if (mode === 'source') {
  const quiet = { info: () => {}, warn: () => {}, error: () => {}, debug: () => {} }
  const source = new KafkaSource({ topics, groupId, brokers, logger: quiet })
  await source.start({
    onBatches: async (bs) => {
      let n = 0
      for (const b of bs) n += b.records.length
      seen(n)
    },
    onAssigned: async () => undefined,
    onRevoked: async () => {},
  })
  await untilAll()
  report()
  await source.stop()
} else {
  throw new Error(`unknown mode ${mode}`)
}

function report(): void {
  const end = performance.now()
  console.log(
    JSON.stringify({
      mode,
      events: count,
      seconds: (end - started) / 1000,
      steadySeconds: (end - (first ?? end)) / 1000,
      peakRssBytes: peakRss(),
    }),
  )
  process.exit(0)
}
