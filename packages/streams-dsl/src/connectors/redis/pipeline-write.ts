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

/**
 * Sends commands as they are produced: `items` is consumed lazily and each item goes out through `send` on the
 * client at once (a ready connection writes it to the socket), so Redis works on the first items while the
 * caller produces the rest. If the connection is not ready or any command fails, every item is sent again through
 * {@link writePipelineWithRetry}, so the commands must be idempotent (one applied twice changes nothing) and
 * independent of each other's order. Resolves with the items, in order, once every one is applied.
 *
 * @example
 * const sent = await writeStreamedWithRetry(redis, calls(), (t, c) => t.hset(c.key, c.field, c.value), options)
 */
export async function writeStreamedWithRetry<C>(
  redis: Redis,
  items: Iterable<C>,
  send: (target: Redis | ChainableCommander, item: C) => unknown,
  options: PipelineWriteOptions,
): Promise<C[]> {
  // waits for a connection being made (the first write of a process); any other state goes to the retrying path
  const ready = await readyOrThrow(redis).then(
    () => true,
    () => false,
  )
  const sent: C[] = []
  const replies: Promise<unknown>[] = []
  try {
    for (const item of items) {
      sent.push(item)
      if (ready) replies.push(Promise.resolve(send(redis, item)))
    }
  } catch (e) {
    void Promise.allSettled(replies) // producing an item failed: what was sent must not reject unhandled
    throw e
  }
  if (ready && (await Promise.allSettled(replies)).every((x) => x.status === 'fulfilled')) return sent
  await writePipelineWithRetry(
    redis,
    (pipeline) => {
      for (const item of sent) send(pipeline, item)
    },
    options,
  )
  return sent
}
