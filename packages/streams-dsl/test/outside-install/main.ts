// A project outside the workspace that installed the packed @ctr/streams-dsl (see ../outside-install.int.test.ts):
// page views per page in 10 s windows on the test driver, printed as JSON.
import { type DeadLetter, json, topic, topology, tumbling, type Windowed } from '@ctr/streams-dsl'
import type { RunnerOptions } from '@ctr/streams-dsl/runner'
import { collectingSink, TestDriver } from '@ctr/streams-dsl/testing'
import { z } from 'zod'

const View = z.object({ page: z.string().min(1), at: z.number() })

const perPage = collectingSink<{ page: string; views: number; from: number }>('per-page')
const rejected = collectingSink<DeadLetter>('rejected')
const app = topology('page-views', { watermarks: { maxOutOfOrderness: '1s', idleTimeout: '5s' } })
app
  .source(topic('views', { value: json(View), timestamp: (v) => v.at }))
  .keyBy((v) => v.page)
  .window(tumbling('10s'))
  .count()
  .map((r: Windowed<string, number>) => ({ page: r.key, views: r.value, from: r.window.start }))
  .to(perPage)
app.deadLetters().to(rejected)

// the runner's options type-check here too (the Kafka client is not needed for the test driver)
const options: RunnerOptions = { tasks: 'auto' }

const d = new TestDriver(app.build(), { startTime: '2025-01-01T12:00:00Z' })
const t0 = d.now()
await d.pipe('views', [
  { page: '/a', at: t0 },
  { page: '/b', at: t0 + 1000 },
  { page: '/a', at: t0 + 2000 },
  { page: '', at: t0 + 3000 },
  'not json',
])
await d.advanceWallClock('20s') // traffic stopped: the partition goes idle and the window closes
console.log(
  JSON.stringify({ results: perPage.records, rejected: rejected.records.map((l) => l.reason), tasks: options.tasks }),
)
