import { historyKey, REDIS_KEYS } from '@ctr/ctr-topology/contract'
import type { Redis } from 'ioredis'
import { ApiError, publicReason } from './errors.js'
import { CtrResult } from './schemas.js'

const PARSE_CACHE_SIZE = 10_000

/** Called for a stored value that is not a valid result (skipped, never served; reported once per distinct value). */
export type BadResultHandler = (key: string, field: string, reason: string) => void

/** Called for every failed Redis command (before it becomes a 503). */
export type RedisErrorHandler = (err: unknown) => void

/** Options of {@link CtrStore}. */
export type CtrStoreOptions = {
  onBadResult?: BadResultHandler
  onRedisError?: RedisErrorHandler
  /** Why Redis is unreachable right now, if known (see `RedisWatch`); used in the 503 message. */
  redisProblem?: () => string | null
}

/**
 * Parses one stored result JSON; `null` plus the reason when it is not a valid result.
 *
 * @example
 * parseResult('{"product_id":"p","impressions":1,"clicks":0,"ctr":0,"window_start":0,"window_end":10000}')
 */
export function parseResult(raw: string): { ok: true; value: CtrResult } | { ok: false; reason: string } {
  let json: unknown
  try {
    json = JSON.parse(raw)
  } catch {
    return { ok: false, reason: 'invalid JSON' }
  }
  const parsed = CtrResult.safeParse(json)
  if (parsed.success) return { ok: true, value: parsed.data }
  const issue = parsed.error.issues[0]
  const path = issue?.path.length ? `${issue.path.join('.')}: ` : ''
  return { ok: false, reason: `${path}${issue?.message ?? 'invalid result'}` }
}

/** `latest.ctr - previous.ctr`, or `null` when either is missing or null. */
export function ctrChange(latest: CtrResult | null, previous: CtrResult | null): number | null {
  if (latest?.ctr == null || previous?.ctr == null) return null
  return latest.ctr - previous.ctr
}

/**
 * The reads of Redis that are not served from the {@link ResultsCache}: a product's history (`ctr:history:<id>`)
 * and whether it has a latest result. Every Redis failure becomes an {@link ApiError} 503 (`redis_unavailable` when
 * the connection is down, `redis_error` when Redis answered with an error).
 *
 * @example
 * const store = new CtrStore(redis)
 * const items = await store.history('p-17', 50)
 */
export class CtrStore {
  constructor(
    private readonly redis: Redis,
    private readonly options: CtrStoreOptions = {},
  ) {}

  /** Up to `limit` results of one product from its history, newest window first. */
  async history(productId: string, limit: number): Promise<CtrResult[]> {
    const key = historyKey(productId)
    const members = await this.call(() => this.redis.zrevrange(key, 0, limit - 1))
    const out: CtrResult[] = []
    for (const member of members) {
      const result = this.parse(key, productId, member)
      if (result) out.push(result)
    }
    return out
  }

  /** Whether the product has a latest result. */
  async hasLatest(productId: string): Promise<boolean> {
    return (await this.call(() => this.redis.hexists(REDIS_KEYS.latest, productId))) === 1
  }

  // Raw value -> its parse, for the history reads: a value is parsed (and a bad one reported) once while it
  // is in here. Bounded: emptied when full, which only costs a re-parse.
  private readonly parsed = new Map<string, CtrResult | null>()

  private parse(key: string, field: string, raw: string): CtrResult | null {
    const hit = this.parsed.get(raw)
    if (hit !== undefined) return hit
    const parsed = parseResult(raw)
    if (!parsed.ok) this.options.onBadResult?.(key, field, parsed.reason)
    const value = parsed.ok ? parsed.value : null
    if (this.parsed.size >= PARSE_CACHE_SIZE) this.parsed.clear()
    this.parsed.set(raw, value)
    return value
  }

  private async call<T>(fn: () => Promise<T>): Promise<T> {
    try {
      return await fn()
    } catch (err) {
      this.options.onRedisError?.(err)
      throw redisApiError(err, this.options.redisProblem?.())
    }
  }
}

/** Maps a Redis client error to the API's 503; the message names no address (see `publicReason`). */
export function redisApiError(err: unknown, problem?: string | null): ApiError {
  const message = err instanceof Error ? err.message : String(err)
  if (err instanceof Error && err.name === 'ReplyError') {
    return new ApiError(503, 'redis_error', `Redis answered with an error: ${publicReason(message)}`)
  }
  return redisUnavailable(problem ?? message)
}

/** The 503 `redis_unavailable` for a connection problem (see `RedisWatch.problem`). */
export function redisUnavailable(problem: string): ApiError {
  return new ApiError(503, 'redis_unavailable', `Redis is unreachable: ${publicReason(problem)}`)
}
