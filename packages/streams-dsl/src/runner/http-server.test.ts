import { networkInterfaces } from 'node:os'
import { Registry } from 'prom-client'
import { describe, expect, it } from 'vitest'
import { startStatusServer } from './http-server.js'

// An address of this machine that is not loopback, if it has one (a container or VM always has).
const external = Object.values(networkInterfaces())
  .flat()
  .find((a) => a && a.family === 'IPv4' && !a.internal)?.address

const reachable = (host: string, port: number) =>
  fetch(`http://${host}:${port}/status`, { signal: AbortSignal.timeout(2000) }).then(
    (r) => r.status,
    () => 'refused',
  )

describe('startStatusServer', () => {
  it('listens on loopback only unless a host opens it', async () => {
    const local = await startStatusServer(0, new Registry(), () => ({ ok: true }))
    const open = await startStatusServer(0, new Registry(), () => ({ ok: true }), '0.0.0.0')
    try {
      expect(local.host).toBe('127.0.0.1')
      expect(open.host).toBe('0.0.0.0')
      expect(await reachable('127.0.0.1', local.port)).toBe(200)
      expect(external, 'a non-loopback IPv4 address to test with').toBeDefined()
      expect(await reachable(external as string, local.port)).toBe('refused')
      expect(await reachable(external as string, open.port)).toBe(200)
    } finally {
      await local.close()
      await open.close()
    }
  })
})
