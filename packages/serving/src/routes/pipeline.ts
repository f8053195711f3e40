import { createRoute, type z } from '@hono/zod-openapi'
import { ApiError, publicReason } from '../errors.js'
import type { ApiMetrics } from '../metrics.js'
import { createRouter } from '../router.js'
import { ErrorResponse, PipelineStatus } from '../schemas.js'

const TIMEOUT_MS = 2000

const pipelineRoute = createRoute({
  method: 'get',
  path: '/pipeline/status',
  tags: ['operations'],
  summary: "The CTR job's status (watermark, partitions, open windows, counters), proxied",
  responses: {
    200: { description: "the job's /status JSON", content: { 'application/json': { schema: PipelineStatus } } },
    502: {
      description: 'the job answered, but not with its status JSON',
      content: { 'application/json': { schema: ErrorResponse } },
    },
    503: { description: 'the job is unreachable', content: { 'application/json': { schema: ErrorResponse } } },
  },
})

/**
 * `GET /pipeline/status`: the job's `/status`, fetched server-side so the dashboard needs no CORS.
 *
 * @example
 * app.route('/', pipelineRoutes({ jobStatusUrl: 'http://127.0.0.1:8001/status', metrics }))
 */
export function pipelineRoutes({ jobStatusUrl, metrics }: { jobStatusUrl: string; metrics: ApiMetrics }) {
  const router = createRouter()
  router.openapi(pipelineRoute, async (c) => {
    let res: Response
    try {
      res = await fetch(jobStatusUrl, {
        signal: AbortSignal.timeout(TIMEOUT_MS),
        headers: { accept: 'application/json' },
      })
    } catch (err) {
      metrics.jobStatusErrors.inc()
      const cause = (err as Error & { cause?: Error }).cause?.message ?? (err as Error).message
      // Where the job is stays out of the body (the API's JOB_STATUS_URL setting says it).
      throw new ApiError(503, 'job_unreachable', `the CTR job's status is unreachable: ${publicReason(cause)}`)
    }
    let body: unknown
    try {
      body = res.ok ? await res.json() : undefined
    } catch {
      body = undefined
    }
    // Passed through as-is when it is a JSON object: the schema documents it, but a job of another version may
    // send other fields or types, and the dashboard copes with any of them missing.
    const isObject = typeof body === 'object' && body !== null && !Array.isArray(body)
    if (!res.ok || !isObject) {
      metrics.jobStatusErrors.inc()
      const why = res.ok ? 'not a status JSON object' : `HTTP ${res.status}`
      throw new ApiError(502, 'job_bad_response', `the CTR job's status endpoint answered ${why}`)
    }
    c.header('Cache-Control', 'no-store')
    return c.json(body as z.infer<typeof PipelineStatus>, 200)
  })
  return router
}
