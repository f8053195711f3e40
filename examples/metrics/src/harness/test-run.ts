/**
 * For the integration tests: runs an example exactly as `pnpm example` wires it (its own results sink and
 * topology) on the runner, as a bounded run over what its input topic holds — read to the end offsets seen
 * at start, every window closed, results written, stop — so the test can compare every result with its oracle.
 */
import { createRunner, type RunnerStatus } from '@ctr/streams-dsl/runner'
import type { Example, ExampleContext } from './example.js'

/** A bounded run of `example` on `ctx`; resolves with the runner's exit code and final status. */
export async function runUntilEnd<R>(
  example: Example<R>,
  ctx: ExampleContext,
): Promise<{ code: number; status: RunnerStatus }> {
  const { sink } = example.results(ctx)
  const runner = createRunner(example.topology(ctx, sink), {
    env: {},
    config: {
      kafkaBrokers: ctx.kafkaBrokers,
      redisUrl: ctx.redisUrl,
      applicationId: ctx.applicationId,
      port: 0,
      logLevel: 'warn',
    },
    requireRedis: example.usesRedis,
    untilEnd: true,
  })
  try {
    await runner.start()
    const code = await runner.finished
    return { code, status: runner.status() }
  } finally {
    await runner.stop().catch(() => {}) // closes the sinks and their connections
  }
}

/** Ten minutes ago, aligned to the minute: far from the 5-minute future guard and from the wall clock. */
export const pastMinute = (): number => Math.floor((Date.now() - 600_000) / 60_000) * 60_000
