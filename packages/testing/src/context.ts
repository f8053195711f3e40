import { randomBytes } from 'node:crypto'
import { inject } from 'vitest'

/** What the global setup hands to the tests (`project.provide` / `inject`). */
export type HarnessContext = {
  /** Bootstrap servers, e.g. `127.0.0.1:9092,127.0.0.1:9094,127.0.0.1:9096`. */
  kafkaBrokers: string
  /** Redis URL without a database number (tests take their own with `freshRedis()`). */
  redisUrl: string
  /** Where Kafka came from: `env` (KAFKA_BROKERS), `docker` (testcontainers) or `native` (scripts/kafka.ts). */
  kafkaMode: 'env' | 'docker' | 'native'
  /** Short id of this test run; prefixes the topics of `uniqueTopic()` so the teardown can delete them. */
  testRunId: string
}

declare module 'vitest' {
  export interface ProvidedContext extends HarnessContext {}
}

function injected<K extends keyof HarnessContext>(key: K): HarnessContext[K] | undefined {
  try {
    return inject(key) as HarnessContext[K] | undefined
  } catch {
    // Outside a vitest worker (a script, a benchmark): fall back to the environment.
    return undefined
  }
}

/**
 * Bootstrap servers of the Kafka the tests use: from the global setup, else
 * `KAFKA_BROKERS`, else `127.0.0.1:9092`.
 *
 * @example
 * const kafka = new KafkaJS.Kafka({ kafkaJS: { brokers: kafkaBrokers().split(',') } })
 */
export function kafkaBrokers(): string {
  return injected('kafkaBrokers') || process.env.KAFKA_BROKERS || '127.0.0.1:9092'
}

/** Redis URL the tests use (database 0; take a database of your own with `freshRedis()`). */
export function redisUrl(): string {
  return injected('redisUrl') || process.env.REDIS_URL || 'redis://127.0.0.1:6379'
}

/** How the Kafka of this run was obtained (`env`, `docker` or `native`). */
export function kafkaMode(): HarnessContext['kafkaMode'] {
  return injected('kafkaMode') ?? 'env'
}

let localRunId: string | undefined

/** Id of this test run (from the global setup; a random one outside vitest). */
export function testRunId(): string {
  const id = injected('testRunId')
  if (id) return id
  localRunId ??= randomBytes(3).toString('hex')
  return localRunId
}
