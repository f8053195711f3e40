import { type ChildProcess, spawn } from 'node:child_process'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import rdkafka from '@confluentinc/kafka-javascript'
import { createTopics, kafkaBrokers, produce, uniqueTopic, waitFor } from '@ctr/testing'
import { afterAll, describe, expect, it } from 'vitest'
import { deadLetterTopic } from '../connectors/kafka/dead-letter-sink.js'
import { type Event, events, pastWindowStart, WINDOW_MS } from './fixtures/counting-topology.js'

// GUARANTEE=exactly-once under kill -9: the job (the counting topology with a Kafka sink) is killed three times at
// random moments while the input streams in, and started again each time; a read_committed consumer of its
// output, and of its DLQ, must see every result and every dead letter exactly once (the ground truth is computed
// here from the input). These tests kill only job processes they started; no broker is touched.

const here = dirname(fileURLToPath(import.meta.url))
const main = join(here, 'fixtures', 'kafka-sink-job.ts')
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms))

class Job {
  readonly lines: string[] = []
  readonly child: ChildProcess
  readonly exited: Promise<number | null>
  constructor(env: Record<string, string>) {
    this.child = spawn(process.execPath, ['--import', 'tsx', main], {
      env: { ...process.env, LOG_LEVEL: 'info', JOB_PORT: '0', ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    })
    const keep = (d: Buffer) => {
      for (const l of d.toString().split('\n')) if (l.trim()) this.lines.push(l)
    }
    this.child.stdout?.on('data', keep)
    this.child.stderr?.on('data', keep)
    this.exited = new Promise((resolve) => this.child.once('exit', (code) => resolve(code)))
  }
  get alive() {
    return this.child.exitCode === null && this.child.signalCode === null
  }
  count(text: string) {
    return this.lines.filter((l) => l.includes(text)).length
  }
  async kill(signal: NodeJS.Signals = 'SIGKILL') {
    if (!this.alive) return
    this.child.kill(signal)
    await this.exited
  }
}
const jobs: Job[] = []
/** Waits like `waitFor`; on a timeout the error carries the last log lines of every job this file started. */
async function waitWithLogs(
  condition: () => unknown,
  opts: { timeoutMs: number; message: string; progress: () => string },
) {
  try {
    await waitFor(condition, opts)
  } catch (e) {
    const logs = jobs.map(
      (j, i) => `--- job ${i + 1} (${j.alive ? 'alive' : 'exited'}):\n${j.lines.slice(-20).join('\n')}`,
    )
    // printed by chaos-setup with the attempt, also when a retry passes
    throw new Error(`${(e as Error).message} (${opts.progress()})\n${logs.join('\n')}`)
  }
}
afterAll(async () => {
  for (const j of jobs) await j.kill()
})

/** Reads every partition of a topic from the beginning, as long as it runs, at one isolation level. */
class Reader {
  readonly records: { key: string; value: string; headers: Record<string, string> }[] = []
  #stop = false
  readonly #done: Promise<void>
  constructor(topic: string, partitions: number, isolation: 'read_committed' | 'read_uncommitted') {
    const consumer = new rdkafka.KafkaConsumer(
      {
        'bootstrap.servers': kafkaBrokers(),
        'group.id': uniqueTopic('reader'),
        'isolation.level': isolation,
        'enable.auto.commit': false,
        log_level: 0,
      },
      { 'auto.offset.reset': 'earliest' },
    )
    this.#done = (async () => {
      await new Promise<void>((resolve, reject) => consumer.connect({}, (err) => (err ? reject(err) : resolve())))
      consumer.assign(Array.from({ length: partitions }, (_, partition) => ({ topic, partition, offset: 0 })))
      while (!this.#stop) {
        const ms = await new Promise<rdkafka.Message[]>((resolve) =>
          consumer.consume(500, (err, m) => resolve(err ? [] : m)),
        )
        for (const m of ms) {
          const headers: Record<string, string> = {}
          for (const h of (m.headers ?? []) as Record<string, Buffer>[])
            for (const [k, v] of Object.entries(h)) headers[k] = String(v)
          this.records.push({ key: String(m.key), value: String(m.value), headers })
        }
        if (ms.length === 0) await sleep(100)
      }
      await new Promise<void>((resolve) => consumer.disconnect(() => resolve()))
    })()
  }
  async close() {
    this.#stop = true
    await this.#done
  }
}

