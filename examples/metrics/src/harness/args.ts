import { parseArgs } from 'node:util'

/** How `pnpm example <name>` runs an example. */
export type RunOptions = {
  /** Stop after this many seconds as Ctrl-C would; undefined runs until Ctrl-C. */
  readonly durationS: number | undefined
  /** Run the example's producer next to the job (default); `--no-producer` runs the job alone. */
  readonly producer: boolean
  /** Overrides of the example's topics. */
  readonly inputTopic: string | undefined
  readonly outputTopic: string | undefined
}

/** What the command line asks for. */
export type Command =
  | { readonly kind: 'help' }
  | { readonly kind: 'run'; readonly name: string; readonly options: RunOptions }
  | { readonly kind: 'error'; readonly message: string }

/** What the parser knows of each example: its name and whether it writes to a Kafka topic. */
export type ExampleName = { readonly name: string; readonly writesKafka: boolean }

const TOPIC = /^[A-Za-z0-9._-]{1,249}$/
const FLAGS = '--duration <seconds>, --no-producer, --input-topic <topic>, --output-topic <topic>'

/**
 * Reads `pnpm example <name> [flags]`. Anything wrong is one line saying what and listing what is accepted.
 *
 * @example
 * parseCommand(['page-views', '--duration', '30'], examples) // { kind: 'run', name: 'page-views', options: { durationS: 30, ... } }
 */
export function parseCommand(argv: readonly string[], examples: readonly ExampleName[]): Command {
  const names = examples.map((e) => e.name).join(', ')
  const error = (message: string): Command => ({ kind: 'error', message })
  let parsed: ReturnType<typeof parse>
  try {
    parsed = parse(argv)
  } catch (e) {
    const why = (e as Error).message.split('\n')[0]?.replace(/\. To specify a positional.*$/, '')
    return error(`${why}; pnpm example <name> takes ${FLAGS}`)
  }
  const { values, positionals } = parsed
  if (values.help) return { kind: 'help' }
  if (positionals.length === 0) return error(`name an example: pnpm example <name>, one of ${names}`)
  if (positionals.length > 1) return error(`one example at a time, not ${positionals.join(' and ')}; one of ${names}`)
  const name = positionals[0] as string
  const example = examples.find((e) => e.name === name)
  if (!example) return error(`unknown example "${name}"; pnpm example <name> takes one of ${names}`)

  let durationS: number | undefined
  if (values.duration !== undefined) {
    durationS = Number(values.duration)
    if (values.duration.trim() === '' || !Number.isFinite(durationS) || durationS <= 0)
      return error(`--duration must be a number of seconds > 0, not "${values.duration}"`)
  }
  for (const flag of ['input-topic', 'output-topic'] as const) {
    const t = values[flag]
    if (t !== undefined && !TOPIC.test(t))
      return error(`--${flag} "${t}" is not a topic name: 1-249 characters of a-z A-Z 0-9 . _ -`)
  }
  if (values['output-topic'] !== undefined && !example.writesKafka)
    return error(`--output-topic: ${name} writes its results to Redis, not to a Kafka topic`)
  return {
    kind: 'run',
    name,
    options: {
      durationS,
      producer: !values['no-producer'],
      inputTopic: values['input-topic'],
      outputTopic: values['output-topic'],
    },
  }
}

function parse(argv: readonly string[]) {
  return parseArgs({
    args: [...argv],
    allowPositionals: true,
    strict: true,
    options: {
      help: { type: 'boolean', short: 'h' },
      duration: { type: 'string' },
      'no-producer': { type: 'boolean' },
      'input-topic': { type: 'string' },
      'output-topic': { type: 'string' },
    },
  })
}

/** The `--help` text: the examples with what they compute, and the flags. */
export function usage(examples: readonly { readonly name: string; readonly summary: string }[]): string {
  const width = Math.max(...examples.map((e) => e.name.length))
  return [
    'Usage: pnpm example <name> [flags]   runs the example and a producer for its input; Ctrl-C stops both',
    '',
    ...examples.map((e) => `  ${e.name.padEnd(width)}  ${e.summary}`),
    '',
    '  --duration <seconds>    stop after this long, as Ctrl-C would',
    '  --no-producer           run the job alone (send your own events to its input topic)',
    '  --input-topic <topic>   read another topic than the example default',
    '  --output-topic <topic>  write to another topic (examples that write to Kafka)',
    '',
    'Settings of the job come from the environment: KAFKA_BROKERS, REDIS_URL, APPLICATION_ID, JOB_PORT, LOG_LEVEL, ...',
  ].join('\n')
}
