import type { Redis } from 'ioredis'
import { type ObservableSink, SinkHealth } from '../sink-health.js'
import type { Sink } from '../types.js'
import { SinkConnection } from './connection.js'
import { HISTORY_LUA, LATEST_PREVIOUS_LUA, packTokens } from './latest-previous-script.js'
import { writePipelineWithRetry, writeStreamedWithRetry } from './pipeline-write.js'
import type { RetryLogger } from './retry.js'

/**
 * The names of `T`'s properties that hold numbers.
 *
 * @example
 * type F = NumberField<{ page: string; from: number; to: number }> // 'from' | 'to'
 */
export type NumberField<T> = { [K in keyof T]-?: T[K] extends number ? K : never }[keyof T] & string

/**
 * Options of {@link redisLatestPrevious}.
 *
 * @example
 * redisLatestPrevious<PageViews>({
 *   latest: 'views:latest',
 *   previous: 'views:previous',
 *   field: (r) => r.page,
 *   windowStart: 'from',
 *   history: { prefix: 'views:history:', max: 60, ttlSeconds: 86_400 },
 * })
 */
export type RedisLatestPreviousOptions<T> = {
  /** Hash of the most recent window's result per key, e.g. `'views:latest'`. */
  readonly latest: string
  /** Hash of the window before it, e.g. `'views:previous'`. */
  readonly previous: string
  /** The hash field of a result: its key, e.g. `(r) => r.page`. */
  readonly field: (r: T) => string
  /**
   * The result's property holding its window's start (epoch ms), e.g. `'window_start'`: it orders a key's results.
   * The stored JSON must carry it under that name at the top level (the script reads it back from what is stored);
   * the default `serialize` does.
   */
  readonly windowStart: NumberField<T>
  /** The result's property holding its window's end (epoch ms), for the runner's emit-latency metric (optional). */
  readonly windowEnd?: NumberField<T>
  /**
   * Optional capped history: sorted set `<prefix><key>`, score window_start, member the JSON, newest `max` kept
   * (0 = all). `ttlSeconds` (default 0 = forever) expires a key that long after its last write, which bounds the
   * history of keys that stop getting results (the number of keys itself is unbounded).
   */
  readonly history?: { readonly prefix: string; readonly max: number; readonly ttlSeconds?: number }
  /** Channel to PUBLISH the JSON on whenever latest or previous changed (live updates for readers). */
  readonly publish?: string
  /** Stored JSON (default `JSON.stringify`). */
  readonly serialize?: (r: T) => string
  /**
   * Client to use; the sink never closes it. Default: a connection of the sink's own to the job's `REDIS_URL`
   * (on the runner), else to `REDIS_URL` / `redis://127.0.0.1:6379`, closed with the sink.
   */
  readonly redis?: Redis
  /** Where the retry loop logs an outage and its end (default: the job's logger on the runner, else pino). */
  readonly logger?: RetryLogger
  /** Default `redis-latest-previous(<latest>,<previous>)`. */
  readonly name?: string
}

type WithScript = Redis & {
  streamsLatestPrevious(numberOfKeys: number, ...keysAndArgs: (string | number)[]): Promise<number>
  streamsHistory(numberOfKeys: number, ...keysAndArgs: (string | number)[]): Promise<number>
}

/** Results per script call at most (whole keys each): Redis is never held for long by one call. */
const RESULTS_PER_CALL = 500

/** A property name the script can look for in the stored JSON without escaping. */
const IDENTIFIER = /^[A-Za-z_][A-Za-z0-9_]*$/

/**
 * The latest/previous sink: an atomic Lua script keeps the two results with the greatest window start per key
 * in `latest` and `previous`, replacing a window already stored in place, so late firings update and replays
 * change nothing. A `write` sends one EVALSHA per few hundred results (a key's results together: its
 * latest/previous are read and written once per call; the results travel packed in one argument), each as soon as
 * it is packed, then the history as one pipeline. While Redis is
 * unreachable `write` retries with backoff and resolves only once everything is applied; `health` says so meanwhile.
 *
 * @example
 * perPage.to(
 *   redisLatestPrevious({
 *     latest: 'views:latest',
 *     previous: 'views:previous',
 *     field: (r) => r.page,
 *     windowStart: (r) => r.window_start,
 *     publish: 'views:updates',
 *   }),
 * )
 */
