import { randomBytes } from 'node:crypto'
import { Redis } from 'ioredis'
import { onTestFinished } from 'vitest'
import { redisUrl } from './context.js'
import { waitFor } from './wait.js'

/** An ioredis client on a database no other test uses, with its URL and a `release()`. */
export type TestRedis = Redis & {
  /** `redis://host:port/<db>`: hand it to the code under test (docs/contract.md §5.2: a database number in REDIS_URL is honoured). */
  readonly url: string
  readonly db: number
  /** Empties the database, closes the client and frees the database for other tests. Idempotent. */
  release(): Promise<void>
}

/** Leases live in database 0 (never flush database 0 in a test). */
const LEASE_PREFIX = 'test-harness:db-lease:'
const LEASE_TTL_MS = 90_000
const FIRST_DB = 1
const LAST_DB = 15

function withDb(url: string, db: number): string {
  const u = new URL(url)
  u.pathname = `/${db}`
  return u.toString()
}

async function lease(admin: Redis, token: string): Promise<number | null> {
  for (let db = FIRST_DB; db <= LAST_DB; db++) {
    if ((await admin.set(`${LEASE_PREFIX}${db}`, token, 'PX', LEASE_TTL_MS, 'NX')) === 'OK') return db
  }
  return null
}

// Deletes the lease only if it is still ours (it may have expired and been taken).
const RELEASE_SCRIPT = "if redis.call('get', KEYS[1]) == ARGV[1] then return redis.call('del', KEYS[1]) end return 0"
const RENEW_SCRIPT =
  "if redis.call('get', KEYS[1]) == ARGV[1] then return redis.call('pexpire', KEYS[1], ARGV[2]) end return 0"

/**
 * A Redis client on a clean database of its own: one of databases 1-15, leased
 * atomically in database 0 (so tests in parallel workers never share one), and
 * flushed. Inside a test it is released when the test ends; elsewhere (e.g.
 * `beforeAll`) call `release()` in the matching `afterAll`. The lease is
 * renewed while the client lives and expires 90 s after a crashed worker.
 *
 * @example
 * const redis = await freshRedis()
 * await startApi({ redisUrl: redis.url })
 */
export async function freshRedis(opts: { timeoutMs?: number } = {}): Promise<TestRedis> {
  const base = redisUrl()
  const admin = new Redis(withDb(base, 0), { lazyConnect: true, maxRetriesPerRequest: 1 })
  await admin.connect()
  const token = `${process.pid}-${randomBytes(6).toString('hex')}`
  let db: number
  try {
    db = await waitFor(() => lease(admin, token), {
      timeoutMs: opts.timeoutMs ?? 60_000,
      intervalMs: 200,
      message: `a free Redis database (1-${LAST_DB}) at ${base}`,
    })
  } catch (err) {
    admin.disconnect()
    throw err
  }
  const key = `${LEASE_PREFIX}${db}`
  const url = withDb(base, db)
  const client = new Redis(url, { maxRetriesPerRequest: 3 })
  await client.flushdb()
  const renew = setInterval(() => {
    admin.eval(RENEW_SCRIPT, 1, key, token, String(LEASE_TTL_MS)).catch(() => {})
  }, LEASE_TTL_MS / 3)
  renew.unref()
  let released = false
  const release = async () => {
    if (released) return
    released = true
    clearInterval(renew)
    if (client.status === 'ready') await client.flushdb().catch(() => {})
    client.disconnect()
    await admin.eval(RELEASE_SCRIPT, 1, key, token).catch(() => {})
    admin.disconnect()
  }
  try {
    onTestFinished(release)
  } catch {
    // Not inside a test: the caller releases it.
  }
  return Object.assign(client, { url, db, release }) as TestRedis
}
