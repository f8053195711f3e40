import type { ChainableCommander, Redis } from 'ioredis'
import type { SinkHealth } from '../sink-health.js'
import { describeRedis, readyOrThrow } from './connection.js'
import { type RetryLogger, retryWhileUnavailable } from './retry.js'

/** What {@link writePipelineWithRetry} needs from the sink it writes for. */
export type PipelineWriteOptions = {
  /** The sink's name, used in retry messages. */
  readonly name: string
  /** Aborted when the sink closes: stops retrying. */
  readonly signal: AbortSignal
  /** Marked down while Redis is unreachable, up again once a write goes through. */
  readonly health: SinkHealth
  readonly logger?: RetryLogger | undefined
}

/**
 * Sends one pipeline filled by `fill` and fails on any command's error; while Redis is unreachable retries
 * with backoff (calling `fill` again each time) and resolves only once everything is applied.
 *
 * @example
 * await writePipelineWithRetry(redis, (p) => p.hset('k', 'f', 'v'), { name, signal, health })
 */
export async function writePipelineWithRetry(
  redis: Redis,
  fill: (pipeline: ChainableCommander) => void,
  options: PipelineWriteOptions,
): Promise<void> {
  const { health } = options
  await retryWhileUnavailable(
    async () => {
      await readyOrThrow(redis)
      const pipeline = redis.pipeline()
      fill(pipeline)
      const results = await pipeline.exec()
      if (!results) throw new Error('pipeline discarded')
      for (const [err] of results) if (err) throw err
    },
    {
      target: `${options.name} -> ${describeRedis(redis)}`,
      signal: options.signal,
      onUnavailable: (err) => health.down(err),
      onRecovered: () => health.up(),
      ...(options.logger && { logger: options.logger }),
    },
  )
}
