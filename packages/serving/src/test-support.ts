// Helpers for this package's integration tests and benchmark (not part of the public API).
import { type ChildProcess, spawn } from 'node:child_process'
import { createServer } from 'node:net'
import { Redis } from 'ioredis'
import type { CtrResult } from './schemas.js'

/** A free TCP port on the loopback interface. */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer()
    srv.once('error', reject)
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address() as { port: number }
      srv.close(() => resolve(port))
    })
  })
}

/** A result JSON for tests; `ctr` derived unless given. */
export function result(productId: string, windowStart: number, impressions: number, clicks: number): CtrResult {
  return {
    product_id: productId,
    impressions,
    clicks,
    ctr: impressions === 0 ? null : clicks / impressions,
    window_start: windowStart,
    window_end: windowStart + 10_000,
  }
}

/** A redis-server of the test's own (no persistence) that it may stop and start again on the same port. */
export class PrivateRedis {
  private proc: ChildProcess | null = null
  private constructor(readonly port: number) {}

  /** Starts one on the given port, or a free one. */
  static async start(port?: number): Promise<PrivateRedis> {
    const r = new PrivateRedis(port ?? (await freePort()))
    await r.start()
    return r
  }

  get url(): string {
    return `redis://127.0.0.1:${this.port}`
  }

  /** Starts the server (again) and waits until it answers. */
  async start(): Promise<void> {
    const proc = spawn(
      'redis-server',
      ['--port', String(this.port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'],
      {
        stdio: 'ignore',
      },
    )
    this.proc = proc
    let spawnError: Error | undefined
    proc.on('error', (err) => {
      spawnError = err
    })
    const deadline = Date.now() + 10_000
    for (;;) {
      const probe = new Redis({ port: this.port, host: '127.0.0.1', lazyConnect: true, retryStrategy: () => null })
      probe.on('error', () => {})
      try {
        await probe.connect()
        await probe.ping()
        return
      } catch (err) {
        if (spawnError) throw new Error(`cannot run redis-server (apt-get install redis-server): ${spawnError.message}`)
        if (proc.exitCode !== null) throw new Error(`redis-server on port ${this.port} exited (${proc.exitCode})`)
        if (Date.now() > deadline) throw new Error(`redis-server on port ${this.port} did not start: ${err}`)
        await new Promise((r) => setTimeout(r, 50))
      } finally {
        probe.disconnect()
      }
    }
  }

  /** Stops the server and waits for it to exit. */
  async stop(): Promise<void> {
    const proc = this.proc
    this.proc = null
    if (!proc || proc.exitCode !== null) return
    await new Promise<void>((resolve) => {
      proc.once('exit', () => resolve())
      proc.kill('SIGKILL')
    })
  }
}

/** Polls `check` until it returns true or `timeoutMs` passes (then throws with `what`). */
export async function eventually(what: string, check: () => Promise<boolean>, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs
  while (!(await check().catch(() => false))) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`)
    await new Promise((r) => setTimeout(r, 50))
  }
}
