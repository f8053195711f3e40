import { relative } from 'node:path'
import { brokerIds, ensureTopics, quietKafka, withAdmin } from './kafka-admin.js'
import type { KafkaNode } from './kafka-layout.js'
import { logTail, nodeRunning } from './kafka-process.js'
import { repoRoot } from './paths.js'
import { UserError } from './user-error.js'

/** The topic `kafka:up` writes to, replicated to every node, to prove the cluster takes acks=all writes. */
export const PROBE_TOPIC = '_kafka-up-probe'

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms))

function withTimeout<T>(p: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what} timed out after ${ms} ms`)), ms)
  })
  return Promise.race([p, timeout]).finally(() => clearTimeout(timer))
}

/** One attempt: every node registered, the probe topic fully in sync, one acks=all write acknowledged. */
async function probeOnce(bootstrap: string, size: number): Promise<void> {
  const ids = await brokerIds(bootstrap, 3000)
  if (ids.length < size) throw new Error(`${ids.length} of ${size} brokers registered`)
  await ensureTopics(bootstrap, [
    {
      topic: PROBE_TOPIC,
      partitions: 1,
      replicationFactor: size,
      config: { 'min.insync.replicas': String(size >= 3 ? 2 : 1) },
    },
  ])
  const isr = await withAdmin(bootstrap, async (admin) => {
    const [md] = await admin.fetchTopicMetadata({ topics: [PROBE_TOPIC], timeout: 3000 })
    return md?.partitions[0]?.isr.length ?? 0
  })
  if (isr < size) throw new Error(`probe topic ISR has ${isr} of ${size} replicas`)
  const producer = quietKafka(bootstrap).producer({ kafkaJS: { acks: -1 } })
  await withTimeout(producer.connect(), 10_000, 'producer connect')
  try {
    await withTimeout(
      producer.send({ topic: PROBE_TOPIC, messages: [{ value: `kafka:up ${new Date().toISOString()}` }] }),
      10_000,
      'acks=all write',
    )
  } finally {
    await producer.disconnect().catch(() => {})
  }
}

/**
 * Waits until the cluster has every node registered, the probe topic
 * replicated to all of them and in sync, and an acks=all write succeeds.
 * Fails fast, with the node's last log errors, when a JVM dies meanwhile.
 */
export async function waitUntilWritable(opts: { bootstrap: string; nodes: readonly KafkaNode[]; timeoutMs: number }) {
  const deadline = Date.now() + opts.timeoutMs
  let last = ''
  for (;;) {
    for (const node of opts.nodes) {
      if (!nodeRunning(node)) {
        const logs = relative(repoRoot, node.logsDir)
        const tail = logTail(node, 1).replace(/\s+/g, ' ').slice(0, 300)
        throw new UserError(`Kafka node ${node.id} is not running; see ${logs}/server.log${tail ? `: ${tail}` : ''}`)
      }
    }
    try {
      await probeOnce(opts.bootstrap, opts.nodes.length)
      return
    } catch (err) {
      last = err instanceof Error ? err.message : String(err)
    }
    if (Date.now() > deadline) {
      throw new UserError(
        `Kafka at ${opts.bootstrap} did not accept writes within ${Math.round(opts.timeoutMs / 1000)} s (${last}); see .kafka/node-*/logs/server.log`,
      )
    }
    await sleep(500)
  }
}
