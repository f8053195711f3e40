/**
 * The local Apache Kafka cluster (KRaft, no Docker): 3 combined broker and
 * controller nodes on loopback (bootstrap 127.0.0.1:9092), or 1 for quick
 * work. Data, logs and pid files live in `.kafka/` at the repository root.
 * Used by `pnpm kafka:up` / `kafka:down`, by the vitest global setup and by
 * the chaos tests that stop and restart a broker.
 */
import { randomBytes } from 'node:crypto'
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { brokerClasspath, checkJava, kafkaVersion } from './kafka-classpath.js'
import { formatStorage } from './kafka-format.js'
import {
  bootstrapServers,
  type ClusterSize,
  clusterLayout,
  type KafkaNode,
  LOG4J2_PROPERTIES,
  serverProperties,
} from './kafka-layout.js'
import { withFileLock } from './kafka-lock.js'
import { waitUntilWritable } from './kafka-probe.js'
import { nodeRunning, portFree, spawnNode, stopNode } from './kafka-process.js'
import { kafkaHome } from './paths.js'
import { UserError } from './user-error.js'

export type { ClusterSize, KafkaNode } from './kafka-layout.js'

/** What `.kafka/cluster.json` records about the formatted cluster. */
type ClusterState = { clusterId: string; size: ClusterSize; kafkaVersion: string }

/** Options of {@link startCluster}. */
export type StartOptions = {
  /** 3 (default) or 1; defaults to the formatted cluster's size, else `KAFKA_NODES`, else 3. */
  size?: ClusterSize
  /** Progress lines (default: none). */
  log?: (line: string) => void
  /** How long to wait for the cluster to accept acks=all writes (default 180 s). */
  timeoutMs?: number
}

/** The cluster as {@link startCluster} left it. */
export type ClusterInfo = {
  readonly bootstrap: string
  readonly size: ClusterSize
  /** True when every node was already running before the call. */
  readonly alreadyRunning: boolean
  readonly nodes: readonly KafkaNode[]
}

const stateFile = () => join(kafkaHome, 'cluster.json')
const lockFile = () => join(kafkaHome, '.lock')
const log4jFile = () => join(kafkaHome, 'log4j2.properties')

function readState(): ClusterState | null {
  if (!existsSync(stateFile())) return null
  try {
    return JSON.parse(readFileSync(stateFile(), 'utf8')) as ClusterState
  } catch {
    return null
  }
}

function envSize(): ClusterSize | undefined {
  const n = process.env.KAFKA_NODES
  if (n === undefined || n === '') return undefined
  if (n === '1' || n === '3') return Number(n) as ClusterSize
  throw new UserError(`KAFKA_NODES must be 1 or 3, not "${n}".`)
}

/** The size of the cluster in `.kafka/` (formatted), else `KAFKA_NODES`, else 3. */
export function clusterSize(): ClusterSize {
  return readState()?.size ?? envSize() ?? 3
}

/** The nodes of the cluster in `.kafka/`. */
export function clusterNodes(): KafkaNode[] {
  return clusterLayout(clusterSize())
}

/** The ids of the nodes whose JVM is running. */
export function runningNodeIds(): number[] {
  return clusterNodes()
    .filter(nodeRunning)
    .map((n) => n.id)
}

/** True when every node of the cluster runs (pid files and live processes; see {@link startCluster} for readiness). */
export function isRunning(): boolean {
  const nodes = clusterNodes()
  return nodes.every(nodeRunning)
}

/** Kafka's cluster id format: 16 random bytes, base64url without padding, not starting with '-'. */
function newClusterId(): string {
  for (;;) {
    const id = randomBytes(16).toString('base64url')
    if (!id.startsWith('-')) return id
  }
}

