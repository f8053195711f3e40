import { createServer, type Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import { getRequestListener, RequestError } from '@hono/node-server'
import { errorBody } from './errors.js'

/** A running HTTP server of the API. */
export type RunningServer = { server: Server; port: number; url: string; close: () => Promise<void> }

const json = (status: number, body: unknown) =>
  new Response(JSON.stringify(body), { status, headers: { 'Content-Type': 'application/json' } })

/**
 * Serves a Hono app on Node's HTTP server. A request Node accepts but no URL can be built from (a backslash in the
 * path, an odd Host header) gets a JSON 400 rather than an empty body; `close()` ends open connections too.
 *
 * @example
 * const { url, close } = await startServer(app, { port: 0, host: '127.0.0.1' })
 */
export async function startServer(
  app: { fetch: Parameters<typeof getRequestListener>[0] },
  opts: { port: number; host?: string },
): Promise<RunningServer> {
  const listener = getRequestListener(app.fetch, {
    errorHandler: (err) =>
      err instanceof RequestError
        ? json(400, errorBody('bad_request', `malformed request: ${err.message}`))
        : json(500, errorBody('internal_error', 'internal error')),
  })
  const server = createServer(listener)
  // Server-Sent Events stay open for hours; no request timeout may cut them.
  server.requestTimeout = 0
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject)
    server.listen(opts.port, opts.host, () => {
      server.off('error', reject)
      resolve()
    })
  })
  const { port } = server.address() as AddressInfo
  const host = opts.host === undefined || opts.host === '0.0.0.0' || opts.host === '::' ? '127.0.0.1' : opts.host
  const close = () =>
    new Promise<void>((resolve) => {
      server.close(() => resolve())
      server.closeIdleConnections()
      // Connections still busy after 2 s (an SSE client that ignored the end of its stream) are cut.
      setTimeout(() => server.closeAllConnections(), 2000).unref()
    })
  return { server, port, url: `http://${host.includes(':') ? `[${host}]` : host}:${port}`, close }
}
