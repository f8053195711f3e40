import { describeCluster } from '@ctr/streams-dsl/kafka'
import type { JobConfig } from './config.js'

/** An input topic is missing; the message says how to create it. */
export class MissingTopicError extends Error {
  override readonly name = 'MissingTopicError'
}

/**
 * Checks that Kafka answers and both input topics exist (any partition counts); returns their partition
 * counts. Rejects with a one-line error naming `pnpm kafka:up` or `pnpm topics:create`.
 *
 * @example
 * await requireInputTopics(loadJobConfig(process.env)) // { impressions: 6, clicks: 6 }
 */
export async function requireInputTopics(c: JobConfig): Promise<Record<string, number>> {
  const cluster = await describeCluster(c.runner.kafkaBrokers)
  const wanted = [c.impressionsTopic, c.clicksTopic]
  const missing = wanted.filter((t) => !cluster.topics.has(t))
  if (missing.length > 0) {
    const env = missing.map((t) => (t === c.impressionsTopic ? 'IMPRESSIONS_TOPIC' : 'CLICKS_TOPIC'))
    throw new MissingTopicError(
      `input topic${missing.length > 1 ? 's' : ''} ${missing.join(', ')} not found on ${c.runner.kafkaBrokers}; ` +
        `create ${missing.length > 1 ? 'them' : 'it'} with \`pnpm topics:create\` (or set ${env.join(' / ')})`,
    )
  }
  return Object.fromEntries(wanted.map((t) => [t, cluster.topics.get(t) ?? 0]))
}
