/**
 * `pnpm topics:create`: creates the CTR input topics, idempotently.
 * Environment: KAFKA_BROKERS (default 127.0.0.1:9092, or the KAFKA_BASE_PORT of `pnpm kafka:up`), IMPRESSIONS_TOPIC / CLICKS_TOPIC
 * (default impressions / clicks), TOPIC_PARTITIONS (default 6), TOPIC_REPLICATION
 * (default min(3, number of brokers)).
 */
import { ensureTopics, requireKafka } from './lib/kafka-admin.js'
import { basePort } from './lib/kafka-layout.js'
import { runMain, UserError } from './lib/user-error.js'

function positiveInt(name: string, fallback: number): number {
  const raw = process.env[name]
  if (raw === undefined || raw === '') return fallback
  const n = Number(raw)
  if (!Number.isInteger(n) || n < 1) throw new UserError(`${name} must be a positive integer, not "${raw}".`)
  return n
}

async function main(): Promise<number> {
  const brokers = process.env.KAFKA_BROKERS || `127.0.0.1:${basePort()}`
  const topics = [process.env.IMPRESSIONS_TOPIC || 'impressions', process.env.CLICKS_TOPIC || 'clicks']
  const partitions = positiveInt('TOPIC_PARTITIONS', 6)
  const ids = await requireKafka(brokers)
  const replicationFactor = positiveInt('TOPIC_REPLICATION', Math.min(3, ids.length))
  if (replicationFactor > ids.length) {
    throw new UserError(
      `TOPIC_REPLICATION=${replicationFactor} but the cluster at ${brokers} has ${ids.length} broker(s).`,
    )
  }
  const outcomes = await ensureTopics(
    brokers,
    topics.map((topic) => ({ topic, partitions, replicationFactor })),
  )
  for (const o of outcomes) {
    const shape = `${o.partitions} partitions, replication ${o.replicationFactor}`
    console.log(
      `[topics] ${o.topic}: ${o.action === 'created' ? `created (${shape})` : `already exists (${shape}), left as is`}`,
    )
  }
  return 0
}

await runMain(main)
