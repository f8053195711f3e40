import type { Service } from './background.js'
import { JOB_BUNDLE } from './job-build.js'

/**
 * How the CTR job runs as a process, wherever it is started (`npm start`, `pnpm job:start`, the e2e bench;
 * `pnpm job` in package.json says the same): bounded memory.
 * - The bundle `.build/job.mjs` (job-build.ts; build it with `buildJob()` first), not the sources through tsx.
 * - `MALLOC_ARENA_MAX=2`: the Kafka client's threads each got a glibc malloc arena of their own, and freed
 *   buffers stayed in them (~80 MB of the job's RSS on a 1M-event backlog).
 * - `--max-old-space-size` (`JOB_HEAP_MB`, default 256): V8 let its heap grow to several times the live data
 *   between full collections; bounded, it collects sooner (10k products: peak ~280 MB RSS instead of ~370;
 *   100k products: ~330 MB instead of ~560). Raise it for far more keys: a heap too small ends the job.
 * - `--max-semi-space-size=8`: a young generation of 8 MB semi-spaces instead of 16; the job allocates much and
 *   keeps little of it, so scavenges stay cheap (bounded 1M-event runs: as fast) and the peak RSS is ~10-20 MB lower
 *   (auto: 259 vs 280 MB; single: 244 vs 256). 4 MB was slower and no smaller.
 * - `JOB_NODE_ARGS`: more node flags, space-separated, after these (e.g. `--cpu-prof --cpu-prof-dir=/tmp/prof` to
 *   profile the job in the e2e bench: node refuses `--cpu-prof` in NODE_OPTIONS).
 */
export function jobService(extra: Partial<Service> = {}): Service {
  const heap = process.env.JOB_HEAP_MB ?? '256'
  return {
    name: 'job',
    entry: JOB_BUNDLE,
    nodeArgs: [
      `--max-old-space-size=${heap}`,
      '--max-semi-space-size=8',
      ...(process.env.JOB_NODE_ARGS ?? '').split(' ').filter(Boolean),
    ],
    ...extra,
    env: { MALLOC_ARENA_MAX: process.env.MALLOC_ARENA_MAX ?? '2', ...extra.env },
  }
}
