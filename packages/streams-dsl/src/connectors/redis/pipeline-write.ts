import type { ChainableCommander, Redis } from 'ioredis'
import type { SinkHealth } from '../sink-health.js'
import { describeRedis, readyOrThrow } from './connection.js'
import { classifyRedisError, RedisWriteRefusedError } from './redis-errors.js'
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
 * Sends one pipeline filled by `fill` and fails on any command's error; while Redis is unreachable or refuses
 * writes for a reason that clears by itself (`OOM`, `LOADING`, `BUSY`, ... see `redis-errors.ts`) retries with
 * backoff (calling `fill` again each time: the commands must be idempotent) and resolves only once everything is
 * applied. A refusal retrying cannot fix rejects with a one-line {@link RedisWriteRefusedError}.
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
  const target = `${options.name} -> ${describeRedis(redis)}`
  try {
    await retryWhileUnavailable(
      async () => {
        await readyOrThrow(redis)
        const pipeline = redis.pipeline()
        fill(pipeline)
        const results = await pipeline.exec()
        if (!results) throw new Error('pipeline discarded')
        const errors = results.flatMap(([err]) => (err ? [err] : []))
        // A refusal for good fails the write now rather than after waiting out an outage of another command.
        if (errors.length) throw errors.find((e) => classifyRedisError(e).kind === 'permanent') ?? errors[0]
      },
      {
        target,
        signal: options.signal,
        onUnavailable: (err) => health.down(err, classifyRedisError(err).reason),
        onRecovered: () => health.up(),
        ...(options.logger && { logger: options.logger }),
      },
    )
  } catch (err) {
    const c = classifyRedisError(err)
    if (c.kind === 'permanent' && err instanceof Error && err.name === 'ReplyError')
      throw new RedisWriteRefusedError(target, c.reason, err.message, c.fix)
    throw err
  }
}
