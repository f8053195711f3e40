import pino from 'pino'
import { isTransientRedisError } from './redis-errors.js'

export { isTransientRedisError }

/**
 * The two log calls a Redis sink's retry loop makes (pino's shape): the outage, once, and its end.
 *
 * @example
 * redisHash({ key: 'views', field: (r) => r.page, logger: { warn: (o, m) => alert(m), info: (o, m) => console.log(m) } })
 */
export type RetryLogger = {
  /** The target became unreachable (logged once per outage). */
  warn(obj: object, msg: string): void
  /** It is back. */
  info(obj: object, msg: string): void
}

/** Options of {@link retryWhileUnavailable}. */
export type RetryOptions = {
  /** What is being written, for the log lines, e.g. `redis-latest-previous -> redis://127.0.0.1:6379`. */
  readonly target: string
  readonly logger?: RetryLogger
  readonly initialDelayMs?: number
  /** Cap of the exponential backoff (default 5 s). */
  readonly maxDelayMs?: number
  /** Aborted when the sink closes: the loop stops and the write rejects at once, even during an attempt. */
  readonly signal?: AbortSignal
  /** Whether an error is an outage to wait out (default {@link isTransientRedisError}: see `redis-errors.ts`). */
  readonly isTransient?: (err: unknown) => boolean
  /** Called once when the target starts failing (the loop keeps retrying), e.g. `SinkHealth.down`. */
  readonly onUnavailable?: (err: unknown) => void
  /** Called once when a loop that had failed stops: written, aborted or failed for good, e.g. `SinkHealth.up`. */
  readonly onRecovered?: () => void
}

let defaultLogger: RetryLogger | undefined
const fallbackLogger = (): RetryLogger => {
  defaultLogger ??= pino({ name: 'streams-dsl' })
  return defaultLogger
}

const sleep = (ms: number, signal?: AbortSignal) =>
  new Promise<void>((resolve) => {
    const t = setTimeout(done, ms)
    function done() {
      clearTimeout(t)
      signal?.removeEventListener('abort', done)
      resolve()
    }
    signal?.addEventListener('abort', done, { once: true })
  })

/**
 * `work`, or a rejection with `aborted()` as soon as `signal` aborts: an attempt that hangs (a server that accepts
 * the connection but does not answer) must not hold up a sink that is being closed. `work` goes on in the
 * background; its outcome is ignored.
 */
function untilAborted<T>(work: Promise<T>, signal: AbortSignal | undefined, aborted: () => Error): Promise<T> {
  if (!signal) return work
  return new Promise<T>((resolve, reject) => {
    const onAbort = () => reject(aborted())
    signal.addEventListener('abort', onAbort, { once: true })
    work.then(
      (v) => {
        signal.removeEventListener('abort', onAbort)
        resolve(v)
      },
      (e) => {
        signal.removeEventListener('abort', onAbort)
        reject(e)
      },
    )
  })
}

/**
 * Runs `attempt` until it succeeds, waiting out outages with exponential backoff (100 ms doubling, capped at 5 s).
 * Logs one line when the target starts failing and one when it recovers; a non-transient error rejects at once.
 * Used by sinks so that `write` resolves only once the data is really written: while it waits, the
 * source is held (backpressure) and no offset past it is committed.
 *
 * @example
 * await retryWhileUnavailable(() => pipeline.exec(), { target: 'redis://127.0.0.1:6379' })
 */
export async function retryWhileUnavailable<T>(attempt: () => Promise<T>, options: RetryOptions): Promise<T> {
  const logger = options.logger ?? fallbackLogger()
  const isTransient = options.isTransient ?? isTransientRedisError
  const maxDelay = options.maxDelayMs ?? 5_000
  let delay = options.initialDelayMs ?? 100
  let failingSince: number | undefined
  let attempts = 0
  try {
    return await retryLoop()
  } finally {
    if (failingSince !== undefined) options.onRecovered?.()
  }

  function closedError(): Error {
    return new Error(`${options.target}: closed while waiting for the write to succeed`)
  }

  async function retryLoop(): Promise<T> {
    for (;;) {
      if (options.signal?.aborted) throw closedError()
      try {
        attempts++
        const result = await untilAborted(attempt(), options.signal, closedError)
        if (failingSince !== undefined) {
          const downMs = Date.now() - failingSince
          logger.info(
            { target: options.target, downMs, attempts },
            `${options.target} accepts writes again after ${(downMs / 1000).toFixed(1)} s; writes resumed, nothing lost`,
          )
        }
        return result
      } catch (err) {
        if (options.signal?.aborted) throw closedError()
        if (!isTransient(err)) throw err
        if (failingSince === undefined) {
          failingSince = Date.now()
          options.onUnavailable?.(err)
          logger.warn(
            { target: options.target, error: err instanceof Error ? err.message : String(err) },
            `${options.target} unavailable (${err instanceof Error ? err.message : String(err)}); retrying with backoff up to ${maxDelay / 1000} s, input paused until it is back`,
          )
        }
        await sleep(delay, options.signal)
        delay = Math.min(delay * 2, maxDelay)
      }
    }
  }
}