/** Every window result the input must produce, by output key `<product>@<window_start>`. */
function truthOf(all: readonly Event[]): Map<string, { impressions: number; clicks: number }> {
  const out = new Map<string, { impressions: number; clicks: number }>()
  for (const e of all) {
    const start = Math.floor((e.timestamp as number) / WINDOW_MS) * WINDOW_MS
    const key = `${e.product_id}@${start}`
    const a = out.get(key) ?? { impressions: 0, clicks: 0 }
    if (e.kind === 'click') a.clicks++
    else a.impressions++
    out.set(key, a)
  }
  return out
}

const countBy = (keys: readonly string[]) => {
  const m = new Map<string, number>()
  for (const k of keys) m.set(k, (m.get(k) ?? 0) + 1)
  return m
}

/**
 * Streams `messages` into `input` (3 partitions) in small chunks over about 30 s, then a closing event per
 * partition a minute of event time later (it closes every window; its own stays open: the job idles only after
 * an hour, so a pause of the producer makes nothing late), while the job is killed with SIGKILL three times at
 * random moments (each time once the restarted job has its partitions) and started again.
 */
async function streamWithKills(
  input: string,
  messages: { key: string; value: string | object }[],
  closeAt: number,
  env: Record<string, string>,
) {
  const seed = Number(process.env.CHAOS_SEED ?? Date.now() % 100_000)
  let s = seed
  const rnd = () => {
    s = (s * 1103515245 + 12345) % 2 ** 31
    return s / 2 ** 31
  }
  const start = () => {
    const j = new Job({ IDLE_TIMEOUT: '1h', ...env })
    jobs.push(j)
    return j
  }
  let job = start()
  const chunk = Math.ceil(messages.length / 60)
  const producing = (async () => {
    for (let i = 0; i < messages.length; i += chunk) {
      await produce(input, messages.slice(i, i + chunk))
      await sleep(300)
    }
    await produce(
      input,
      [0, 1, 2].map((partition) => ({
        key: `closer-${partition}`,
        partition,
        value: { product_id: `closer-${partition}`, kind: 'impression', timestamp: closeAt },
      })),
    )
  })()
  for (let kill = 0; kill < 3; kill++) {
    const current = job
    await waitFor(() => current.count('assigned') > 0 || !current.alive, {
      timeoutMs: 60_000,
      message: `seed ${seed}: the job owns its partitions`,
    })
    await sleep(1_500 + rnd() * 3_500)
    expect(job.alive, `job died by itself: ${job.lines.slice(-5).join('\n')}`).toBe(true)
    await job.kill()
    job = start()
  }
  await producing
  return { job, seed }
}

/** Output records of the events, not of the closing ones. */
const real = <R extends { key: string }>(rs: readonly R[]): R[] => rs.filter((r) => !r.key.startsWith('closer-'))

