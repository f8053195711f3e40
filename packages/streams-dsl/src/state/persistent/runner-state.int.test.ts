import { consume, createTopics, kafkaBrokers, produce, uniqueTopic, waitFor } from '@ctr/testing'
import { describe, expect, it } from 'vitest'
import { z } from 'zod'
import { changelogTopic, KafkaChangelogStore } from '../../checkpoint/changelog-store.js'
import { json, type TableChange, topic, topology } from '../../index.js'
import { createRunner } from '../../runner/runner.js'
import { sqliteStateBackend } from './sqlite-state-backend.js'

const Click = z.object({ user: z.string(), ts: z.number() })

describe('runner: sqlite state and incremental checkpoints on the Kafka changelog', () => {
  it.each(['at-least-once', 'exactly-once'] as const)(
    '%s: restarts from a base and its deltas: counts exact, only the new records read',
    async (guarantee) => {
      const input = uniqueTopic('state-clicks')
      await createTopics([{ topic: input, partitions: 1 }])
      const app = uniqueTopic('app-state')
      const out: TableChange<number>[] = []
      const run = () => {
        const state = sqliteStateBackend({ cacheEntries: 64 })
        const a = topology(app, { watermarks: { maxOutOfOrderness: '1s', idleTimeout: '2s' } })
        a.source(topic(input, { value: json(Click), timestamp: (c) => c.ts }))
          .keyBy((c) => c.user)
          .count()
          .toStream()
          .to({
            name: 'counts',
            write: async (rs) => {
              out.push(...rs)
            },
          })
        const runner = createRunner(a.build(), {
          config: { kafkaBrokers: kafkaBrokers(), applicationId: app, port: 0, logLevel: 'warn' },
          checkpoints: { intervalMs: 300, sessionTimeoutMs: 6000, incremental: true },
          requireRedis: false,
          guarantee,
          state,
        })
        return { runner, stop: () => runner.stop().then(() => state.close()) }
      }
      const now = Date.now()
      const send = (users: readonly number[]) =>
        produce(
          input,
          users.map((u, i) => ({ key: `u${u}`, value: { user: `u${u}`, ts: now + i } })),
        )
      const expected = new Map<string, number>()
      const count = (users: readonly number[]) => {
        for (const u of users) expected.set(`u${u}`, (expected.get(`u${u}`) ?? 0) + 1)
      }
      // 300 users, more than the cache of 64; then three rounds of a few changed users, each after a checkpoint
      const rounds = [Array.from({ length: 600 }, (_, i) => (i * 7) % 300), [1, 2, 3], [4, 5, 1], [299, 6]]
      const first = run()
      await first.runner.start()
      for (const users of rounds) {
        count(users)
        const before = out.length
        await send(users)
        await waitFor(async () => out.length >= before + users.length, { timeoutMs: 60_000, message: 'the counts' })
        await new Promise((r) => setTimeout(r, 700)) // a checkpoint or two
      }
      await first.stop()
      const last = new Map(out.map((c) => [String(c.key), c.value]))
      expect(last).toEqual(expected)

      // the changelog: a base of the task and deltas on it, the newest one read back whole
      const keys = (await consume(changelogTopic(app), { timeoutMs: 5_000 })).map((m) => m.key ?? '')
      expect(keys.some((k) => /^0#b\d+$/.test(k))).toBe(true)
      expect(keys.some((k) => /^0#d\d+\.\d+$/.test(k))).toBe(true)
      const store = await KafkaChangelogStore.open({ applicationId: app, brokers: kafkaBrokers() })
      const cp = (await store.read(['0'])).get('0')
      await store.close()
      expect(cp?.chain).toBeDefined()
      expect(cp?.task.windows[0]?.entries).toHaveLength(300)
      expect(new Map(cp?.task.windows[0]?.entries as [string, number][])).toEqual(expected)

      // a restart on a new (empty) state file: restored from the changelog, it reads only the new record
      out.length = 0
      const second = run()
      await second.runner.start()
      try {
        await send([7])
        await waitFor(async () => out.length >= 1, { timeoutMs: 60_000, message: 'the count after the restart' })
        expect(out).toEqual([{ key: 'u7', value: (expected.get('u7') ?? 0) + 1 }])
        expect(second.runner.engine?.status().counters.eventsIn).toBe(1)
      } finally {
        await second.stop()
      }
    },
    180_000,
  )
})
