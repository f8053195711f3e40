import type { Service } from './background.js'

/**
 * How the CTR job runs as a process, wherever it is started (`npm start`, `pnpm job:start`, the e2e bench;
 * `pnpm job` in package.json says the same): bounded memory.
 * - `MALLOC_ARENA_MAX=2`: the Kafka client's threads each got a glibc malloc arena of their own, and freed
 *   buffers stayed in them (~80 MB of the job's RSS on a 1M-event backlog).
 * - `--max-old-space-size` (`JOB_HEAP_MB`, default 256): V8 let its heap grow to several times the live data
 *   between full collections; bounded, it collects sooner (10k products: peak ~280 MB RSS instead of ~370;
 *   100k products: ~330 MB instead of ~560). Raise it for far more keys: a heap too small ends the job.
 */
export function jobService(extra: Partial<Service> = {}): Service {
  const heap = process.env.JOB_HEAP_MB ?? '256'
  return {
    name: 'job',
    entry: 'packages/ctr-topology/src/main.ts',
    nodeArgs: [`--max-old-space-size=${heap}`],
    ...extra,
    env: { MALLOC_ARENA_MAX: process.env.MALLOC_ARENA_MAX ?? '2', ...extra.env },
  }
}
