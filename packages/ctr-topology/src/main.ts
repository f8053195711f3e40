/**
 * `pnpm job`: the CTR job in the foreground, on the runner of @ctr/streams-dsl. Settings from the
 * environment (README.md); Ctrl-C stops it cleanly. Works with topics that already exist, whatever
 * their partition counts; a missing topic, Kafka or Redis is one line saying what to run.
 * `pnpm job --until-end`: a bounded run — reads up to the end offsets seen at start, closes every window,
 * writes the results and exits 0 (backfills, reprocessing).
 */
import { run } from '@ctr/streams-dsl/runner'
import { loadJobConfig } from './config.js'
import { requireInputTopics } from './preflight.js'
import { ctrResultsSink } from './results-sink.js'
import { ctrTopology } from './topology.js'

const fail = (message: string): never => {
  process.stderr.write(`[job] ${message}\n`)
  process.exit(1)
}

const args = process.argv.slice(2)
const unknown = args.filter((a) => a !== '--until-end')
if (unknown.length > 0) fail(`unknown argument ${unknown[0]}; the job takes --until-end (a bounded run) or nothing`)
const untilEnd = args.includes('--until-end')

let config: ReturnType<typeof loadJobConfig>
try {
  config = loadJobConfig(process.env)
  await requireInputTopics(config)
} catch (e) {
  fail((e as Error).message.split('\n')[0] ?? String(e))
  throw e
}

const results = ctrResultsSink({ history: { max: config.historyWindows, ttlSeconds: config.historyTtlSeconds } })

await run(ctrTopology({ ...config, results, idleTimeout: config.idleTimeoutMs }), {
  config: config.runner,
  tasks: config.tasks,
  untilEnd,
})
