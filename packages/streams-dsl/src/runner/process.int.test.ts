import { createTopics, freshRedis, kafkaBrokers, produce, uniqueTopic, waitFor } from '@ctr/testing'
import { describe, expect, it } from 'vitest'
import { createSinkRedis } from '../connectors/redis/connection.js'
import { redisHash } from '../connectors/redis/hash-sink.js'
import { json, topic, topology } from '../index.js'
import { Click, type Summary, silence } from './fixtures/silence-processor.js'
import { createRunner } from './runner.js'

describe('runner: keyBy(fn).process(processor) on real Kafka and Redis', () => {
  it("keeps a key's state and timers across a restart: sessions that span it are emitted whole, once", async () => {
    const input = uniqueTopic('process-clicks')
    await createTopics([{ topic: input, partitions: 3 }])
    const redis = await freshRedis()
    const app = uniqueTopic('app-process')
    const hash = `${app}:sessions`
    const run = () => {
      const sinkRedis = createSinkRedis(redis.url)
      const a = topology(app, { watermarks: { maxOutOfOrderness: '1s', idleTimeout: '2s' } })
      a.source(topic(input, { value: json(Click), timestamp: (c) => c.ts }))
        .keyBy((c) => c.user)
        .process(silence)
        .to(redisHash<Summary>({ key: hash, field: (s) => `${s.user}@${s.first}`, redis: sinkRedis }))
      const runner = createRunner(a.build(), {
        config: { kafkaBrokers: kafkaBrokers(), redisUrl: redis.url, applicationId: app, port: 0, logLevel: 'warn' },
        checkpoints: { intervalMs: 500, sessionTimeoutMs: 6000 },
      })
      return { runner, stop: () => runner.stop().then(() => void sinkRedis.quit()) }
    }
    const base = Date.now() - 20 * 60_000
    const clicks = (user: string, times: readonly number[]) => times.map((t) => ({ user, ts: base + t }))
    const send = (cs: readonly Click[]) =>
      produce(
        input,
        cs.map((c) => ({ key: c.user, value: c })),
      )
    try {
      // u1: a session that ends before the restart, and one that spans it; u2: one that spans it
      await send([...clicks('u1', [0, 5_000, 100_000]), ...clicks('u2', [95_000])])
      const first = run()
      await first.runner.start()
      await waitFor(async () => (await redis.hlen(hash)) >= 1, { timeoutMs: 60_000, message: "u1's first session" })
      expect(await redis.hkeys(hash)).toEqual([`u1@${base}`])
      await first.stop()

      await send([...clicks('u1', [110_000]), ...clicks('u2', [110_000]), ...clicks('end', [500_000])])
      const second = run()
      await second.runner.start()
      try {
        await waitFor(async () => (await redis.hlen(hash)) >= 3, {
          timeoutMs: 60_000,
          message: 'the sessions after the restart',
        })
        const stored = Object.fromEntries(
          Object.entries(await redis.hgetall(hash)).map(([k, v]) => [k, JSON.parse(v) as Summary]),
        )
        // the second instance read the new records only: the first clicks of the sessions that span the restart
        // came from the checkpointed state, and their timers from it too
        expect(second.runner.engine?.status().counters.eventsIn).toBe(3)
        expect(stored).toEqual({
          [`u1@${base}`]: { user: 'u1', clicks: 2, first: base, last: base + 5_000 },
          [`u1@${base + 100_000}`]: { user: 'u1', clicks: 2, first: base + 100_000, last: base + 110_000 },
          [`u2@${base + 95_000}`]: { user: 'u2', clicks: 2, first: base + 95_000, last: base + 110_000 },
        })
      } finally {
        await second.stop()
      }
    } finally {
      await redis.release()
    }
  }, 180_000)
})
