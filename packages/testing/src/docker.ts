import { existsSync } from 'node:fs'
import { request } from 'node:http'
import { createServer } from 'node:net'
import { homedir } from 'node:os'
import { join } from 'node:path'

/** A service the global setup started, with the way to stop it. */
export type StartedService = { readonly url: string; stop(): Promise<void> }

function socketCandidates(): string[] {
  const runtime = process.env.XDG_RUNTIME_DIR
  return [
    '/var/run/docker.sock',
    join(homedir(), '.docker', 'run', 'docker.sock'),
    join(homedir(), '.docker', 'desktop', 'docker.sock'),
    ...(runtime ? [join(runtime, 'docker.sock'), join(runtime, 'podman', 'podman.sock')] : []),
  ]
}

function ping(target: { socketPath: string } | { host: string; port: number }, timeoutMs: number): Promise<boolean> {
  return new Promise((resolve) => {
    const req = request({ ...target, path: '/_ping', method: 'GET', timeout: timeoutMs }, (res) => {
      res.resume()
      resolve(res.statusCode === 200)
    })
    req.on('timeout', () => req.destroy())
    req.on('error', () => resolve(false))
    req.end()
  })
}

/**
 * True when a Docker engine answers `/_ping` within `timeoutMs` (DOCKER_HOST,
 * else the usual socket paths). Cheap when there is no engine: no socket file,
 * no request.
 */
export async function dockerAnswers(timeoutMs = 1500): Promise<boolean> {
  const host = process.env.DOCKER_HOST
  if (host?.startsWith('unix://')) return ping({ socketPath: host.slice('unix://'.length) }, timeoutMs)
  if (host?.startsWith('tcp://')) {
    const u = new URL(host.replace('tcp://', 'http://'))
    return ping({ host: u.hostname, port: Number(u.port || 2375) }, timeoutMs)
  }
  for (const socketPath of socketCandidates()) {
    if (existsSync(socketPath) && (await ping({ socketPath }, timeoutMs))) return true
  }
  return false
}

/** A TCP port nothing listens on right now (the OS picks it). */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer()
    server.once('error', reject)
    server.listen(0, '127.0.0.1', () => {
      const address = server.address()
      const port = typeof address === 'object' && address ? address.port : 0
      server.close(() => resolve(port))
    })
  })
}

/**
 * A one-broker KRaft Kafka in a container (official `apache/kafka` image). The
 * host port is bound to the same number inside, so the advertised listener is
 * right for clients on the host.
 */
export async function startKafkaContainer(): Promise<StartedService> {
  const { GenericContainer, Wait } = await import('testcontainers')
  const port = await freePort()
  const container = await new GenericContainer(process.env.KAFKA_IMAGE ?? 'apache/kafka:4.1.1')
    .withExposedPorts({ container: port, host: port })
    .withEnvironment({
      KAFKA_NODE_ID: '1',
      KAFKA_PROCESS_ROLES: 'broker,controller',
      KAFKA_LISTENERS: `PLAINTEXT://:${port},CONTROLLER://:9093`,
      KAFKA_ADVERTISED_LISTENERS: `PLAINTEXT://127.0.0.1:${port}`,
      KAFKA_CONTROLLER_LISTENER_NAMES: 'CONTROLLER',
      KAFKA_LISTENER_SECURITY_PROTOCOL_MAP: 'CONTROLLER:PLAINTEXT,PLAINTEXT:PLAINTEXT',
      KAFKA_CONTROLLER_QUORUM_VOTERS: '1@localhost:9093',
      KAFKA_OFFSETS_TOPIC_REPLICATION_FACTOR: '1',
      KAFKA_TRANSACTION_STATE_LOG_REPLICATION_FACTOR: '1',
      KAFKA_TRANSACTION_STATE_LOG_MIN_ISR: '1',
      KAFKA_SHARE_COORDINATOR_STATE_TOPIC_REPLICATION_FACTOR: '1',
      KAFKA_SHARE_COORDINATOR_STATE_TOPIC_MIN_ISR: '1',
      KAFKA_GROUP_INITIAL_REBALANCE_DELAY_MS: '0',
    })
    .withWaitStrategy(Wait.forLogMessage(/Kafka Server started/))
    .withStartupTimeout(180_000)
    .start()
  return { url: `127.0.0.1:${port}`, stop: async () => void (await container.stop()) }
}

/** A Redis in a container (`redis:7-alpine`), nothing saved to disk. */
export async function startRedisContainer(): Promise<StartedService> {
  const { GenericContainer, Wait } = await import('testcontainers')
  const container = await new GenericContainer(process.env.REDIS_IMAGE ?? 'redis:7-alpine')
    .withExposedPorts(6379)
    .withCommand(['redis-server', '--save', '', '--appendonly', 'no'])
    .withWaitStrategy(Wait.forLogMessage(/Ready to accept connections/))
    .start()
  return {
    url: `redis://${container.getHost()}:${container.getMappedPort(6379)}`,
    stop: async () => void (await container.stop()),
  }
}
