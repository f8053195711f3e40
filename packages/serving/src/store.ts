import type { Redis } from 'ioredis'
import { ApiError } from './errors.js'
import { CtrResult } from './schemas.js'

/** Redis keys the job writes (CONTRACTS.md §3) and the history the sink keeps. */
export const KEYS = {
  latest: 'ctr:latest',
  previous: 'ctr:previous',
  history: (productId: string) => `ctr:history:${productId}`,
  updates: 'ctr:updates',
} as const

/** The two hashes of results. */
export type ResultHash = typeof KEYS.latest | typeof KEYS.previous

const PARSE_CACHE_SIZE = 10_000

type CacheEntry = { raw: string; value: CtrResult | null; fragment: string }

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
  if (!parsed.success) return { ok: false, reason: parsed.error.issues[0]?.message ?? 'invalid result' }
  return { ok: true, value: parsed.data }
}

/** `latest.ctr - previous.ctr`, or `null` when either is missing or null. */
export function ctrChange(latest: CtrResult | null, previous: CtrResult | null): number | null {
  if (latest?.ctr == null || previous?.ctr == null) return null
  return latest.ctr - previous.ctr
}

/**
 * Read side of the CTR results in Redis. Every Redis failure becomes an {@link ApiError} 503
 * (`redis_unavailable` when the connection is down, `redis_error` when Redis answered with an error).
 *
 * @example
 * const store = new CtrStore(redis)
 * const { latest, previous } = await store.product('p-17')
 */
export class CtrStore {
  constructor(
    private readonly redis: Redis,
    private readonly options: CtrStoreOptions = {},
  ) {}

  /** All results of one hash (`ctr:latest` or `ctr:previous`) as `product_id -> result`. */
  async all(key: ResultHash): Promise<Record<string, CtrResult>> {
    const out: Record<string, CtrResult> = {}
    for (const [field, entry] of await this.entries(key)) if (entry.value) out[field] = entry.value
    return out
  }

  /**
   * The same as {@link all}, already serialized: the stored JSON of every valid result is passed through as it is,
   * so a value is parsed and validated once, not on every request (the /ctr/latest hot path).
   */
  async allJson(key: ResultHash): Promise<string> {
    const parts: string[] = []
    for (const entry of (await this.entries(key)).values()) if (entry.fragment) parts.push(entry.fragment)
    return `{${parts.join(',')}}`
  }

  // Per hash: field -> the last raw value seen, its parse and its `"field":json` fragment. A value that has not
  // changed since the previous request (most of them: a product's result changes once per window) is reused.
  private readonly cache = new Map<ResultHash, Map<string, CacheEntry>>()

  private async entries(key: ResultHash): Promise<Map<string, CacheEntry>> {
    const raw = await this.call(() => this.redis.hgetall(key))
    const previous = this.cache.get(key)
    const next = new Map<string, CacheEntry>()
    for (const field in raw) {
      const value = raw[field] as string
      let entry = previous?.get(field)
      if (entry?.raw !== value) {
        const parsed = this.parse(key, field, value)
        entry = { raw: value, value: parsed, fragment: parsed ? `${JSON.stringify(field)}:${value}` : '' }
      }
      next.set(field, entry)
    }
    this.cache.set(key, next)
    return next
  }

  /** The latest and previous result of one product (each `null` when absent). */
  async product(productId: string): Promise<{ latest: CtrResult | null; previous: CtrResult | null }> {
    const [latest, previous] = await this.call(() =>
      Promise.all([this.redis.hget(KEYS.latest, productId), this.redis.hget(KEYS.previous, productId)]),
    )
    return {
      latest: latest === null ? null : this.parse(KEYS.latest, productId, latest),
      previous: previous === null ? null : this.parse(KEYS.previous, productId, previous),
    }
  }

  /** Up to `limit` results of one product from its history, newest window first. */
  async history(productId: string, limit: number): Promise<CtrResult[]> {
    const key = KEYS.history(productId)
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
    return (await this.call(() => this.redis.hexists(KEYS.latest, productId))) === 1
  }

  /** The `limit` latest results with the highest ctr among those with at least `minImpressions` impressions. */
  async top(limit: number, minImpressions: number): Promise<CtrResult[]> {
    const latest = await this.all(KEYS.latest)
    return Object.values(latest)
      .filter((r) => r.ctr !== null && r.impressions >= minImpressions)
      .sort(
        (a, b) =>
          (b.ctr as number) - (a.ctr as number) ||
          b.impressions - a.impressions ||
          (a.product_id < b.product_id ? -1 : a.product_id > b.product_id ? 1 : 0),
      )
      .slice(0, limit)
  }

  // Raw value -> its parse, for the single-product reads: a value is parsed (and a bad one reported) once while it
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

/** Maps a Redis client error to the API's 503. */
export function redisApiError(err: unknown, problem?: string | null): ApiError {
  const message = err instanceof Error ? err.message : String(err)
  if (err instanceof Error && err.name === 'ReplyError') {
    return new ApiError(503, 'redis_error', `Redis answered with an error: ${message}`)
  }
  return new ApiError(503, 'redis_unavailable', `Redis is unreachable: ${problem ?? message}`)
}
