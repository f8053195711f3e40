import { mulberry32 } from '@ctr/producers'
import { ensureTopics, KafkaProducer } from '@ctr/streams-dsl/kafka'
import { createRunner, loadConfig, type Runner } from '@ctr/streams-dsl/runner'
import type { RunOptions } from './args.js'
import type { Example, ExampleContext } from './example.js'
import { printingSink } from './printing-sink.js'

/** How often the producer sends what its generator made. */
const PRODUCE_EVERY_MS = 200
/** How long a stop waits for the producer's last send (Kafka may be gone) before closing it anyway. */
const PRODUCER_STOP_MS = 5_000

const firstLine = (e: unknown): string => String((e as Error)?.message ?? e).split('\n')[0] ?? ''
const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms))

/**
 * `pnpm example <name>`: creates the example's topics if missing, starts its topology on the runner and its
 * producer in this process, prints each write of results, and on Ctrl-C (SIGINT, SIGTERM) or after
 * `--duration` stops the producer, then the job (the runner's clean stop: commit, flush, leave the group),
 * and prints where the results are. Resolves with the exit code: 0 after a clean stop, 1 when the job could
 * not start or failed (one line saying why), 75 when output could not be flushed at stop. A second Ctrl-C
 * exits at once (130).
 *
 * @example
 * process.exit(await runExample(pageViewsExample, { durationS: undefined, producer: true, inputTopic: undefined, outputTopic: undefined }))
 */
export async function runExample<R>(
  ex: Example<R>,
  options: RunOptions,
  env: Readonly<Record<string, string | undefined>> = process.env,
): Promise<number> {
  const say = (line: string) => console.log(`[${ex.name}] ${line}`)
  const fail = (line: string) => {
    console.error(`[${ex.name}] ${line}`)
    return 1
  }

  // The job's settings as `pnpm job` reads them; an example is quiet (warnings only) and takes a free port
  // unless told otherwise, so it runs next to `npm start`.
  let config: ReturnType<typeof loadConfig>
  try {
    config = loadConfig({ LOG_LEVEL: 'warn', JOB_PORT: '0', ...env }, { applicationId: `example-${ex.name}` })
  } catch (e) {
    return fail(firstLine(e))
  }
  const ctx: ExampleContext = {
    applicationId: config.applicationId,
    input: options.inputTopic ?? ex.input,
    secondInput: ex.secondInput,
    output: options.outputTopic ?? ex.output,
    kafkaBrokers: config.kafkaBrokers,
    redisUrl: config.redisUrl,
  }

  let signals = 0
  const stopSignal = new Promise<string>((resolve) => {
    const onSignal = (signal: NodeJS.Signals) => {
      if (++signals > 1) {
        console.error(`[${ex.name}] ${signal} again: exiting without waiting for the clean stop`)
        process.exit(130)
      }
      resolve(signal)
    }
    process.on('SIGINT', onSignal)
    process.on('SIGTERM', onSignal)
  })

  let runner: Runner
  let where: string
  let written = 0
  try {
    await ensureTopics(
      [ctx.input, ...(ctx.secondInput ? [ctx.secondInput] : []), ...(ctx.output ? [ctx.output] : [])].map((topic) => ({
        topic,
        partitions: 3,
      })),
      config.kafkaBrokers,
    )
    const results = ex.results(ctx)
    where = results.where
    const sink = printingSink(results.sink, (records) => {
      written += records.length
      for (const line of ex.print(records)) say(line)
    })
    runner = createRunner(ex.topology(ctx, sink), { config, requireRedis: ex.usesRedis })
  } catch (e) {
    return fail(firstLine(e))
  }
  // a Ctrl-C during the start (which can wait for the group) stops as soon as the runner runs
  try {
    await runner.start()
  } catch (e) {
    await runner.stop().catch(() => {})
    return fail(firstLine(e))
  }

  say(ex.summary)
  say(`results: ${where}`)
  say(
    `reading Kafka topic ${ctx.input}${ctx.secondInput ? ` and ${ctx.secondInput}` : ''} on ${ctx.kafkaBrokers} as ${ctx.applicationId}; bad records go to ${ctx.applicationId}-dlq; ` +
      `status: http://${config.host}:${runner.port}/status`,
  )

  const producer = options.producer ? startProducer(ex, ctx) : undefined
  say(
    producer
      ? `producing to ${ctx.input}${ctx.secondInput ? ` and ${ctx.secondInput}` : ''}; results print as each window closes. Ctrl-C stops`
      : `no producer (--no-producer): send events to ${ctx.input}${ctx.secondInput ? ` and ${ctx.secondInput}` : ''}. Ctrl-C stops`,
  )

  const timer = options.durationS !== undefined ? sleep(options.durationS * 1000).then(() => 'duration') : undefined
  const ended = await Promise.race([
    stopSignal,
    runner.finished.then((code) => `job stopped by itself (exit code ${code})`),
    ...(timer ? [timer] : []),
  ])
  say(`stopping (${ended})`)

  if (producer) {
    const sent = await producer.stop()
    say(`producer stopped after ${sent.toLocaleString('en')} events`)
  }
  await runner.stop()
  const code = await runner.finished
  if (code !== 0) {
    const error = runner.status().error
    console.error(`[${ex.name}] ${error ? firstLine(error) : `the job stopped with exit code ${code}`}`)
  }
  say(`${written.toLocaleString('en')} results written this run; they are in ${where}`)
  return code
}

/** The example's producer: its generator's records sent to the input topic every {@link PRODUCE_EVERY_MS}. */
function startProducer<R>(ex: Example<R>, ctx: ExampleContext): { stop(): Promise<number> } {
  const producer = new KafkaProducer({ brokers: ctx.kafkaBrokers, clientId: `${ctx.applicationId}-producer` })
  const generator = ex.producer(mulberry32(Math.floor(Math.random() * 2 ** 31)), Date.now())
  let stopping = false
  let sent = 0
  let lastError = ''
  const loop = (async () => {
    while (!stopping) {
      const started = Date.now()
      const records = generator.tick(started)
      const second = ctx.secondInput !== undefined ? (generator.tickSecond?.(started) ?? []) : []
      try {
        await producer.send(ctx.input, records)
        sent += records.length
        if (second.length > 0) {
          await producer.send(ctx.secondInput as string, second)
          sent += second.length
        }
      } catch (e) {
        // a permanent failure (e.g. the topic was deleted): said once, the loop goes on
        if (firstLine(e) !== lastError) console.error(`[${ex.name}] producer: ${firstLine(e)}`)
        lastError = firstLine(e)
      }
      await sleep(Math.max(0, PRODUCE_EVERY_MS - (Date.now() - started)))
    }
  })()
  return {
    async stop() {
      stopping = true
      await Promise.race([loop, sleep(PRODUCER_STOP_MS)])
      await Promise.race([producer.close(), sleep(PRODUCER_STOP_MS)])
      return sent
    },
  }
}
