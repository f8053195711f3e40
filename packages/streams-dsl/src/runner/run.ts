import type { Topology } from '../graph/topology.js'
import { isUserFacing } from './preflight.js'
import { createRunner, type Runner, type RunnerOptions } from './runner.js'
import { EXIT_OUTPUT_NOT_FLUSHED, FORCE_EXIT_AFTER_GRACE_MS } from './shutdown.js'

/**
 * Runs a topology in the foreground until SIGINT or SIGTERM, then stops gracefully (stop fetching, flush sinks,
 * commit, leave the group; no window fires early) and exits 0. A bad setting or an unreachable Kafka or Redis
 * at start prints one line saying what was tried and how to fix it, and exits 1. A second signal exits at once.
 * Writes still pending `SHUTDOWN_GRACE_MS` after the signal (an outage) are given up: one line on stderr, exit 75
 * (nothing committed past the last durable output). A job that stopped on an error prints it on one line, exit 1.
 *
 * @example
 * // main.ts of a job
 * import { run } from '@ctr/streams-dsl/runner'
 * await run(app.build(), { tasks: 'auto' })
 */
export async function run(topology: Topology, options: RunnerOptions = {}): Promise<never> {
  let runner: Runner
  try {
    runner = createRunner(topology, options)
  } catch (e) {
    return exitWith(e)
  }
  let signals = 0
  const onSignal = (signal: NodeJS.Signals) => {
    if (++signals > 1) {
      runner.logger.warn(`${signal} again: exiting without waiting for the graceful stop`)
      process.exit(130)
    }
    runner.logger.info(`${signal} received`)
    // Last resort when closing the clients hangs too (e.g. Kafka unreachable as well): what is committed is durable
    // and the closing steps commit nothing more, so exiting loses nothing; the next start re-reads the rest.
    setTimeout(() => {
      runner.logger.error('stop still not done after its grace period: exiting without waiting further')
      process.stderr.write(`output not flushed: stop did not finish in time; the next start re-reads the rest\n`)
      process.exit(EXIT_OUTPUT_NOT_FLUSHED)
    }, runner.config.shutdownGraceMs + FORCE_EXIT_AFTER_GRACE_MS).unref()
    void runner.stop()
  }
  process.on('SIGINT', onSignal)
  process.on('SIGTERM', onSignal)
  try {
    await runner.start()
  } catch (e) {
    await runner.stop().catch(() => {})
    return exitWith(e)
  }
  const code = await runner.finished
  if (code !== 0) process.stderr.write(`${oneLine(runner.status().error ?? `stopped with exit code ${code}`)}\n`)
  process.exit(code)
}

const oneLine = (s: string) => s.replace(/\s*\n\s*/g, ' ')

function exitWith(e: unknown): never {
  const message = e instanceof Error ? e.message : String(e)
  // A user-facing error is one line; anything else is a bug, still reported on one line without a stack trace.
  process.stderr.write(`${isUserFacing(e) ? message : `failed to start: ${message.split('\n')[0]}`}\n`)
  process.exit(1)
}