describe('chaos: GUARANTEE=exactly-once under kill -9', () => {
  it('(b) a read_committed consumer of the Kafka sink sees every window result exactly once (TASKS=auto)', async () => {
    const input = uniqueTopic('eos-in')
    const output = uniqueTopic('eos-out')
    const applicationId = uniqueTopic('eos-app')
    await createTopics([
      { topic: input, partitions: 3 },
      { topic: output, partitions: 3 },
    ])
    const from = pastWindowStart(15)
    const all = events(from, 40, 20, 100)
    const truth = truthOf(all)
    const committed = new Reader(output, 3, 'read_committed')
    const uncommitted = new Reader(output, 3, 'read_uncommitted')
    try {
      const env = {
        KAFKA_BROKERS: kafkaBrokers(),
        INPUT: input,
        OUTPUT: output,
        APPLICATION_ID: applicationId,
        TASKS: 'auto',
        GUARANTEE: 'exactly-once',
        KAFKA_SESSION_TIMEOUT_MS: '6000',
      }
      const { job, seed } = await streamWithKills(
        input,
        all.map((e) => ({ key: e.product_id, value: e })),
        from + 41 * WINDOW_MS + 60_000,
        env,
      )
      const keys = () => new Set(real(committed.records).map((r) => r.key)).size
      await waitWithLogs(() => keys() >= truth.size || null, {
        timeoutMs: 120_000,
        message: `seed ${seed}: every window result is in the output`,
        progress: () => `${keys()} of ${truth.size} committed, ${uncommitted.records.length} records in the log`,
      })
      await sleep(5_000) // a duplicate committed late would show here
      const counts = countBy(real(committed.records).map((r) => r.key))
      const twice = [...counts].filter(([, n]) => n > 1)
      expect(twice.slice(0, 5), `seed ${seed}: results seen more than once`).toEqual([])
      expect([...counts.keys()].sort()).toEqual([...truth.keys()].sort())
      for (const r of real(committed.records)) {
        const v = JSON.parse(r.value) as { impressions: number; clicks: number }
        expect({ key: r.key, impressions: v.impressions, clicks: v.clicks }).toEqual({
          key: r.key,
          ...truth.get(r.key),
        })
      }
      expect(jobs.slice(-4).every((j) => j.count('repartitioned via') === 1)).toBe(true)
      expect(job.alive).toBe(true)
      console.log(
        `[chaos] seed ${seed}: ${truth.size} results exactly once after 3 kills; the log holds ${uncommitted.records.length} (${uncommitted.records.length - committed.records.length} in aborted transactions)`,
      )
    } finally {
      await committed.close()
      await uncommitted.close()
    }
  })

  it('(c) a read_committed consumer of the DLQ sees every dead letter exactly once (TASKS=single)', async () => {
    const input = uniqueTopic('eos-in')
    const output = uniqueTopic('eos-out')
    const applicationId = uniqueTopic('eos-app')
    await createTopics([
      { topic: input, partitions: 3 },
      { topic: output, partitions: 1 },
      { topic: deadLetterTopic(applicationId), partitions: 3 },
    ])
    const from = pastWindowStart(15)
    const valid = events(from, 30, 10, 60)
    const messages: { key: string; value: string | object }[] = []
    const bad: string[] = []
    valid.forEach((e, i) => {
      messages.push({ key: e.product_id, value: e })
      if (i % 6 === 0) {
        const value = `{not json #${i}`
        bad.push(value)
        messages.push({ key: e.product_id, value })
      }
    })
    const committed = new Reader(deadLetterTopic(applicationId), 3, 'read_committed')
    const uncommitted = new Reader(deadLetterTopic(applicationId), 3, 'read_uncommitted')
    const results = new Reader(output, 1, 'read_committed')
    try {
      const env = {
        KAFKA_BROKERS: kafkaBrokers(),
        INPUT: input,
        OUTPUT: output,
        APPLICATION_ID: applicationId,
        TASKS: 'single',
        GUARANTEE: 'exactly-once',
        KAFKA_SESSION_TIMEOUT_MS: '6000',
      }
      const { seed } = await streamWithKills(input, messages, from + 31 * WINDOW_MS + 60_000, env)
      const truth = truthOf(valid)
      const letters = () => new Set(committed.records.map((r) => r.value)).size
      const keys = () => new Set(real(results.records).map((r) => r.key)).size
      await waitWithLogs(() => (letters() >= bad.length && keys() >= truth.size) || null, {
        timeoutMs: 120_000,
        message: `seed ${seed}: every dead letter and result is out`,
        progress: () => `${letters()} of ${bad.length} dead letters, ${keys()} of ${truth.size} results`,
      })
      await sleep(5_000)
      const counts = countBy(committed.records.map((r) => r.value))
      expect([...counts].filter(([, n]) => n > 1).slice(0, 5), `seed ${seed}: dead letters seen twice`).toEqual([])
      expect([...counts.keys()].sort()).toEqual([...bad].sort())
      expect(committed.records.every((r) => r.headers['error.reason'] === 'invalid_json')).toBe(true)
      const resultCounts = countBy(real(results.records).map((r) => r.key))
      expect([...resultCounts.values()].every((n) => n === 1)).toBe(true)
      expect(resultCounts.size).toBe(truth.size)
      console.log(
        `[chaos] seed ${seed}: ${bad.length} dead letters exactly once after 3 kills; the DLQ log holds ${uncommitted.records.length}`,
      )
    } finally {
      await committed.close()
      await uncommitted.close()
      await results.close()
    }
  })
})
