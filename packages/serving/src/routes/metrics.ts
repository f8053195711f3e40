import { createRoute, z } from '@hono/zod-openapi'
import type { ApiMetrics } from '../metrics.js'
import { createRouter } from '../router.js'

const metricsRoute = createRoute({
  method: 'get',
  path: '/metrics',
  tags: ['operations'],
  summary: 'Prometheus metrics (request counts and latency by route and status, Redis errors, process)',
  responses: {
    200: {
      description: 'Prometheus text exposition format',
      content: { 'text/plain': { schema: z.string().openapi({ example: 'ctr_api_redis_errors_total 0' }) } },
    },
  },
})

/**
 * `GET /metrics`: the API's Prometheus metrics.
 *
 * @example
 * app.route('/', metricsRoutes({ metrics }))
 */
export function metricsRoutes({ metrics }: { metrics: ApiMetrics }) {
  const router = createRouter()
  router.openapi(metricsRoute, async (c) => {
    const body = await metrics.registry.metrics()
    return c.text(body, 200, { 'Content-Type': metrics.registry.contentType })
  })
  return router
}
