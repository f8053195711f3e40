/**
 * `pnpm job`: the CTR job in the foreground, on the runner of @ctr/streams-dsl. Settings from the
 * environment (README.md); Ctrl-C stops it cleanly. Works with topics that already exist, whatever
 * their partition counts; a missing topic, Kafka or Redis is one line saying what to run.
 */
import { redisLatestPrevious } from '@ctr/streams-dsl/redis'
import { run } from '@ctr/streams-dsl/runner'
import { loadJobConfig } from './config.js'
import { REDIS_KEYS } from './contract.js'
import { requireInputTopics } from './preflight.js'
import { ctrTopology } from './topology.js'

const fail = (message: string): never => {
  process.stderr.write(`[job] ${message}\n`)
  process.exit(1)
}

let config: ReturnType<typeof loadJobConfig>
try {
  config = loadJobConfig(process.env)
  await requireInputTopics(config)
} catch (e) {
  fail((e as Error).message.split('\n')[0] ?? String(e))
  throw e
}

const results = redisLatestPrevious({
  latest: REDIS_KEYS.latest,
  previous: REDIS_KEYS.previous,
  history: { prefix: REDIS_KEYS.historyPrefix, max: config.historyWindows },
  publish: REDIS_KEYS.updates,
})

await run(ctrTopology({ ...config, results, idleTimeout: config.idleTimeoutMs }), {
  config: config.runner,
  tasks: config.tasks,
})
