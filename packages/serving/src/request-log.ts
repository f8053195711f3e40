import type { MiddlewareHandler } from 'hono'
import type { Logger } from './redis.js'

/**
 * Logs one line per request at `debug` (method, path truncated, status, duration in ms), 5xx answers as warnings.
 * `createApi` installs it only when the logger has `debug` on: one synchronous write per request would cost more
 * than the request itself on the hot routes.
 *
 * @example
 * app.use(requestLogger(pino({ level: 'debug' })))
 */
export function requestLogger(logger: Logger): MiddlewareHandler {
  return async (c, next) => {
    const start = performance.now()
    await next()
    const ms = Math.round((performance.now() - start) * 10) / 10
    const status = c.res.status
    const path = c.req.path.length > 200 ? `${c.req.path.slice(0, 200)}…` : c.req.path
    const line = { method: c.req.method, path, status, ms }
    const msg = `${c.req.method} ${path} ${status} ${ms}ms`
    if (status >= 500) logger.warn(line, msg)
    else logger.debug?.(line, msg)
  }
}
