import { REDIS_KEYS } from '@ctr/ctr-topology/contract'
import type { Redis } from 'ioredis'
import type { ApiError } from './errors.js'
import type { CtrResult } from './schemas.js'
import { type BadResultHandler, parseResult } from './store.js'
import type { UpdatesHub } from './updates.js'

/** One stored value of a hash: its raw JSON and its parse (`null`: not a valid result, never served). */
export type CachedResult = { readonly raw: string; readonly value: CtrResult | null }

/** Options of {@link ResultsCache}. */
export type ResultsCacheOptions = {
  /** The API's client (fail-fast: no offline queue), for the full loads and the per-product re-reads. */
  redis: Redis
  /** Where the job's `ctr:updates` messages come from. */
  hub: UpdatesHub
  /**
   * The staleness bound in ms (default 1000): a response reflects every write made to the hashes more than this
   * long before it. A full load is started in the background once the copy is half this old, and a request that
   * finds it older waits for a fresh one. 0 turns the cache off (every request reads the hashes).
   */
  maxStalenessMs?: number
  /** Maps a failed Redis command to the API's 503 (and counts it). */
  redisError: (err: unknown) => ApiError
  /** The 503 to answer while the client is not connected, else `null` (docs/contract.md §4.2: 503 when Redis is down). */
  unavailable: () => ApiError | null
  onBadResult?: BadResultHandler
  /** Milliseconds of a monotonic clock (default `performance.now`). */
  now?: () => number
}

/** Default of {@link ResultsCacheOptions.maxStalenessMs}. */
export const DEFAULT_MAX_STALENESS_MS = 1000

/** One hash (`ctr:latest` or `ctr:previous`) as the API holds it, with its JSON body built once per change. */
class HashCopy {
  private entries = new Map<string, CachedResult>()
  private body: Uint8Array<ArrayBuffer> | null = null
  private ranked: CachedResult[] | null = null

  constructor(
    readonly key: string,
    private readonly onBadResult: BadResultHandler | undefined,
  ) {}

  get(field: string): CachedResult | undefined {
    return this.entries.get(field)
  }

  /** Replaces the whole copy with a full read of the hash. */
  replace(raw: Record<string, string>): void {
    const next = new Map<string, CachedResult>()
    // ioredis defines a field named "__proto__" as an own property of the HGETALL object: a field like any other.
    for (const field of Object.keys(raw)) next.set(field, this.entry(field, raw[field] as string))
    this.entries = next
    this.changed()
  }

  /** Sets (or deletes, for `null`) the fields re-read after an update. */
  update(fields: readonly string[], values: readonly (string | null)[]): void {
    let changed = false
    for (let i = 0; i < fields.length; i++) {
      const field = fields[i] as string
      const value = values[i] ?? null
      const current = this.entries.get(field)
      if (value === null) {
        if (current) this.entries.delete(field)
        changed ||= current !== undefined
      } else if (current?.raw !== value) {
        this.entries.set(field, this.entry(field, value))
        changed = true
      }
    }
    if (changed) this.changed()
  }

  /** `{"<product_id>": <stored JSON>, …}` of every valid result, as UTF-8 bytes; rebuilt only after a change. */
  json(): Uint8Array<ArrayBuffer> {
    if (this.body) return this.body
    const parts: string[] = []
    for (const [field, e] of this.entries) if (e.value) parts.push(`${JSON.stringify(field)}:${e.raw}`)
    this.body = Buffer.from(`{${parts.join(',')}}`)
    return this.body
  }

  /** The valid results with a ctr, highest ctr first, then more impressions, then product_id. */
  byCtr(): readonly CachedResult[] {
    if (this.ranked) return this.ranked
    const ranked: CachedResult[] = []
    for (const e of this.entries.values()) if (e.value && e.value.ctr !== null) ranked.push(e)
    const v = (e: CachedResult) => e.value as CtrResult
    ranked.sort((x, y) => {
      const a = v(x)
      const b = v(y)
      return (
        (b.ctr as number) - (a.ctr as number) ||
        b.impressions - a.impressions ||
        (a.product_id < b.product_id ? -1 : a.product_id > b.product_id ? 1 : 0)
      )
    })
    this.ranked = ranked
    return ranked
  }

  private changed(): void {
    this.body = null
    this.ranked = null
  }

