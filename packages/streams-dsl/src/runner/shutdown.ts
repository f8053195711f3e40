/**
 * Exit code of a job that stopped with output it could not write within `SHUTDOWN_GRACE_MS` (EX_TEMPFAIL of
 * sysexits.h: try again later). Nothing is lost: offsets were committed only up to the last durable output, so
 * the next start with the same application id reads the rest again.
 *
 * @example
 * if ((await runner.finished) === EXIT_OUTPUT_NOT_FLUSHED) console.error('restart me: output was not flushed')
 */
export const EXIT_OUTPUT_NOT_FLUSHED = 75

/** How long `run()` lets a stop run past its grace period (leaving the group, closing clients) before exiting anyway. */
export const FORCE_EXIT_AFTER_GRACE_MS = 10_000

/**
 * A stop that gave up pending writes when its grace period expired (e.g. Redis down). The message is one line:
 * what was pending, and that a restart re-reads it.
 *
 * @example
 * runner.status().error // 'output not flushed: stop gave up after the 10 s grace period (SHUTDOWN_GRACE_MS) with ...'
 */
export class OutputNotFlushedError extends Error {
  override readonly name = 'OutputNotFlushedError'
}
