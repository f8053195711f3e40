/**
 * `pnpm example <name>`: runs one of the example metrics (catalog.ts) with a producer for its input, on the
 * local cluster (or KAFKA_BROKERS / REDIS_URL), until Ctrl-C. `pnpm example --help` lists them.
 */
import { CATALOG } from './catalog.js'
import { parseCommand, usage } from './harness/args.js'

const command = parseCommand(process.argv.slice(2), CATALOG)
if (command.kind === 'help') {
  console.log(usage(CATALOG))
  process.exit(0)
}
if (command.kind === 'error') {
  console.error(`[example] ${command.message}`)
  process.exit(2)
}
const example = CATALOG.find((e) => e.name === command.name)!
process.exit(await example.run(command.options))