  // An unchanged value keeps its parse: a product's result changes about once per window, so a full load
  // parses only what changed since the last one (and reports a bad value once, not on every load).
  private entry(field: string, raw: string): CachedResult {
    const current = this.entries.get(field)
    if (current?.raw === raw) return current
    const parsed = parseResult(raw)
    if (!parsed.ok) this.onBadResult?.(this.key, field, parsed.reason)
    return { raw, value: parsed.ok ? parsed.value : null }
  }
}

/**
 * The API's copy of `ctr:latest` and `ctr:previous`, so that no request reads a whole hash (docs/contract.md §4 routes
 * `/ctr/latest`, `/ctr/previous`, `/ctr/{product_id}` and `/ctr/top` read only this). How it stays fresh:
 *
 * - every `ctr:updates` message (the job publishes each change) re-reads that product's two fields, batched:
 *   one `MULTI HMGET HMGET` per burst, so a change is served a Redis round trip after it was published;
 * - a full load (`MULTI HGETALL HGETALL`, one atomic snapshot of both hashes) runs in the background once the copy
 *   is half the staleness bound old, and after the subscription is (re)established;
 * - a request that finds the copy older than the bound (the first one, after an idle spell, or when the loads
 *   fail) waits for a full load, and gets its 503 if Redis cannot answer.
 *
 * So whatever happens to Pub/Sub (a lost message, a dropped subscription, a writer that does not publish), every
 * response reflects every write made more than `maxStalenessMs` before it. Commands on one connection are answered
 * in order, and each answer is applied as it arrives, so a newer read is never overwritten by an older one. With
 * no reader for longer than the bound, the cache sends Redis nothing but the subscription.
 *
 * @example
 * const cache = new ResultsCache({ redis, hub, redisError: (e) => redisApiError(e) })
 * const body = await cache.json('ctr:latest')
 */
export class ResultsCache {
  private readonly latest: HashCopy
  private readonly previous: HashCopy
  private readonly maxStalenessMs: number
  private readonly now: () => number
  /** When the full load the copy comes from was sent (its snapshot is at least this recent). */
  private loadedAt = Number.NEGATIVE_INFINITY
  private loading: Promise<void> | null = null
  /** Every read is applied after the reads sent before it, so a newer read is never overwritten by an older one. */
  private applied: Promise<unknown> = Promise.resolve()
  private readonly dirty = new Set<string>()
  private flushing = false
  private subscribed: Promise<void> | null = null

  constructor(private readonly o: ResultsCacheOptions) {
    this.maxStalenessMs = o.maxStalenessMs ?? DEFAULT_MAX_STALENESS_MS
    this.now = o.now ?? (() => performance.now())
    this.latest = new HashCopy(REDIS_KEYS.latest, o.onBadResult)
    this.previous = new HashCopy(REDIS_KEYS.previous, o.onBadResult)
  }

  // The reads answer synchronously while the copy is fresh (every request but the first after an idle spell): no
  // promise per request on the hot routes. `await` works on both.

  /** `/ctr/latest` or `/ctr/previous`: the JSON body, built once per change. */
  json(key: typeof REDIS_KEYS.latest | typeof REDIS_KEYS.previous): MaybePromise<Uint8Array<ArrayBuffer>> {
    const copy = key === REDIS_KEYS.latest ? this.latest : this.previous
    return after(this.fresh(), () => copy.json())
  }

  /** The latest and previous stored result of one product (`undefined` when absent or invalid). */
  product(productId: string): MaybePromise<{ latest?: CachedResult; previous?: CachedResult }> {
    return after(this.fresh(), () => {
      const latest = this.latest.get(productId)
      const previous = this.previous.get(productId)
      return { ...(latest?.value && { latest }), ...(previous?.value && { previous }) }
    })
  }

  /** The latest results with a ctr, ranked (see `/ctr/top`). */
  byCtr(): MaybePromise<readonly CachedResult[]> {
    return after(this.fresh(), () => this.latest.byCtr())
  }

  /** Whether the copy is within its bound right now (for tests and metrics). */
  isFresh(): boolean {
    return this.now() - this.loadedAt <= this.maxStalenessMs
  }

