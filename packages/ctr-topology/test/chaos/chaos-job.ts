/**
 * Process-level chaos helpers: the CTR job (`pnpm job`'s entry) as a child process that can be killed with
 * SIGKILL and started again, a paced producer, and the comparison of Redis with the ground truth.
 */
import { type ChildProcess, spawn } from 'node:child_process'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { isDeepStrictEqual } from 'node:util'
import { statusSummary } from '@ctr/streams-dsl/internal'
import type { RunnerStatus } from '@ctr/streams-dsl/runner'
import { createTopics, freshRedis, kafkaBrokers, type TestRedis, testKafka, uniqueTopic } from '@ctr/testing'
import type { Redis } from 'ioredis'
import { type ChaosRecord, type Partitions, partitionCount, type Result, random, type Truth } from './chaos-data.js'

const root = join(dirname(fileURLToPath(import.meta.url)), '../../../..')
export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms))

/** One job instance: `node --import tsx packages/ctr-topology/src/main.ts` with its own environment. */
export class JobProcess {
  readonly lines: string[] = []
  child: ChildProcess | undefined
  exited: Promise<number | null> = Promise.resolve(null)

  constructor(
    readonly name: string,
    readonly env: Record<string, string>,
  ) {}

  start(): this {
    const child = spawn(process.execPath, ['--import', 'tsx', 'packages/ctr-topology/src/main.ts'], {
      cwd: root,
      env: { ...process.env, JOB_PORT: '0', LOG_LEVEL: 'info', ...this.env },
      stdio: ['ignore', 'pipe', 'pipe'],
    })
    this.child = child
    const keep = (chunk: Buffer) => {
      for (const line of chunk.toString().split('\n')) if (line.trim()) this.lines.push(line)
    }
    child.stdout?.on('data', keep)
    child.stderr?.on('data', keep)
    this.exited = new Promise((resolve) => child.once('exit', (code) => resolve(code)))
    return this
  }

  get alive(): boolean {
    return this.child !== undefined && this.child.exitCode === null && this.child.signalCode === null
  }

  /** kill -9, and waits until it is gone. */
  async kill(): Promise<void> {
    if (!this.alive) return
    this.child?.kill('SIGKILL')
    await this.exited
  }

  /** SIGTERM (graceful stop), at most `ms` before a SIGKILL. */
  async stop(ms = 20_000): Promise<void> {
    if (!this.alive) return
    this.child?.kill('SIGTERM')
    const t = setTimeout(() => this.child?.kill('SIGKILL'), ms)
    await this.exited
    clearTimeout(t)
  }

  /** The port of its /status (from its "running" log line), once it runs. */
  get port(): number | undefined {
    for (let i = this.lines.length - 1; i >= 0; i--) {
      const m = /"port":(\d+)/.exec(this.lines[i] as string)
      if (m) return Number(m[1])
    }
    return undefined
  }

  /**
   * Its /status in a few lines (`statusSummary`), for a failure's post-mortem. Says why when it cannot be read.
   */
  async statusReport(): Promise<string> {
    if (!this.alive) return `${this.name}: not running`
    const port = this.port
    if (port === undefined) return `${this.name}: no /status port logged yet`
    try {
      const res = await fetch(`http://127.0.0.1:${port}/status`, { signal: AbortSignal.timeout(3000) })
      return statusSummary((await res.json()) as RunnerStatus, this.name)
    } catch (e) {
      return `${this.name}: /status on port ${port} not readable (${(e as Error).message})`
    }
  }

  /** Log lines whose message contains `text` (and `also`, when given). */
  count(text: string, also?: string): number {
    return this.lines.filter((l) => l.includes(text) && (also === undefined || l.includes(also))).length
  }
}

/** The job's TASKS setting. */
export type Tasks = 'single' | 'partition' | 'auto'

/**
 * The job environment for a test: its topics, Redis, an hour-long idle timeout, 1 s checkpoints, 6 s sessions,
 * TASKS=single unless `tasks` says otherwise.
 */
export function jobEnv(o: {
  applicationId: string
  impressions: string
  clicks: string
  redisUrl: string
  brokers: string
  tasks?: Tasks
}): Record<string, string> {
  return {
    APPLICATION_ID: o.applicationId,
    IMPRESSIONS_TOPIC: o.impressions,
    CLICKS_TOPIC: o.clicks,
    REDIS_URL: o.redisUrl,
    KAFKA_BROKERS: o.brokers,
    IDLE_TIMEOUT_MS: '3600000',
    CHECKPOINT_INTERVAL_MS: '1000',
    KAFKA_SESSION_TIMEOUT_MS: '6000',
    TASKS: o.tasks ?? 'single',
  }
}