async function launch(
  nodes: readonly KafkaNode[],
  all: readonly KafkaNode[],
  state: ClusterState,
  log: (l: string) => void,
) {
  for (const node of nodes) {
    for (const port of [node.brokerPort, node.controllerPort]) {
      if (!(await portFree(port))) {
        throw new UserError(
          `Port ${port} (Kafka node ${node.id}) is in use by another program; stop it (\`ss -ltnp | grep :${port}\` shows which) and run \`pnpm kafka:up\` again.`,
        )
      }
    }
  }
  checkJava()
  const classpath = await brokerClasspath(log)
  writeFileSync(log4jFile(), LOG4J2_PROPERTIES)
  for (const node of all) {
    mkdirSync(node.dir, { recursive: true })
    writeFileSync(node.configFile, serverProperties(node, all))
  }
  const unformatted = nodes.filter((n) => !existsSync(join(n.dataDir, 'meta.properties')))
  if (unformatted.length > 0) {
    log(`formatting storage of node${unformatted.length > 1 ? 's' : ''} ${unformatted.map((n) => n.id).join(', ')}`)
    await Promise.all(unformatted.map((n) => formatStorage(n, state.clusterId, classpath)))
  }
  log(
    `starting Kafka ${state.kafkaVersion} node${nodes.length > 1 ? 's' : ''} ${nodes.map((n) => n.id).join(', ')} (logs in .kafka/node-<id>/logs/)`,
  )
  for (const node of nodes) spawnNode(node, classpath, log4jFile())
}

/**
 * Starts the cluster, or the nodes of it that are not running, and waits
 * until it accepts a write with acks=all on a topic replicated to every node.
 * Harmless when the cluster already runs. Throws a one-line {@link UserError}
 * for missing Java/Maven, a busy port or a size mismatch.
 *
 * @example
 * const { bootstrap } = await startCluster({ log: console.log }) // '127.0.0.1:9092,127.0.0.1:9094,127.0.0.1:9096'
 */
export async function startCluster(opts: StartOptions = {}): Promise<ClusterInfo> {
  const log = opts.log ?? (() => {})
  return withFileLock(lockFile(), async () => {
    const existing = readState()
    const size = opts.size ?? existing?.size ?? envSize() ?? 3
    if (existing && existing.size !== size) {
      throw new UserError(
        `.kafka/ holds a ${existing.size}-broker cluster; run \`pnpm kafka:down --clean\` first to start a ${size}-broker one.`,
      )
    }
    const state: ClusterState = existing ?? { clusterId: newClusterId(), size, kafkaVersion: kafkaVersion() }
    const all = clusterLayout(size)
    const stopped = all.filter((n) => !nodeRunning(n))
    if (stopped.length > 0) {
      mkdirSync(kafkaHome, { recursive: true })
      await launch(stopped, all, state, log)
      writeFileSync(stateFile(), `${JSON.stringify(state, null, 2)}\n`)
    }
    const bootstrap = bootstrapServers(all)
    if (stopped.length > 0) log('waiting until the cluster accepts writes with acks=all')
    await waitUntilWritable({ bootstrap, nodes: all, timeoutMs: opts.timeoutMs ?? 180_000 })
    return { bootstrap, size, alreadyRunning: stopped.length === 0, nodes: all }
  })
}

/** Stops every node (SIGTERM, then SIGKILL after a grace period); `clean` also deletes `.kafka/`. */
export async function stopCluster(opts: { clean?: boolean; log?: (line: string) => void } = {}): Promise<number[]> {
  const log = opts.log ?? (() => {})
  return withFileLock(lockFile(), async () => {
    const nodes = clusterNodes()
    const running = nodes.filter(nodeRunning)
    if (running.length > 0)
      log(`stopping Kafka node${running.length > 1 ? 's' : ''} ${running.map((n) => n.id).join(', ')}`)
    await Promise.all(running.map((n) => stopNode(n)))
    if (opts.clean) {
      rmSync(kafkaHome, { recursive: true, force: true })
      log('deleted .kafka/')
    }
    return running.map((n) => n.id)
  })
}

function nodeById(nodeId: number): KafkaNode {
  const node = clusterNodes().find((n) => n.id === nodeId)
  if (!node) throw new UserError(`There is no Kafka node ${nodeId} in this ${clusterSize()}-broker cluster.`)
  return node
}

/**
 * Stops one node, cleanly (SIGTERM: it hands its leaderships over) or hard
 * (`signal: 'SIGKILL'`). Returns false when it was not running.
 */
export async function stopBroker(nodeId: number, opts: { signal?: NodeJS.Signals } = {}): Promise<boolean> {
  return stopNode(nodeById(nodeId), opts)
}

/**
 * Starts one stopped node again and waits until the cluster accepts acks=all
 * writes with every node in the probe topic's ISR (so the node has rejoined).
 */
export async function startBroker(nodeId: number, opts: { timeoutMs?: number } = {}): Promise<void> {
  nodeById(nodeId)
  await startCluster({ size: clusterSize(), ...opts })
}
