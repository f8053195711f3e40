export {
  closeSharedRedis,
  createSinkRedis,
  DEFAULT_REDIS_URL,
  defaultRedisUrl,
  describeRedis,
  setDefaultRedisUrl,
  sharedSinkRedis,
} from './connection.js'
export { type RedisHashOptions, redisHash } from './hash-sink.js'
export { LATEST_PREVIOUS_LUA } from './latest-previous-script.js'
export { type RedisLatestPreviousOptions, redisLatestPrevious, type WindowedResult } from './latest-previous-sink.js'
export { isTransientRedisError, type RetryLogger, type RetryOptions, retryWhileUnavailable } from './retry.js'
