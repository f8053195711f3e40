/**
 * `pnpm producers:start [-- --rate 500 ...] | producers:stop | producers:status`: the impression and
 * click producers in the background (pid file .run/producers.pid, log .run/logs/producers.log).
 * `pnpm producers` runs them in the foreground instead; flags after `start` are passed on.
 */
import { serviceCommand } from './lib/service-cli.js'
import { runMain } from './lib/user-error.js'

const [command, ...args] = process.argv.slice(2).filter((a) => a !== '--')

await runMain(() =>
  serviceCommand(
    {
      service: { name: 'producers', entry: 'examples/producers/src/main.ts', args },
      ready: async (log) => log.includes('[producers] producing'),
      readyTimeoutMs: 15_000,
    },
    command,
  ),
)
