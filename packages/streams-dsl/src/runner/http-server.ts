import { createServer, type Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import type { Registry } from 'prom-client'

/** A started status server: the port and the address it listens on. */
export type StatusServer = { readonly port: number; readonly host: string; close(): Promise<void> }

/**
 * Serves `GET /metrics` (Prometheus text) and `GET /status` (JSON) on `port` (0 = a free one) of `host` (default
 * 127.0.0.1: loopback only; `0.0.0.0` opens it to every interface). Anything else is a JSON 404; a failure inside a
 * handler is a JSON 500 with a one-line message.
 *
 * @example
 * const server = await startStatusServer(8001, registry, () => runner.status())
 */
export async function startStatusServer(
  port: number,
  registry: Registry,
  status: () => unknown,
  host = '127.0.0.1',
): Promise<StatusServer> {
  const server: Server = createServer((req, res) => {
    const path = (req.url ?? '/').split('?')[0]
    const send = (code: number, type: string, body: string) => {
      res.writeHead(code, { 'content-type': type, 'cache-control': 'no-store' })
      res.end(body)
    }
    const fail = (e: unknown) =>
      send(
        500,
        'application/json',
        JSON.stringify({ error: { code: 'internal', message: String((e as Error)?.message ?? e) } }),
      )
    if (req.method !== 'GET')
      return send(
        405,
        'application/json',
        JSON.stringify({ error: { code: 'method_not_allowed', message: 'only GET' } }),
      )
    if (path === '/metrics') {
      registry.metrics().then((text) => send(200, registry.contentType, text), fail)
      return
    }
    if (path === '/status') {
      try {
        return send(200, 'application/json', JSON.stringify(status(), null, 2))
      } catch (e) {
        return fail(e)
      }
    }
    send(
      404,
      'application/json',
      JSON.stringify({ error: { code: 'not_found', message: `no route ${path}; try /status or /metrics` } }),
    )
  })
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject)
    server.listen(port, host, () => {
      server.off('error', reject)
      resolve()
    })
  })
  return {
    port: (server.address() as AddressInfo).port,
    host: (server.address() as AddressInfo).address,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve())
        server.closeAllConnections()
      }),
  }
}