/** What {@link setUpChaosRun} prepared: the seed and its generator, fresh topics, a fresh Redis and the job's env. */
export type ChaosRun = {
  readonly seed: number
  readonly applicationId: string
  readonly rnd: () => number
  readonly topics: { readonly impressions: string; readonly clicks: string }
  readonly redis: TestRedis
  readonly env: Record<string, string>
}

/**
 * The common start of a chaos test: a seed (`CHAOS_SEED` or from the clock), two fresh topics with `partitions`
 * partitions (one count for both, or one per topic), a fresh Redis database and the job environment pointing at
 * them.
 */
export async function setUpChaosRun(o: {
  appPrefix: string
  partitions: Partitions
  tasks?: Tasks
}): Promise<ChaosRun> {
  const seed = Number(process.env.CHAOS_SEED ?? Date.now() % 100_000)
  const rnd = random(seed)
  const topics = { impressions: uniqueTopic('impressions'), clicks: uniqueTopic('clicks') }
  await createTopics([
    { topic: topics.impressions, partitions: partitionCount(o.partitions, 'impressions') },
    { topic: topics.clicks, partitions: partitionCount(o.partitions, 'clicks') },
  ])
  const redis = await freshRedis()
  const applicationId = uniqueTopic(o.appPrefix)
  const env = jobEnv({
    applicationId,
    ...topics,
    redisUrl: redis.url,
    brokers: kafkaBrokers(),
    ...(o.tasks && { tasks: o.tasks }),
  })
  return { seed, applicationId, rnd, topics, redis, env }
}

/**
 * Produces records in order (acks=all, idempotent) at about `perSecond`, to explicit partitions; `sent` counts
 * the acknowledged ones while it runs.
 */
export class PacedProducer {
  sent = 0
  constructor(readonly topics: { impressions: string; clicks: string }) {}

  async produce(records: readonly ChaosRecord[], perSecond: number, chunk = 2000): Promise<void> {
    const producer = testKafka('chaos-producer').producer({ kafkaJS: { acks: -1, idempotent: true } })
    await producer.connect()
    const began = Date.now()
    let done = 0
    try {
      for (let i = 0; i < records.length; i += chunk) {
        const part = records.slice(i, i + chunk)
        await producer.sendBatch({
          topicMessages: (['impressions', 'clicks'] as const).map((t) => ({
            topic: this.topics[t],
            messages: part
              .filter((r) => r.topic === t)
              .map((r) => ({ key: r.key, value: r.value, partition: r.partition })),
          })),
        })
        this.sent += part.length
        done += part.length
        const ahead = (done / perSecond) * 1000 - (Date.now() - began)
        if (ahead > 0) await sleep(ahead)
      }
    } finally {
      await producer.disconnect()
    }
  }
}

const FIELDS = ['product_id', 'impressions', 'clicks', 'ctr', 'window_start', 'window_end'] as const

/** `ctr:latest` and `ctr:previous` as stored, reduced to the contract's fields. */
export async function stored(redis: Redis): Promise<Truth> {
  const read = async (key: string) => {
    const out: Record<string, Result> = {}
    for (const [product, json] of Object.entries(await redis.hgetall(key))) {
      const v = JSON.parse(json) as Record<string, unknown>
      out[product] = Object.fromEntries(FIELDS.map((f) => [f, v[f]])) as Result
    }
    return out
  }
  return { latest: await read('ctr:latest'), previous: await read('ctr:previous') }
}

/** Waits until Redis holds exactly the truth; on timeout, fails with the difference. */
export async function expectExact(redis: Redis, truth: Truth, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs
  let last: Truth = { latest: {}, previous: {} }
  let reads = 0
  let failedReads = 0
  let readError = ''
  while (Date.now() < deadline) {
    reads++
    last = await stored(redis).catch((e: Error) => {
      failedReads++
      readError = e.message
      return last
    })
    if (isDeepStrictEqual(last, truth)) return
    await sleep(500)
  }
  const wrong = (k: 'latest' | 'previous') =>
    Object.keys({ ...truth[k], ...last[k] })
      .filter((p) => !isDeepStrictEqual(truth[k][p], last[k][p]))
      .slice(0, 5)
      .map((p) => ({ p, want: truth[k][p], got: last[k][p] }))
  const held = (k: 'latest' | 'previous') =>
    `${Object.keys(last[k]).length} of ${Object.keys(truth[k]).length} products in ${k}`
  throw new Error(
    `Redis is not the ground truth after ${timeoutMs / 1000} s (it holds ${held('latest')}, ${held('previous')}; ${failedReads} of ${reads} reads failed${readError && `, the last with: ${readError}`}): ${JSON.stringify({ latest: wrong('latest'), previous: wrong('previous') })}`,
  )
}
