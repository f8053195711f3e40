import type { Redis } from 'ioredis'
import { type ObservableSink, SinkHealth } from '../sink-health.js'
import type { Sink } from '../types.js'
import { sharedSinkRedis } from './connection.js'
import { HISTORY_LUA, LATEST_PREVIOUS_LUA } from './latest-previous-script.js'
import { writePipelineWithRetry } from './pipeline-write.js'
import type { RetryLogger } from './retry.js'

/** A windowed result as the latest/previous sink stores it (CONTRACTS.md §3 result JSON). */
export type WindowedResult = { readonly product_id: string; readonly window_start: number }

/** Options of {@link redisLatestPrevious}. */
export type RedisLatestPreviousOptions<T> = {
  /** Hash of the most recent window's result per key (default `ctr:latest`). */
  readonly latest?: string
  /** Hash of the window before it (default `ctr:previous`). */
  readonly previous?: string
  /**
   * Optional capped history: sorted set `<prefix><key>`, score window_start, member the JSON, newest `max` kept
   * (0 = all). `ttlSeconds` (default 0 = forever) expires a key that long after its last write, which bounds the
   * history of keys that stop getting results (the number of keys itself is unbounded).
   */
  readonly history?: { readonly prefix: string; readonly max: number; readonly ttlSeconds?: number }
  /** Channel to PUBLISH the JSON on whenever latest or previous changed (the API's live updates). */
  readonly publish?: string
  /** Hash field (default `r.product_id`). */
  readonly key?: (r: T) => string
  /** Window start in epoch ms (default `r.window_start`). */
  readonly windowStart?: (r: T) => number
  /** Stored JSON (default `JSON.stringify`). */
  readonly serialize?: (r: T) => string
  /** Client to use (default: the shared sink connection to the runner's `REDIS_URL`). */
  readonly redis?: Redis
  readonly logger?: RetryLogger
  readonly name?: string
}

type WithScript = Redis & {
  ctrLatestPrevious(numberOfKeys: number, ...keysAndArgs: (string | number)[]): Promise<number>
  ctrHistory(numberOfKeys: number, ...keysAndArgs: (string | number)[]): Promise<number>
}

/** Results per script call at most (whole keys each): Redis is never held for long by one call. */
const RESULTS_PER_CALL = 500

/**
 * The latest/previous sink: an atomic Lua script keeps the two results with the greatest `window_start` per key
 * in `latest` and `previous`, replacing a window already stored in place, so late firings update and replays
 * change nothing. One pipeline per `write`, of one EVALSHA per few hundred results (a key's results together:
 * its latest/previous are read and written once per call). While Redis is
 * unreachable `write` retries with backoff and resolves only once everything is applied; `health` says so meanwhile.
 *
 * @example
 * stream.to(redisLatestPrevious({ latest: 'ctr:latest', previous: 'ctr:previous', publish: 'ctr:updates' }))
 */
export function redisLatestPrevious<T extends WindowedResult>(
  options: RedisLatestPreviousOptions<T> = {},
): Sink<T> & ObservableSink {
  const latest = options.latest ?? 'ctr:latest'
  const previous = options.previous ?? 'ctr:previous'
  const key = options.key ?? ((r: T) => r.product_id)
  const windowStart = options.windowStart ?? ((r: T) => r.window_start)
  const serialize = options.serialize ?? ((r: T) => JSON.stringify(r))
  const historyMax = options.history?.max ?? 0
  const historyTtl = options.history?.ttlSeconds ?? 0
  if (!Number.isInteger(historyTtl) || historyTtl < 0)
    throw new RangeError(`history.ttlSeconds must be a whole number of seconds >= 0, got ${historyTtl}`)
  const publish = options.publish ?? ''
  const name = options.name ?? `redis-latest-previous(${latest},${previous})`
  const closed = new AbortController()
  const health = new SinkHealth()
  let client: WithScript | undefined

  const redis = (): WithScript => {
    if (!client) {
      const r = options.redis ?? sharedSinkRedis()
      if (!('ctrLatestPrevious' in r)) r.defineCommand('ctrLatestPrevious', { lua: LATEST_PREVIOUS_LUA })
      if (!('ctrHistory' in r)) r.defineCommand('ctrHistory', { lua: HISTORY_LUA })
      client = r as WithScript
    }
    return client
  }

  return {
    name,
    health,
    async write(records) {
      if (records.length === 0) return
      // Serialise once: a retry must send exactly the same commands. The results of a key go together, in the
      // order they were produced, so the script reads and writes its latest/previous once per call.
      const byKey = new Map<string, (string | number)[]>()
      for (const r of records) {
        const field = key(r)
        const list = byKey.get(field)
        if (list) list.push(windowStart(r), serialize(r))
        else byKey.set(field, [windowStart(r), serialize(r)])
      }
      type Call = { keys: string[]; args: (string | number)[] }
      const calls: Call[] = []
      const histories: Call[] = []
      let call: Call = { keys: [latest, previous], args: [publish] }
      let history: Call = { keys: [], args: [historyMax, historyTtl] }
      let size = 0
      for (const [field, pairs] of byKey) {
        if (size > 0 && size + pairs.length / 2 > RESULTS_PER_CALL) {
          calls.push(call)
          histories.push(history)
          call = { keys: [latest, previous], args: [publish] }
          history = { keys: [], args: [historyMax, historyTtl] }
          size = 0
        }
        call.args.push(field, pairs.length / 2)
        for (const x of pairs) call.args.push(x)
        if (options.history) {
          history.keys.push(`${options.history.prefix}${field}`)
          history.args.push(pairs.length / 2)
          for (const x of pairs) history.args.push(x)
        }
        size += pairs.length / 2
      }
      if (size > 0) {
        calls.push(call)
        histories.push(history)
      }
      const r = redis()
      await writePipelineWithRetry(
        r,
        (pipeline) => {
          const scripted = pipeline as unknown as WithScript
          // latest/previous first: what the API reads lands before the history
          for (const c of calls) scripted.ctrLatestPrevious(c.keys.length, ...c.keys, ...c.args)
          if (options.history) for (const h of histories) scripted.ctrHistory(h.keys.length, ...h.keys, ...h.args)
        },
        { name, signal: closed.signal, health, logger: options.logger },
      )
    },
    async close() {
      closed.abort()
    },
  }
}
