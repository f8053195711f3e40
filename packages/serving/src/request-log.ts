import type { MiddlewareHandler } from 'hono'
import type { Logger } from './redis.js'

/**
 * Logs requests: every one at `debug` (method, path truncated, status, duration in ms) when the logger has that
 * level on, and 5xx answers always, as warnings. At the default `info` level a request writes no log line: one
 * synchronous write per request would cost more than the request itself on the hot routes.
 *
 * @example
 * app.use(requestLogger(pino({ level: 'debug' })))
 */
export function requestLogger(logger: Logger): MiddlewareHandler {
  return async (c, next) => {
    const debug = logger.debug && (logger.isLevelEnabled?.('debug') ?? true)
    const start = debug ? performance.now() : 0
    await next()
    const status = c.res.status
    if (status < 500 && !debug) return
    const path = c.req.path.length > 200 ? `${c.req.path.slice(0, 200)}…` : c.req.path
    const line = {
      method: c.req.method,
      path,
      status,
      ...(debug && { ms: Math.round((performance.now() - start) * 10) / 10 }),
    }
    const msg = `${c.req.method} ${path} ${status}${debug ? ` ${line.ms}ms` : ''}`
    if (status >= 500) logger.warn(line, msg)
    else logger.debug?.(line, msg)
  }
}