export function redisLatestPrevious<T>(options: RedisLatestPreviousOptions<T>): Sink<T> & ObservableSink {
  const { latest, previous } = options
  for (const [what, v] of [
    ['latest', latest],
    ['previous', previous],
  ] as const)
    if (typeof v !== 'string' || v === '')
      throw new TypeError(`redisLatestPrevious: ${what} must name a Redis hash, e.g. { ${what}: 'views:${what}' }`)
  if (latest === previous)
    throw new TypeError(`redisLatestPrevious: latest and previous must be two different hashes, both are "${latest}"`)
  if (typeof options.field !== 'function')
    throw new TypeError(
      'redisLatestPrevious: field must be a function of a result giving its key, e.g. { field: (r) => r.page }',
    )
  const startField = options.windowStart
  for (const [what, v] of [
    ['windowStart', startField],
    ['windowEnd', options.windowEnd],
  ] as const)
    if ((what === 'windowStart' || v !== undefined) && (typeof v !== 'string' || !IDENTIFIER.test(v)))
      throw new TypeError(
        `redisLatestPrevious: ${what} must name a property of the result holding epoch ms, e.g. { ${what}: '${what === 'windowStart' ? 'window_start' : 'window_end'}' }; got ${JSON.stringify(v)}`,
      )
  const key = options.field
  const windowStart = (r: T): number => {
    const ws = (r as Record<string, unknown>)[startField]
    if (typeof ws !== 'number' || !Number.isFinite(ws))
      throw new TypeError(`${name}: a result for "${key(r)}" has no number in ${startField} (windowStart option)`)
    return ws
  }
  const serialize = options.serialize ?? ((r: T) => JSON.stringify(r))
  const historyMax = options.history?.max ?? 0
  const historyTtl = options.history?.ttlSeconds ?? 0
  if (!Number.isInteger(historyTtl) || historyTtl < 0)
    throw new RangeError(`history.ttlSeconds must be a whole number of seconds >= 0, got ${historyTtl}`)
  const publish = options.publish ?? ''
  const name = options.name ?? `redis-latest-previous(${latest},${previous})`
  let closed = new AbortController()
  let logger = options.logger
  const health = new SinkHealth()
  const connection = new SinkConnection(options.redis)

  const redis = (): WithScript => {
    const r = connection.client()
    if (!('streamsLatestPrevious' in r)) r.defineCommand('streamsLatestPrevious', { lua: LATEST_PREVIOUS_LUA })
    if (!('streamsHistory' in r)) r.defineCommand('streamsHistory', { lua: HISTORY_LUA })
    return r as WithScript
  }

  const sink: Sink<T> & ObservableSink = {
    name,
    health,
    open(context) {
      connection.open(context)
      logger ??= context.logger
      if (closed.signal.aborted) closed = new AbortController() // reopened by a restarted runner
    },
    // a whole firing of many keys in one write (cut into script calls of RESULTS_PER_CALL): its results become
    // readable together rather than behind a first write's history
    maxBatch: 20_000,
    async write(records, readable) {
      if (records.length === 0) return
      // The results of a key go together, in the order they were produced, so the script reads and writes its
      // latest/previous once per call. Window starts are read (and checked) before anything is sent; the results
      // are serialised as their call is packed, once: a retry sends exactly the same commands.
      const byKey = new Map<string, (number | string | T)[]>()
      for (const r of records) {
        const field = key(r)
        const list = byKey.get(field)
        if (list) list.push(windowStart(r), r)
        else byKey.set(field, [windowStart(r), r])
      }
      // per call: the packed results (packTokens) of latest/previous, and the history keys and packed results
      type Call = { packed: string; historyKeys: string[]; historyPacked: string }
      function* pack(): Generator<Call> {
        let call: Call = { packed: '', historyKeys: [], historyPacked: '' }
        let size = 0
        for (const [field, held] of byKey) {
          const n = held.length / 2
          if (size > 0 && size + n > RESULTS_PER_CALL) {
            yield call
            call = { packed: '', historyKeys: [], historyPacked: '' }
            size = 0
          }
          for (let i = 1; i < held.length; i += 2) held[i] = serialize(held[i] as T)
          const results = packTokens(held as (string | number)[])
          call.packed += packTokens([field, n]) + results
          if (options.history) {
            call.historyKeys.push(`${options.history.prefix}${field}`)
            call.historyPacked += packTokens([n]) + results
          }
          size += n
        }
        if (size > 0) yield call
      }
      const r = redis()
      const retry = { name, signal: closed.signal, health, logger }
      // latest/previous first, on their own: what the API reads is readable before the history is written (the
      // history costs about twice as much on the server). Each call goes out as soon as it is packed, so Redis
      // applies the first calls while the rest are packed; calls hold whole keys, so their order matters to no key.
      const calls = await writeStreamedWithRetry(
        r,
        pack(),
        (target, c) =>
          (target as unknown as WithScript).streamsLatestPrevious(2, latest, previous, publish, c.packed, startField),
        retry,
      )
      readable?.()
      if (options.history)
        await writePipelineWithRetry(
          r,
          (pipeline) => {
            const scripted = pipeline as unknown as WithScript
            for (const c of calls)
              scripted.streamsHistory(c.historyKeys.length, ...c.historyKeys, historyMax, historyTtl, c.historyPacked)
          },
          retry,
        )
    },
    async close() {
      closed.abort() // a write still retrying rejects at once
      await connection.close()
    },
  }
  const endField = options.windowEnd
  if (endField !== undefined)
    sink.windowEnd = (r) => {
      const we = (r as Record<string, unknown>)[endField]
      return typeof we === 'number' ? we : undefined
    }
  return sink
}
