/**
 * `pnpm job:start | job:stop | job:status | job:restart`: the CTR job in the background
 * (pid file .run/job.pid, log .run/logs/job.log). `pnpm job` runs it in the foreground instead.
 * Settings come from the environment (docs/contract.md §5, packages/ctr-topology/README.md).
 */
import { buildJob } from './lib/job-build.js'
import { jobService } from './lib/job-service.js'
import { serviceCommand } from './lib/service-cli.js'
import { runMain } from './lib/user-error.js'

const port = process.env.JOB_PORT ?? '8001'
const statusUrl = `http://127.0.0.1:${port}/status`

const command = process.argv[2]

await runMain(async () => {
  if (command === 'start' || command === 'restart') await buildJob()
  return serviceCommand(
    {
      service: jobService(),
      hint: `status ${statusUrl}, metrics http://127.0.0.1:${port}/metrics`,
      ready: async () => (await fetch(statusUrl, { signal: AbortSignal.timeout(1000) })).ok,
      readyTimeoutMs: 30_000,
    },
    command,
  )
})
