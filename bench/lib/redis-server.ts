import { spawn } from 'node:child_process'
import { Redis } from 'ioredis'
import { freePort } from './processes.js'

/**
 * A private, empty redis-server on a free port (`redis-server` must be installed; the shared one is never
 * touched), nothing kept on disk, and an admin client on it once it answers. `stop()` ends both.
 */
export async function privateRedis(): Promise<{ url: string; admin: Redis; stop(): void }> {
  const port = await freePort()
  const server = spawn(
    'redis-server',
    ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'],
    { stdio: 'ignore' },
  )
  const admin = new Redis(port, { retryStrategy: (n) => (n > 50 ? null : 100) })
  admin.on('error', () => {}) // refused until the server listens; ping below waits for it
  await admin.ping()
  return {
    url: `redis://127.0.0.1:${port}`,
    admin,
    stop() {
      admin.disconnect()
      server.kill('SIGKILL')
    },
  }
}
