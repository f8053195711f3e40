import type { MiddlewareHandler } from 'hono'
import { routePath } from 'hono/route'
import { Counter, collectDefaultMetrics, Gauge, Histogram, Registry } from 'prom-client'

/**
 * The API's Prometheus metrics, in a registry of its own (so several apps in one process never collide).
 *
 * @example
 * const metrics = new ApiMetrics()
 * app.use(metrics.middleware())
 * await metrics.registry.metrics() // Prometheus text
 */
export class ApiMetrics {
  readonly registry = new Registry()
  readonly latency = new Histogram({
    name: 'ctr_api_http_request_duration_seconds',
    help: 'HTTP request latency (until the response headers) by method, route pattern and status',
    labelNames: ['method', 'route', 'status'] as const,
    buckets: [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5],
    registers: [this.registry],
  })
  /**
   * The latency histogram's `_count` per label set, read when scraped: one metric call per request, not two
   * (each hashes the labels).
   */
  readonly requests: Counter<'method' | 'route' | 'status'> = new Counter({
    name: 'ctr_api_http_requests_total',
    help: 'HTTP requests by method, route pattern and status',
    labelNames: ['method', 'route', 'status'] as const,
    registers: [this.registry],
    collect: async () => {
      const { values } = await this.latency.get()
      this.requests.reset()
      for (const v of values) {
        if (v.metricName === 'ctr_api_http_request_duration_seconds_count' && v.value > 0)
          this.requests.inc(v.labels as Record<'method' | 'route' | 'status', string>, v.value)
      }
    },
  })
  readonly redisErrors = new Counter({
    name: 'ctr_api_redis_errors_total',
    help: 'Failed Redis commands (each answered with a 503)',
    registers: [this.registry],
  })
  readonly badResults = new Counter({
    name: 'ctr_api_bad_results_total',
    help: 'Stored values that are not valid results (skipped, not served)',
    labelNames: ['key'] as const,
    registers: [this.registry],
  })
  readonly jobStatusErrors = new Counter({
    name: 'ctr_api_job_status_errors_total',
    help: "Failed proxy calls to the job's /status",
    registers: [this.registry],
  })
  readonly sseClients = new Gauge({
    name: 'ctr_api_sse_clients',
    help: 'Open /ctr/stream connections',
    registers: [this.registry],
  })
  readonly sseRejected = new Counter({
    name: 'ctr_api_sse_rejected_total',
    help: '/ctr/stream requests answered 503 because SSE_MAX_CLIENTS streams were open',
    registers: [this.registry],
  })

  constructor(opts: { processMetrics?: boolean } = {}) {
    if (opts.processMetrics ?? true) collectDefaultMetrics({ register: this.registry, prefix: 'ctr_api_' })
  }

  /** Times every request (and so counts it), labelled with the matched route pattern (bounded cardinality). */
  middleware(): MiddlewareHandler {
    return async (c, next) => {
      const start = performance.now()
      await next()
      // The route whose handler answered (routeIndex is left on it), not the last route that matches the path:
      // /ctr/latest also matches /ctr/:product_id. It is this middleware's own '*' when no route matched.
      const path = routePath(c)
      const route = path === '*' || path === '/*' || path === '' ? 'unmatched' : path
      const labels = { method: c.req.method, route, status: String(c.res.status) }
      this.latency.observe(labels, (performance.now() - start) / 1000)
    }
  }
}
