import { pingRedis } from '../../packages/streams-dsl/src/connectors/redis/connection.js'

/**
 * True when a Redis answers PING at `url` within `timeoutMs` (one connection attempt, no retries): the runner's
 * start-up probe ({@link pingRedis}, behind `checkRedis`), answered yes or no.
 *
 * @example
 * if (!(await redisAnswers('redis://127.0.0.1:6379'))) console.log('no Redis there')
 */
export async function redisAnswers(url: string, timeoutMs = 1500): Promise<boolean> {
  try {
    return (await pingRedis(url, timeoutMs)) === 'PONG'
  } catch {
    return false
  }
}
