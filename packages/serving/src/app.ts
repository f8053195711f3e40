import { OpenAPIHono } from '@hono/zod-openapi'
import type { Context } from 'hono'
import { cors } from 'hono/cors'
import { HTTPException } from 'hono/http-exception'
import type { Redis } from 'ioredis'
import { ApiError, errorBody } from './errors.js'
import { ApiMetrics } from './metrics.js'
import { type Logger, RedisWatch } from './redis.js'
import { requestLogger } from './request-log.js'
import { ResultsCache } from './results-cache.js'
import { ctrRoutes } from './routes/ctr.js'
import { dashboardRoutes } from './routes/dashboard.js'
import { docsRoutes } from './routes/docs.js'
import { healthRoutes } from './routes/health.js'
import { metricsRoutes } from './routes/metrics.js'
import { pipelineRoutes } from './routes/pipeline.js'
import { streamRoutes } from './routes/stream.js'
import { CtrStore, redisApiError, redisUnavailable } from './store.js'
import { UpdatesHub } from './updates.js'

/** Dependencies and options of {@link createApi}. */
export type ApiOptions = {
  /** The Redis client results are read from; best made with `createRedisClient` (fails fast while down). */
  redis: Redis
  /** The CTR job's status endpoint proxied by `/pipeline/status` (default `http://127.0.0.1:8001/status`). */
  jobStatusUrl?: string
  /** Request and error logs (pino fits); none when omitted. */
  logger?: Logger
  /** `*` or a comma-separated list of allowed origins; no CORS headers when omitted. */
  cors?: string
  /** Metrics registry to use (a new one by default). */
  metrics?: ApiMetrics
  /** Pub/Sub channel of the live updates (default `ctr:updates`; Pub/Sub is not per database, tests use their own). */
  updatesChannel?: string
  /** Aborting it ends every open `/ctr/stream` and the cache's subscription (for a graceful shutdown). */
  shutdown?: AbortSignal
  /**
   * Staleness bound of the cached routes in ms (default 1000; 0: read Redis on every request). See `ResultsCache`.
   */
  cacheMaxStalenessMs?: number
  /** Most `/ctr/stream` clients at once (default 200); one more is a 503 `too_many_streams`. */
  maxStreamClients?: number
}

/** Title and version of the OpenAPI document. */
export const API_INFO = {
  title: 'CTR API',
  version: '0.1.0',
  description: 'Click-through rates per product and 10 s window, read from Redis.',
}

/**
 * Builds the HTTP API of docs/contract.md §4 plus history, top, live stream, pipeline status, docs and dashboard.
 * Route errors are `{"error": {"code", "message"}}`; nothing a client sends can produce a 500.
 *
 * @example
 * const app = createApi({ redis: createRedisClient('redis://127.0.0.1:6379') })
 * const res = await app.request('/ctr/latest')
 */
export function createApi(options: ApiOptions): OpenAPIHono {
  const { redis, logger } = options
  const metrics = options.metrics ?? new ApiMetrics()
  const watch = new RedisWatch(redis)
  const onRedisError = () => metrics.redisErrors.inc()
  const onBadResult = (key: string, field: string, reason: string) => {
    metrics.badResults.inc({ key: key.startsWith('ctr:history:') ? 'ctr:history' : key })
    logger?.warn({ key, field, reason }, `skipped an invalid result in ${key}: ${reason}`)
  }
  const store = new CtrStore(redis, { onRedisError, redisProblem: () => watch.problem(), onBadResult })
  const hub = new UpdatesHub(redis, options.updatesChannel)
  options.shutdown?.addEventListener('abort', () => hub.close(), { once: true })
  const cache = new ResultsCache({
    redis,
    hub,
    onBadResult,
    ...(options.cacheMaxStalenessMs !== undefined && { maxStalenessMs: options.cacheMaxStalenessMs }),
    unavailable: () => {
      const problem = watch.problem()
      return problem === null ? null : redisUnavailable(problem)
    },
    redisError: (err) => {
      onRedisError()
      return redisApiError(err, watch.problem())
    },
  })

  const app = new OpenAPIHono()
  app.use(metrics.middleware())
  // A line per request only at debug level: at info a middleware that logs nothing would still cost every request
  // a layer; 5xx errors are logged where they are rendered (renderError).
  const logRequests = logger?.debug !== undefined && logger.isLevelEnabled?.('debug') !== false
  if (logger && logRequests) app.use(requestLogger(logger))
  if (options.cors) {
    const origins = options.cors.split(',').map((o) => o.trim())
    app.use(cors({ origin: origins.includes('*') ? '*' : origins, allowMethods: ['GET', 'HEAD', 'OPTIONS'] }))
  }

  // Order matters: /ctr/stream (like /ctr/latest, /ctr/previous and /ctr/top inside ctrRoutes) must be
  // registered before /ctr/{product_id}, which would otherwise take "stream" for a product id.
  app.route(
    '/',
    streamRoutes({
      hub,
      watch,
      metrics,
      ...(options.shutdown && { shutdown: options.shutdown }),
      ...(options.maxStreamClients !== undefined && { maxClients: options.maxStreamClients }),
    }),
  )
  app.route('/', ctrRoutes({ cache, store }))
  app.route('/', healthRoutes({ watch, onRedisError }))
  app.route('/', metricsRoutes({ metrics }))
  app.route('/', pipelineRoutes({ jobStatusUrl: options.jobStatusUrl ?? 'http://127.0.0.1:8001/status', metrics }))
  app.route('/', dashboardRoutes())
  app.route('/', docsRoutes({ document: () => app.getOpenAPI31Document({ openapi: '3.1.0', info: API_INFO }) }))

  const getPaths = app.routes
    .filter((r) => r.method === 'GET' && !r.path.includes('*'))
    .map((r) => new RegExp(`^${r.path.replace(/[.+?^${}()|[\]\\]/g, '\\$&').replace(/:[^/]+/g, '[^/]+')}$`))

  app.notFound((c) => {
    const path = c.req.path
    if (c.req.method !== 'GET' && c.req.method !== 'HEAD' && getPaths.some((re) => re.test(path))) {
      c.header('Allow', 'GET, HEAD')
      return c.json(errorBody('method_not_allowed', `${c.req.method} is not allowed here; use GET`), 405)
    }
    return c.json(errorBody('not_found', `no route for ${c.req.method} ${truncate(path)}`), 404)
  })
  app.onError((err, c) => renderError(err, c, logRequests ? undefined : logger))
  return app
}

const truncate = (s: string) => (s.length > 200 ? `${s.slice(0, 200)}…` : s)

/** The error response; a 5xx `ApiError` is logged as a warning when `logger` is given (no request log runs). */
function renderError(err: Error, c: Context, logger?: Logger): Response {
  if (err instanceof ApiError) {
    if (err.status >= 500) {
      const path = truncate(c.req.path)
      logger?.warn(
        { method: c.req.method, path, status: err.status, code: err.code },
        `${c.req.method} ${path} ${err.status} ${err.code}: ${err.message}`,
      )
    }
    return c.json(err.body(), err.status)
  }
  if (err instanceof HTTPException) {
    const status = err.status
    const code = status === 404 ? 'not_found' : status < 500 ? 'invalid_query' : 'internal_error'
    return c.json(errorBody(code, err.message || 'request failed'), status)
  }
  // Last resort: a bug. The stack goes to the log, never to the client.
  logger?.error({ err: { message: err.message, stack: err.stack }, path: c.req.path }, 'unhandled error')
  return c.json(errorBody('internal_error', 'internal error'), 500)
}
