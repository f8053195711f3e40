/**
 * `pnpm producers`: produces impressions and clicks at a steady rate until Ctrl-C (or --duration),
 * with a progress line every few seconds. See README.md for the settings.
 */
import { ConfigError, loadConfig, usage } from './config.js'
import { EventGenerator } from './generator.js'
import { connectKafka, KafkaUnavailableError, type RecordSink } from './kafka.js'
import { Pacer } from './pacer.js'
import { countSent, emptyStats, formatProgress } from './progress.js'
import { mulberry32 } from './rng.js'

const TICK_MS = 100
const log = (msg: string) => console.log(`[producers] ${msg}`)
const fail = (msg: string): never => {
  console.error(`[producers] ${msg}`)
  process.exit(1)
}

if (process.argv.includes('--help') || process.argv.includes('-h')) {
  console.log(usage())
  process.exit(0)
}

let config: ReturnType<typeof loadConfig>
try {
  config = loadConfig(process.argv.slice(2), process.env)
} catch (e) {
  fail(e instanceof ConfigError ? e.message : String(e))
  throw e
}

let sink: RecordSink
try {
  sink = await connectKafka(config.brokers, { impressions: config.impressionsTopic, clicks: config.clicksTopic })
} catch (e) {
  fail(e instanceof KafkaUnavailableError ? e.message : `cannot start the producer: ${(e as Error).message}`)
  throw e
}

const ctr = config.ctr.min === config.ctr.max ? `${config.ctr.min}` : `${config.ctr.min}..${config.ctr.max}`
log(
  `producing ${config.rate} impressions/s over ${config.products} products (true CTR ${ctr}) to ` +
    `${config.impressionsTopic} and ${config.clicksTopic} on ${config.brokers.join(',')} (seed ${config.seed}); Ctrl-C stops`,
)

let stopping = false
for (const sig of ['SIGINT', 'SIGTERM'] as const) {
  process.on(sig, () => {
    if (stopping) process.exit(130)
    stopping = true
  })
}

const generator = new EventGenerator({ ...config, runId: config.seed.toString(36) }, mulberry32(config.seed))
const start = Date.now()
const pacer = new Pacer(config.rate, start)
const stats = emptyStats()
let lastProgress = { at: start, sent: 0 }
let lastError = ''

while (!stopping && (config.durationS === 0 || Date.now() - start < config.durationS * 1000)) {
  const now = Date.now()
  const records = generator.tick(now, pacer.due(now))
  try {
    await sink.send(records)
    countSent(stats, records)
  } catch (e) {
    stats.errors += records.length
    const msg = String((e as Error).message).split('\n')[0] ?? ''
    if (msg !== lastError) log(`send failed, ${records.length} records lost: ${msg}`)
    lastError = msg
  }
  if (now - lastProgress.at >= config.progressEveryS * 1000) {
    log(formatProgress(stats, lastProgress.sent, now - lastProgress.at))
    lastProgress = { at: now, sent: stats.sent }
  }
  await new Promise((r) => setTimeout(r, Math.max(0, TICK_MS - (Date.now() - now))))
}

await sink.close()
log(`stopped: ${formatProgress(stats, 0, Date.now() - start)}`)
process.exit(0)
