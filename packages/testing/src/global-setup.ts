/**
 * Vitest global setup of the integration and chaos projects: finds or starts a
 * Kafka and a Redis and provides them to the tests (`inject('kafkaBrokers')`,
 * `inject('redisUrl')`, also as KAFKA_BROKERS / REDIS_URL in the workers).
 *
 * Kafka: KAFKA_BROKERS when set; else a container (testcontainers) when a
 * Docker engine answers; else the native 3-broker cluster of `pnpm kafka:up`,
 * started if needed and left running for the next run.
 * Redis: REDIS_URL when set; else a container with Docker; else
 * redis://127.0.0.1:6379 when it answers; else a private redis-server.
 *
 * Every vitest project runs this setup; the first one does the work and the
 * others reuse it (shared through globalThis), so it is fast when all is up.
 */
import type { TestProject } from 'vitest/node'
import { requireKafka, withAdmin } from '../../../scripts/lib/kafka-admin.js'
import { startCluster } from '../../../scripts/lib/kafka-cluster.js'
import { UserError } from '../../../scripts/lib/user-error.js'
import type { HarnessContext } from './context.js'
import { dockerAnswers, type StartedService, startKafkaContainer, startRedisContainer } from './docker.js'
import { redisAnswers, startLocalRedis } from './local-redis.js'
import { runTopicPrefix } from './topics.js'

type Harness = { context: HarnessContext; services: StartedService[]; startedNativeKafka: boolean; users: number }

const KEY = Symbol.for('@ctr/testing/harness')
const shared = globalThis as typeof globalThis & { [KEY]?: Promise<Harness> }
const say = (line: string) => console.log(`[test-harness] ${line}`)

async function resolveKafka(docker: boolean, services: StartedService[]) {
  const fromEnv = process.env.KAFKA_BROKERS
  if (fromEnv) {
    await requireKafka(fromEnv, 10_000)
    return { brokers: fromEnv, mode: 'env' as const, started: false }
  }
  if (docker) {
    say('Docker answers: starting Kafka in a container (testcontainers)')
    const kafka = await startKafkaContainer()
    services.push(kafka)
    return { brokers: kafka.url, mode: 'docker' as const, started: true }
  }
  const info = await startCluster({ log: (l) => say(`kafka: ${l}`) })
  return { brokers: info.bootstrap, mode: 'native' as const, started: !info.alreadyRunning }
}

async function resolveRedis(docker: boolean, services: StartedService[]): Promise<string> {
  const fromEnv = process.env.REDIS_URL
  if (fromEnv) return fromEnv
  const local = 'redis://127.0.0.1:6379'
  if (await redisAnswers(local)) return local
  const started = docker ? await startRedisContainer() : await startLocalRedis()
  if (!started)
    throw new UserError(`Redis not reachable at ${local}; start one (apt-get install redis-server) or set REDIS_URL`)
  say(`no Redis at ${local}: started one at ${started.url} for this run`)
  services.push(started)
  return started.url
}

async function createHarness(): Promise<Harness> {
  const services: StartedService[] = []
  const wantDocker = process.env.TEST_KAFKA !== 'native' && !(process.env.KAFKA_BROKERS && process.env.REDIS_URL)
  const docker = wantDocker && (await dockerAnswers())
  const kafka = await resolveKafka(docker, services)
  const redisUrl = await resolveRedis(docker, services)
  const testRunId = Date.now().toString(36)
  return {
    context: { kafkaBrokers: kafka.brokers, redisUrl, kafkaMode: kafka.mode, testRunId },
    services,
    startedNativeKafka: kafka.mode === 'native' && kafka.started,
    users: 0,
  }
}

async function deleteRunTopics(ctx: HarnessContext): Promise<void> {
  if (process.env.KEEP_TEST_TOPICS === '1') return
  const prefix = runTopicPrefix(ctx.testRunId)
  await withAdmin(ctx.kafkaBrokers, async (admin) => {
    const topics = (await admin.listTopics({ timeout: 10_000 })).filter((t) => t.startsWith(prefix))
    if (topics.length > 0) await admin.deleteTopics({ topics, timeout: 30_000 })
  }).catch((err: unknown) => say(`could not delete this run's test topics: ${(err as Error).message}`))
}

/** Vitest global setup: provides the Kafka and Redis; returns the teardown. */
export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  shared[KEY] ??= createHarness()
  let harness: Harness
  try {
    harness = await shared[KEY]
  } catch (err) {
    shared[KEY] = undefined
    // A one-line reason (no Java, a busy port, Kafka unreachable) instead of a stack trace.
    if (err instanceof UserError) throw new Error(err.message)
    throw err
  }
  harness.users++
  const { context } = harness
  for (const [key, value] of Object.entries(context)) project.provide(key as keyof HarnessContext, value)
  process.env.KAFKA_BROKERS ??= context.kafkaBrokers
  process.env.REDIS_URL ??= context.redisUrl
  return async () => {
    harness.users--
    if (harness.users > 0) return
    shared[KEY] = undefined
    await deleteRunTopics(context)
    await Promise.all(harness.services.map((s) => s.stop().catch(() => {})))
    if (harness.startedNativeKafka) {
      say(`the local Kafka cluster stays up at ${context.kafkaBrokers} for the next run (\`pnpm kafka:down\` stops it)`)
    }
  }
}
