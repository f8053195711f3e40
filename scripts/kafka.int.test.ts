import { spawn } from 'node:child_process'
import { consume, createTopics, kafkaBrokers, produce, uniqueTopic } from '@ctr/testing'
import { describe, expect, it } from 'vitest'
import { withAdmin } from './lib/kafka-admin.js'
import { bootstrapServers, clusterLayout } from './lib/kafka-layout.js'
import { repoRoot } from './lib/paths.js'

type Run = { code: number | null; stdout: string; stderr: string }

function run(cmd: string, args: string[], env: Record<string, string> = {}): Promise<Run> {
  return new Promise((resolve) => {
    const child = spawn(cmd, args, {
      cwd: repoRoot,
      env: { ...process.env, ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    })
    let stdout = ''
    let stderr = ''
    child.stdout.on('data', (d) => (stdout += d))
    child.stderr.on('data', (d) => (stderr += d))
    child.on('close', (code) => resolve({ code, stdout, stderr }))
  })
}

describe('pnpm kafka:up', () => {
  it('is harmless when run twice in a row: both exit 0 and the cluster still works', async () => {
    const first = await run('pnpm', ['kafka:up'])
    expect(first.code, first.stderr).toBe(0)
    const second = await run('pnpm', ['kafka:up'])
    expect(second.code, second.stderr).toBe(0)
    expect(second.stdout).toContain('already running')
    expect(second.stdout).toContain(`KAFKA_BROKERS=${bootstrapServers(clusterLayout(3))}`)
    expect(`${first.stderr}${second.stderr}`).not.toMatch(/Error|at .*\(.*:\d+:\d+\)/)

    const topic = uniqueTopic('after-up-twice')
    await createTopics([{ topic, partitions: 3 }], { brokers: bootstrapServers(clusterLayout(3)) })
    await produce(topic, [
      { key: 'a', value: 'one' },
      { key: 'a', value: 'two' },
    ])
    const got = await consume(topic, { count: 2 })
    expect(got.map((m) => m.value)).toEqual(['one', 'two'])
  })
})

describe('pnpm topics:create', () => {
  it('creates both topics with the requested shape, and a second run leaves them as they are', async () => {
    const impressions = uniqueTopic('impressions')
    const clicks = uniqueTopic('clicks')
    const env = {
      KAFKA_BROKERS: kafkaBrokers(),
      IMPRESSIONS_TOPIC: impressions,
      CLICKS_TOPIC: clicks,
      TOPIC_PARTITIONS: '4',
    }
    const first = await run('pnpm', ['topics:create'], env)
    expect(first.code, first.stderr).toBe(0)
    expect(first.stdout).toContain(`${impressions}: created (4 partitions`)
    expect(first.stdout).toContain(`${clicks}: created (4 partitions`)
    const second = await run('pnpm', ['topics:create'], { ...env, TOPIC_PARTITIONS: '8' })
    expect(second.code, second.stderr).toBe(0)
    expect(second.stdout).toContain(`${impressions}: already exists (4 partitions`)
    const md = await withAdmin(kafkaBrokers(), (admin) => admin.fetchTopicMetadata({ topics: [impressions, clicks] }))
    const expectedRf = Math.min(3, kafkaBrokers().split(',').length)
    for (const t of md) {
      expect(t.partitions).toHaveLength(4)
      for (const p of t.partitions) expect(p.replicas).toHaveLength(expectedRf)
    }
  })

  it('says in one line how to start Kafka when it is not reachable', async () => {
    const r = await run('pnpm', ['topics:create'], { KAFKA_BROKERS: '127.0.0.1:1' })
    expect(r.code).toBe(1)
    const lines = r.stderr
      .split('\n') // pnpm's own lines (the command it runs, its exit notice) aside
      .filter((l) => l.trim() && !l.includes('ELIFECYCLE') && !l.startsWith('$ '))
    expect(lines).toEqual(['Kafka not reachable at 127.0.0.1:1; start it with `pnpm kafka:up`'])
  })
})
