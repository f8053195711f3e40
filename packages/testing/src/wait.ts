/** Options of {@link waitFor}. */
export type WaitOptions = {
  /** Give up after this long (default 30 s). */
  timeoutMs?: number
  /** Pause between attempts (default 100 ms). */
  intervalMs?: number
  /** Says what was awaited, in the timeout error. */
  message?: string
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms))

/**
 * Polls `predicate` until it returns a truthy value (returned) or the timeout
 * passes (throws, with the last error the predicate threw, if any).
 *
 * @example
 * const value = await waitFor(async () => redis.hget('ctr:latest', 'p-1'), { timeoutMs: 20_000 })
 */
export async function waitFor<T>(
  predicate: () => T | Promise<T>,
  opts: WaitOptions = {},
): Promise<Exclude<T, false | null | undefined | 0 | ''>> {
  const timeoutMs = opts.timeoutMs ?? 30_000
  const deadline = Date.now() + timeoutMs
  let lastError: unknown
  for (;;) {
    try {
      const value = await predicate()
      if (value) return value as Exclude<T, false | null | undefined | 0 | ''>
    } catch (err) {
      lastError = err
    }
    if (Date.now() >= deadline) {
      const why = lastError instanceof Error ? ` (last error: ${lastError.message})` : ''
      throw new Error(`waitFor: ${opts.message ?? 'condition'} not met within ${timeoutMs} ms${why}`)
    }
    await sleep(opts.intervalMs ?? 100)
  }
}
