import { createRoute } from '@hono/zod-openapi'
import { errorBody, publicReason } from '../errors.js'
import type { RedisWatch } from '../redis.js'
import { createRouter } from '../router.js'
import { Health, Unhealthy } from '../schemas.js'

const healthRoute = createRoute({
  method: 'get',
  path: '/healthz',
  tags: ['operations'],
  summary: 'Liveness and Redis reachability',
  responses: {
    200: { description: 'Redis answers', content: { 'application/json': { schema: Health } } },
    503: {
      description: 'Redis is unreachable; `reason` says why (the body is also a contract error body)',
      content: { 'application/json': { schema: Unhealthy } },
    },
  },
})

/**
 * `GET /healthz`: `{"status":"ok"}` when Redis answers a PING, else 503 with the reason.
 *
 * @example
 * app.route('/', healthRoutes({ watch: new RedisWatch(redis), onRedisError }))
 */
export function healthRoutes({ watch, onRedisError }: { watch: RedisWatch; onRedisError?: (err: unknown) => void }) {
  const router = createRouter()
  router.openapi(healthRoute, async (c) => {
    let reason = watch.problem()
    if (reason === null) {
      try {
        await watch.redis.ping()
        return c.json({ status: 'ok' as const }, 200)
      } catch (err) {
        onRedisError?.(err)
        reason = err instanceof Error ? err.message : String(err)
      }
    }
    const message = `Redis is unreachable: ${publicReason(reason)}`
    return c.json({ status: 'unavailable' as const, reason: message, ...errorBody('redis_unavailable', message) }, 503)
  })
  return router
}
