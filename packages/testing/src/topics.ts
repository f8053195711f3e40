import { randomBytes } from 'node:crypto'
import { withAdmin } from '../../../scripts/lib/kafka-admin.js'
import { kafkaBrokers, testRunId } from './context.js'
import { waitFor } from './wait.js'

/** A topic to create; partitions default to 3, replication to the broker default (3 on the local cluster). */
export type TestTopic =
  | string
  | {
      readonly topic: string
      readonly partitions?: number
      readonly replicationFactor?: number
      readonly config?: Readonly<Record<string, string>>
    }

let counter = 0

/**
 * A topic name no other test, worker or run uses: `t-<run>-<base>-<n><random>`.
 * The global setup deletes the topics of its run at the end (`KEEP_TEST_TOPICS=1` keeps them).
 *
 * @example
 * const topic = uniqueTopic('impressions') // 't-lq3k9a-impressions-1f3a2'
 */
export function uniqueTopic(base: string): string {
  const clean = base.replace(/[^a-zA-Z0-9-]/g, '-').slice(0, 80)
  counter++
  return `${runTopicPrefix()}${clean}-${counter}${randomBytes(2).toString('hex')}`
}

/** The prefix of every {@link uniqueTopic} name of this run. */
export function runTopicPrefix(runId: string = testRunId()): string {
  return `t-${runId}-`
}

/**
 * Creates topics (existing ones are left alone) and waits until every
 * partition has a leader. Transient errors (a broker starting or moving
 * leadership) are retried until `timeoutMs`.
 *
 * @example
 * const topic = uniqueTopic('clicks')
 * await createTopics([{ topic, partitions: 6 }])
 */
export async function createTopics(
  topics: readonly TestTopic[],
  opts: { brokers?: string; timeoutMs?: number } = {},
): Promise<void> {
  const specs = topics.map((t) => (typeof t === 'string' ? { topic: t } : t))
  const brokers = opts.brokers ?? kafkaBrokers()
  let permanent: Error | undefined
  await withAdmin(brokers, async (admin) => {
    await waitFor(
      async () => {
        if (permanent) return true
        await admin
          .createTopics({
            timeout: 10_000,
            topics: specs.map((s) => ({
              topic: s.topic,
              numPartitions: s.partitions ?? 3,
              replicationFactor: s.replicationFactor ?? -1,
              configEntries: Object.entries(s.config ?? {}).map(([name, value]) => ({ name, value })),
            })),
          })
          .catch((err: unknown) => {
            // Bad arguments will not get better by retrying: report them at once.
            if (isPermanent(err)) permanent = err as Error
            throw err
          })
        const md = await admin.fetchTopicMetadata({ topics: specs.map((s) => s.topic), timeout: 5000 })
        return md.every((t) => t.partitions.length > 0 && t.partitions.every((p) => p.leader >= 0))
      },
      {
        timeoutMs: opts.timeoutMs ?? 60_000,
        intervalMs: 250,
        message: `topics ${specs.map((s) => s.topic).join(', ')} ready`,
      },
    )
  })
  if (permanent) throw permanent
}

const PERMANENT_CODES = new Set([17, 37, 38, 40, 44]) // invalid topic, partitions, replication (-), config, policy

function isPermanent(err: unknown): boolean {
  const errors = (err as { errors?: unknown[] })?.errors ?? [err]
  return errors.some((e) => {
    const code = (e as { code?: number })?.code
    return code !== undefined && PERMANENT_CODES.has(code) && code !== 38
  })
}

/** Deletes topics; missing ones are ignored. */
export async function deleteTopics(topics: readonly string[], opts: { brokers?: string } = {}): Promise<void> {
  if (topics.length === 0) return
  await withAdmin(opts.brokers ?? kafkaBrokers(), async (admin) => {
    const existing = new Set(await admin.listTopics({ timeout: 10_000 }))
    const doomed = topics.filter((t) => existing.has(t))
    if (doomed.length > 0) await admin.deleteTopics({ topics: doomed, timeout: 30_000 })
  })
}

/**
 * Waits until every partition of `topic` has `replicas` in-sync replicas (for
 * instance after a stopped broker came back). Returns the final ISR sizes.
 */
export async function waitForIsr(
  topic: string,
  replicas: number,
  opts: { brokers?: string; timeoutMs?: number } = {},
): Promise<number[]> {
  return withAdmin(opts.brokers ?? kafkaBrokers(), (admin) =>
    waitFor(
      async () => {
        const [md] = await admin.fetchTopicMetadata({ topics: [topic], timeout: 5000 })
        const sizes = md?.partitions.map((p) => p.isr.length) ?? []
        return sizes.length > 0 && sizes.every((n) => n >= replicas) ? sizes : null
      },
      { timeoutMs: opts.timeoutMs ?? 120_000, intervalMs: 500, message: `ISR of ${topic} back to ${replicas}` },
    ),
  )
}
