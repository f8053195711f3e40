/**
 * Redis sinks: a hash upsert and the latest/previous sink (two newest windows per key, atomically, with an optional
 * history and a change channel). Both retry through outages and report their health; without a client they
 * connect to the job's `REDIS_URL` (see `Sink.open`).
 *
 * @packageDocumentation
 * @module \@ctr/streams-dsl/redis
 * @example
 * import { redisHash } from '@ctr/streams-dsl/redis'
 * perPage.to(redisHash({ key: 'views:per-page', field: (r) => r.key, value: (r) => String(r.value) }))
 */
export { createSinkRedis } from './connection.js'
export { type RedisHashOptions, redisHash } from './hash-sink.js'
export { type NumberField, type RedisLatestPreviousOptions, redisLatestPrevious } from './latest-previous-sink.js'
export type { RetryLogger } from './retry.js'
