import { existsSync, readFileSync } from 'node:fs'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { describe, expect, it } from 'vitest'
import { parse } from 'yaml'

// No Docker engine runs where the tests run: check the compose file's structure instead.
const here = dirname(fileURLToPath(import.meta.url))
const root = join(here, '..')

type Healthcheck = { test: string[] | string; interval?: string; retries?: number }
type Service = {
  image?: string
  build?: { context: string; dockerfile: string }
  command?: string[]
  environment?: Record<string, string | number>
  ports?: string[]
  depends_on?: Record<string, { condition: string }>
  healthcheck?: Healthcheck
}
const compose = parse(readFileSync(join(here, 'docker-compose.yml'), 'utf8'), { merge: true }) as {
  services: Record<string, Service>
}
const services = compose.services
const svc = (name: string): Service => {
  const s = services[name]
  if (!s) throw new Error(`no service ${name}`)
  return s
}
const env = (name: string) => svc(name).environment ?? {}
const published = (name: string) => (svc(name).ports ?? []).map((p) => Number(String(p).split(':')[0]))
const brokers = ['kafka-1', 'kafka-2', 'kafka-3']

describe('compose/docker-compose.yml', () => {
  it('has the Kafka brokers, Redis, both UIs, topic creation, the job, the API and the producers', () => {
    expect(Object.keys(services).sort()).toEqual(
      [...brokers, 'redis', 'kafka-ui', 'redisinsight', 'topics-init', 'job', 'api', 'producers'].sort(),
    )
  })

  it('runs a 3-node KRaft cluster from the official image with replication 3 and min ISR 2', () => {
    const voters = brokers.map((b, i) => `${i + 1}@${b}:9093`).join(',')
    const clusterIds = new Set(brokers.map((b) => env(b).CLUSTER_ID))
    expect(clusterIds.size).toBe(1)
    expect(String([...clusterIds][0])).toMatch(/^[A-Za-z0-9_-]{22}$/)
    brokers.forEach((b, i) => {
      const e = env(b)
      expect(svc(b).image).toMatch(/^apache\/kafka:4\./)
      expect(Number(e.KAFKA_NODE_ID)).toBe(i + 1)
      expect(e.KAFKA_PROCESS_ROLES).toBe('broker,controller')
      expect(e.KAFKA_CONTROLLER_QUORUM_VOTERS).toBe(voters)
      expect(Number(e.KAFKA_DEFAULT_REPLICATION_FACTOR)).toBe(3)
      expect(Number(e.KAFKA_MIN_INSYNC_REPLICAS)).toBe(2)
      expect(Number(e.KAFKA_OFFSETS_TOPIC_REPLICATION_FACTOR)).toBe(3)
      expect(Number(e.KAFKA_TRANSACTION_STATE_LOG_MIN_ISR)).toBe(2)
      // The host port is published and advertised under the same number, like the native cluster.
      const port = 9092 + 2 * i
      expect(published(b)).toEqual([port])
      expect(String(e.KAFKA_LISTENERS)).toContain(`EXTERNAL://:${port}`)
      expect(String(e.KAFKA_ADVERTISED_LISTENERS)).toContain(`EXTERNAL://127.0.0.1:${port}`)
      expect(String(e.KAFKA_ADVERTISED_LISTENERS)).toContain(`INTERNAL://${b}:29092`)
    })
  })

  it('publishes fixed host ports: API 8000, Kafka UI 8080, RedisInsight 5540, Redis 6379', () => {
    expect(published('api')).toEqual([8000])
    expect(published('kafka-ui')).toEqual([8080])
    expect(published('redisinsight')).toEqual([5540])
    expect(published('redis')).toEqual([6379])
    expect(Number(env('api').PORT)).toBe(8000)
  })

  it('opens the API and the job status server to the container network (both listen on 127.0.0.1 by default)', () => {
    expect(env('api').HOST).toBe('0.0.0.0')
    expect(env('job').HOST).toBe('0.0.0.0')
    expect(published('job')).toEqual([Number(env('job').JOB_PORT)])
    // the API proxies the job's /status by its service name, not the container's own loopback
    expect(env('api').JOB_STATUS_URL).toBe(`http://job:${env('job').JOB_PORT}/status`)
  })

  it('has a healthcheck on every long-running service the others wait for', () => {
    for (const name of [...brokers, 'redis', 'kafka-ui', 'redisinsight', 'job', 'api']) {
      const hc = svc(name).healthcheck
      expect(hc, name).toBeDefined()
      expect(Array.isArray(hc!.test) ? hc!.test[0] : 'CMD-SHELL', name).toMatch(/^CMD(-SHELL)?$/)
    }
    expect(JSON.stringify(svc('api').healthcheck!.test)).toContain('/healthz')
  })

  it('starts services in order: healthy Kafka before topics, topics and Redis before the job', () => {
    const dep = (name: string) =>
      Object.fromEntries(Object.entries(svc(name).depends_on ?? {}).map(([k, v]) => [k, v.condition]))
    for (const b of brokers) expect(dep('topics-init')[b]).toBe('service_healthy')
    expect(dep('job')).toEqual({ 'topics-init': 'service_completed_successfully', redis: 'service_healthy' })
    expect(dep('producers')['topics-init']).toBe('service_completed_successfully')
    expect(dep('api').redis).toBe('service_healthy')
    for (const b of brokers) expect(dep('kafka-ui')[b]).toBe('service_healthy')
    expect(dep('redisinsight').redis).toBe('service_healthy')
    // Every "wait until healthy" points at a service that has a healthcheck.
    for (const [name, s] of Object.entries(services)) {
      for (const [target, { condition }] of Object.entries(s.depends_on ?? {})) {
        expect(services[target], `${name} -> ${target}`).toBeDefined()
        if (condition === 'service_healthy') expect(services[target]!.healthcheck, `${name} -> ${target}`).toBeDefined()
      }
    }
  })

  it('builds the app services from this repository and runs commands that exist', () => {
    const scripts = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')).scripts as Record<string, string>
    const commands = { 'topics-init': 'topics:create', job: 'job', api: 'api', producers: 'producers' }
    for (const [name, script] of Object.entries(commands)) {
      const s = svc(name)
      expect(s.build, name).toEqual({ context: '..', dockerfile: 'compose/Dockerfile' })
      expect(s.command, name).toEqual(['pnpm', script])
      expect(scripts[script], `root script ${script}`).toBeDefined()
      expect(String(s.environment?.KAFKA_BROKERS)).toBe('kafka-1:29092,kafka-2:29092,kafka-3:29092')
      expect(String(s.environment?.REDIS_URL)).toBe('redis://redis:6379')
    }
  })

  it('has a Dockerfile on node 20 with the pinned pnpm', () => {
    const file = join(here, 'Dockerfile')
    expect(existsSync(file)).toBe(true)
    const dockerfile = readFileSync(file, 'utf8')
    const pm = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')).packageManager as string
    expect(dockerfile).toMatch(/^FROM node:20[\w.-]*$/m)
    expect(dockerfile).toContain(pm)
    expect(dockerfile).toContain('pnpm install --frozen-lockfile')
  })
})
