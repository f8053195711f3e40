import type { Redis } from 'ioredis'
import { type ObservableSink, SinkHealth } from '../sink-health.js'
import type { Sink } from '../types.js'
import { SinkConnection } from './connection.js'
import { writePipelineWithRetry } from './pipeline-write.js'
import type { RetryLogger } from './retry.js'

const HSET_FIELDS = 1000

/**
 * Options of {@link redisHash}.
 *
 * @example
 * redisHash<PageViews>({ key: (r) => `views:${r.day}`, field: (r) => r.page, value: (r) => String(r.views) })
 */
export type RedisHashOptions<T> = {
  /** The hash key, fixed or per record. */
  readonly key: string | ((r: T) => string)
  /** The field inside the hash. */
  readonly field: (r: T) => string
  /** The stored value (default `JSON.stringify`). */
  readonly value?: (r: T) => string
  /**
   * Client to use; the sink never closes it. Default: a connection of the sink's own to the job's `REDIS_URL`
   * (on the runner), else to `REDIS_URL` / `redis://127.0.0.1:6379`, closed with the sink.
   */
  readonly redis?: Redis
  /** Where the retry loop logs an outage and its end (default: the job's logger on the runner, else pino). */
  readonly logger?: RetryLogger
  /** Default `redis-hash(<key>)`. */
  readonly name?: string
}

/**
 * A hash upsert sink: `HSET key field value` per record, one pipeline per `write`. Idempotent (last write wins);
 * while Redis is unreachable `write` retries with backoff and resolves only once everything is applied; `health` says so meanwhile.
 *
 * @example
 * counts.to(redisHash({ key: 'page:views', field: (r) => r.page, value: (r) => String(r.count) }))
 */
export function redisHash<T>(options: RedisHashOptions<T>): Sink<T> & ObservableSink {
  const keyOf = typeof options.key === 'string' ? () => options.key as string : options.key
  const valueFor = options.value ?? ((r: T) => JSON.stringify(r))
  const name = options.name ?? `redis-hash(${typeof options.key === 'string' ? options.key : 'dynamic'})`
  let closed = new AbortController()
  let logger = options.logger
  const health = new SinkHealth()
  const connection = new SinkConnection(options.redis)

  return {
    name,
    health,
    open(context) {
      connection.open(context)
      logger ??= context.logger
      if (closed.signal.aborted) closed = new AbortController() // reopened by a restarted runner
    },
    async write(records) {
      if (records.length === 0) return
      // Group by key, last value per field wins: a batch is a few HSETs, not one per record.
      const byKey = new Map<string, Map<string, string>>()
      for (const r of records) {
        const k = keyOf(r)
        let fields = byKey.get(k)
        if (!fields) {
          fields = new Map()
          byKey.set(k, fields)
        }
        fields.set(options.field(r), valueFor(r))
      }
      const redis = connection.client()
      await writePipelineWithRetry(
        redis,
        (pipeline) => {
          for (const [k, fields] of byKey) {
            // At most HSET_FIELDS fields per command: huge argument lists overflow the call stack.
            let args: string[] = []
            for (const [f, v] of fields) {
              args.push(f, v)
              if (args.length >= 2 * HSET_FIELDS) {
                pipeline.hset(k, ...args)
                args = []
              }
            }
            if (args.length) pipeline.hset(k, ...args)
          }
        },
        { name, signal: closed.signal, health, logger },
      )
    },
    async close() {
      closed.abort() // a write still retrying rejects at once
      await connection.close()
    },
  }
}