  /** Nothing when the copy can answer now; else the load to wait for. Throws the 503 while Redis is down. */
  private fresh(): Promise<void> | undefined {
    const down = this.o.unavailable()
    if (down) throw down
    if (this.maxStalenessMs === 0) return this.load()
    this.subscribe()
    const age = this.now() - this.loadedAt
    if (age > this.maxStalenessMs) {
      // A load already under way when this request came may be older than the bound by the time it answers.
      return this.load().then(() => (this.isFresh() ? undefined : this.load(true)))
    }
    if (age > this.maxStalenessMs / 2 && !this.loading) {
      this.load().catch(() => {}) // in the background; a failure shows when the copy expires
    }
    return undefined
  }

  /** A full load: joins the one under way unless `fresh` asks for one sent from now on. */
  private load(fresh = false): Promise<void> {
    if (this.loading && !fresh) return this.loading
    const sentAt = this.now()
    const loading = this.read(
      () => this.o.redis.multi().hgetall(REDIS_KEYS.latest).hgetall(REDIS_KEYS.previous).exec(),
      (replies) => {
        const [latest, previous] = execReplies<Record<string, string>>(replies)
        this.latest.replace(latest)
        this.previous.replace(previous)
        this.loadedAt = Math.max(this.loadedAt, sentAt)
      },
    )
      .catch((err: unknown) => {
        throw this.o.redisError(err)
      })
      .finally(() => {
        if (this.loading === loading) this.loading = null
      })
    this.loading = loading
    return loading
  }

  /** Sends a read now and applies its reply once every earlier read has been applied. */
  private read<T>(send: () => Promise<T>, apply: (reply: T) => void): Promise<void> {
    const reply = send()
    // Handled here at once: a reply that fails while an earlier one is pending is not an unhandled rejection.
    reply.catch(() => {})
    const done = this.applied.then(() => reply).then(apply)
    this.applied = done.catch(() => {})
    return done
  }

  private subscribe(): void {
    if (this.subscribed) return
    this.subscribed = this.o.hub
      .subscribe((message) => this.onUpdate(message), {
        // Messages may have been missed while the subscription was down: load everything again.
        onResubscribed: () => {
          if (this.isFresh()) this.load(true).catch(() => {})
        },
      })
      .then(
        () => {
          // Updates published between the last load and the subscription were not received.
          if (this.isFresh()) this.load(true).catch(() => {})
        },
        () => {
          // Without a subscription the loads alone keep the bound; try again with a later request.
          this.subscribed = null
        },
      )
  }

  private onUpdate(message: string): void {
    // An expired copy is loaded again by the next request: nothing to keep up to date meanwhile.
    if (!this.isFresh()) return
    const productId = productIdOf(message)
    if (productId === null) return
    this.dirty.add(productId)
    if (this.flushing) return
    this.flushing = true
    setImmediate(() => void this.flush())
  }

  /** Re-reads the fields of the products updated since the last flush, in one atomic read of both hashes. */
  private async flush(): Promise<void> {
    try {
      while (this.dirty.size > 0) {
        const fields = [...this.dirty]
        this.dirty.clear()
        await this.read(
          () =>
            this.o.redis
              .multi()
              .hmget(REDIS_KEYS.latest, ...fields)
              .hmget(REDIS_KEYS.previous, ...fields)
              .exec(),
          (replies) => {
            const [latest, previous] = execReplies<(string | null)[]>(replies)
            this.latest.update(fields, latest)
            this.previous.update(fields, previous)
          },
        )
      }
    } catch {
      // These changes are not in the copy: let it expire, so the next request loads everything.
      this.dirty.clear()
      this.loadedAt = Number.NEGATIVE_INFINITY
    } finally {
      this.flushing = false
    }
  }
}

type MaybePromise<T> = T | Promise<T>

/** `read()` now when nothing is to be waited for, else once `wait` has settled. */
function after<T>(wait: Promise<void> | undefined, read: () => T): MaybePromise<T> {
  return wait ? wait.then(read) : read()
}

/** The product id of a `ctr:updates` message (a result JSON), or `null`. */
function productIdOf(message: string): string | null {
  try {
    const id = (JSON.parse(message) as { product_id?: unknown } | null)?.product_id
    return typeof id === 'string' ? id : null
  } catch {
    return null
  }
}

/** The two replies of a `MULTI … EXEC`; throws the first command error. */
function execReplies<T>(replies: [Error | null, unknown][] | null): [T, T] {
  if (!replies) throw new Error('transaction aborted')
  const [a, b] = replies
  const error = a?.[0] ?? b?.[0]
  if (error) throw error
  return [a?.[1] as T, b?.[1] as T]
}
