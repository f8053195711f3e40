import { createRoute, z } from '@hono/zod-openapi'
import { streamSSE } from 'hono/streaming'
import { ApiError } from '../errors.js'
import type { ApiMetrics } from '../metrics.js'
import type { RedisWatch } from '../redis.js'
import { createRouter, errorResponses } from '../router.js'
import { parseResult, redisUnavailable } from '../store.js'
import type { UpdatesHub } from '../updates.js'

const KEEP_ALIVE_MS = 15_000
const MAX_PENDING = 10_000

const streamRoute = createRoute({
  method: 'get',
  path: '/ctr/stream',
  tags: ['ctr'],
  summary: 'Live results as Server-Sent Events',
  description:
    'One `ready` event when subscribed, then one `ctr` event per new or changed result (data: the result JSON, ' +
    'as published by the job on the Redis channel `ctr:updates`), and a comment line every 15 s as keep-alive.',
  responses: {
    200: {
      description: 'text/event-stream',
      content: {
        'text/event-stream': { schema: z.string().openapi({ example: 'event: ctr\ndata: {"product_id":…}\n\n' }) },
      },
    },
    503: {
      description:
        'Redis is unreachable (`redis_unavailable`), or `SSE_MAX_CLIENTS` streams are open (`too_many_streams`)',
      content: errorResponses[503].content,
    },
  },
})

/** Default of {@link StreamDeps.maxClients}. */
export const DEFAULT_MAX_STREAM_CLIENTS = 200

/** Dependencies of {@link streamRoutes}. */
export type StreamDeps = {
  hub: UpdatesHub
  watch: RedisWatch
  metrics: ApiMetrics
  shutdown?: AbortSignal
  /** Most streams open at once (default 200); one more is a 503 `too_many_streams` with `Retry-After`. */
  maxClients?: number
}

/**
 * `GET /ctr/stream`: every result published on `ctr:updates`, as SSE `ctr` events. Invalid messages are skipped
 * and counted; a client that disconnects is unsubscribed at once; the stream ends when `shutdown` aborts.
 *
 * @example
 * app.route('/', streamRoutes({ hub: new UpdatesHub(redis), watch, metrics }))
 */
export function streamRoutes({ hub, watch, metrics, shutdown, maxClients = DEFAULT_MAX_STREAM_CLIENTS }: StreamDeps) {
  const router = createRouter()
  // Streams open or being opened: counted before the first await, so concurrent requests cannot pass the cap.
  let clients = 0
  router.openapi(streamRoute, async (c) => {
    const problem = watch.problem()
    if (problem) throw redisUnavailable(problem)
    // Hono answers HEAD with the GET handler and drops the body unread: a stream opened here would never end.
    if (c.req.method === 'HEAD') {
      return c.body(null, 200, { 'Content-Type': 'text/event-stream', 'Cache-Control': 'no-cache' })
    }
    if (clients >= maxClients) {
      metrics.sseRejected.inc()
      c.header('Retry-After', '10')
      throw new ApiError(
        503,
        'too_many_streams',
        `${maxClients} live streams are open, the most this API serves at once (SSE_MAX_CLIENTS); retry later`,
      )
    }
    clients++
    let counted = true
    const release = () => {
      if (counted) clients--
      counted = false
    }
    const pending: string[] = []
    let wake: (() => void) | null = null
    const push = (message: string) => {
      if (pending.length >= MAX_PENDING) pending.shift() // a client this far behind loses the oldest updates
      pending.push(message)
      wake?.()
    }
    let unsubscribe: () => void
    try {
      unsubscribe = await hub.subscribe(push)
    } catch (err) {
      release()
      metrics.redisErrors.inc()
      throw redisUnavailable(`cannot subscribe to updates: ${(err as Error).message}`)
    }
    metrics.sseClients.inc()
    return streamSSE(c, async (stream) => {
      let open = true
      const finish = () => {
        open = false
        wake?.()
      }
      stream.onAbort(finish)
      shutdown?.addEventListener('abort', finish, { once: true })
      const keepAlive = setInterval(() => {
        void stream.write(': keep-alive\n\n')
      }, KEEP_ALIVE_MS)
      try {
        await stream.writeSSE({ event: 'ready', data: JSON.stringify({ channel: hub.channel }), retry: 2000 })
        while (open && !shutdown?.aborted) {
          if (pending.length === 0) {
            await new Promise<void>((resolve) => {
              wake = resolve
            })
            wake = null
            continue
          }
          const message = pending.shift() as string
          const parsed = parseResult(message)
          if (!parsed.ok) {
            metrics.badResults.inc({ key: 'ctr:updates' })
            continue
          }
          await stream.writeSSE({ event: 'ctr', data: JSON.stringify(parsed.value) })
        }
      } finally {
        clearInterval(keepAlive)
        shutdown?.removeEventListener('abort', finish)
        unsubscribe()
        release()
        metrics.sseClients.dec()
      }
    })
  })
  return router
}
