import { type RedisLatestPreviousOptions, redisLatestPrevious } from '@ctr/streams-dsl/redis'
import { type CtrResult, REDIS_KEYS } from './contract.js'

/** Options of {@link ctrResultsSink}. */
export type CtrResultsSinkOptions = {
  /** Results kept per product in `ctr:history:<product_id>` (0 = all), and how long such a key lives after its last write. */
  readonly history?: { readonly max: number; readonly ttlSeconds?: number }
  /**
   * The channel each result that changed `ctr:latest` / `ctr:previous` is PUBLISHed on (default `ctr:updates`, the
   * API's live feed); `false`: none.
   */
  readonly publish?: string | false
  /** Client to write with (default: the job's `REDIS_URL`, see the runner). */
  readonly redis?: RedisLatestPreviousOptions<CtrResult>['redis']
  /** Where the sink's retry loop logs outages (default: the job's logger). */
  readonly logger?: RedisLatestPreviousOptions<CtrResult>['logger']
}

/**
 * Where the CTR job writes its results (docs/contract.md §3): the latest/previous sink of @ctr/streams-dsl on
 * `ctr:latest` / `ctr:previous`, one hash field per `product_id`, windows ordered by `window_start`, with the
 * optional per-product history and the `ctr:updates` channel the API listens on.
 *
 * @example
 * const results = ctrResultsSink({ history: { max: 120 } })
 * await run(ctrTopology({ applicationId: 'ctr', impressionsTopic: 'impressions', clicksTopic: 'clicks', results }))
 */
export function ctrResultsSink(options: CtrResultsSinkOptions = {}) {
  return redisLatestPrevious<CtrResult>({
    latest: REDIS_KEYS.latest,
    previous: REDIS_KEYS.previous,
    field: (r) => r.product_id,
    windowStart: 'window_start',
    windowEnd: 'window_end',
    ...(options.history && { history: { prefix: REDIS_KEYS.historyPrefix, ...options.history } }),
    ...(options.publish !== false && { publish: options.publish ?? REDIS_KEYS.updates }),
    ...(options.redis && { redis: options.redis }),
    ...(options.logger && { logger: options.logger }),
  })
}
