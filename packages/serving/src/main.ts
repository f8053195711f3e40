// `pnpm api` / `pnpm dev`: the CTR HTTP API on PORT (default 8000). Configuration from the environment (see
// config.ts); Redis may be down at start: the API answers 503 until it is reachable, no restart needed.
import { pino } from 'pino'
import { createApi } from './app.js'
import { ConfigError, loadConfig, redactUrl, type ServingConfig } from './config.js'
import { createRedisClient } from './redis.js'
import { type RunningServer, startServer } from './server.js'

let config: ServingConfig
try {
  config = loadConfig(process.env)
} catch (err) {
  console.error(`[api] ${err instanceof ConfigError ? err.message : String(err)}`)
  process.exit(2)
}

const logger = pino({ level: config.logLevel, base: { service: 'ctr-api' } })
const redis = createRedisClient(config.redisUrl, { logger })
const shutdown = new AbortController()
const app = createApi({
  redis,
  logger,
  jobStatusUrl: config.jobStatusUrl,
  shutdown: shutdown.signal,
  cacheMaxStalenessMs: config.cacheMaxStalenessMs,
  maxStreamClients: config.sseMaxClients,
  ...(config.corsOrigin ? { cors: config.corsOrigin } : {}),
})

// A reachable Redis is connected before the first request is taken (its first answers would otherwise be 503s
// for a Redis that is up, only not connected yet); a Redis that is down holds the start back by at most 2 s.
await new Promise<void>((resolve) => {
  if (redis.status === 'ready') return resolve()
  const done = () => {
    clearTimeout(timer)
    redis.off('ready', done)
    resolve()
  }
  const timer = setTimeout(done, 2_000)
  redis.once('ready', done)
})

let running: RunningServer
try {
  running = await startServer(app, { port: config.port, host: config.host })
} catch (err) {
  const code = (err as NodeJS.ErrnoException).code
  const why =
    code === 'EADDRINUSE'
      ? `port ${config.port} is already in use (stop the other server or set PORT)`
      : `cannot listen on ${config.host}:${config.port}: ${(err as Error).message}`
  logger.fatal(why)
  redis.disconnect()
  process.exit(1)
}
logger.info(
  { port: running.port, redis: redactUrl(config.redisUrl), jobStatusUrl: config.jobStatusUrl },
  `CTR API on http://${config.host}:${running.port} (dashboard /, docs /docs, Redis ${redactUrl(config.redisUrl)})`,
)

let stopping = false
const stop = async (signal: string) => {
  if (stopping) {
    logger.warn(`${signal} again: exiting now`)
    process.exit(1)
  }
  stopping = true
  logger.info(`${signal}: closing streams and connections`)
  shutdown.abort()
  await running.close()
  redis.disconnect()
  logger.info('stopped')
  process.exit(0)
}
process.on('SIGINT', () => void stop('SIGINT'))
process.on('SIGTERM', () => void stop('SIGTERM'))
