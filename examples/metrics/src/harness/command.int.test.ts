/**
 * `pnpm example` as a user runs it: the real command in a child process on the real cluster. kafka-output (the
 * example that needs no Redis) runs with its producer until its first results print, then gets SIGINT (Ctrl-C):
 * it stops cleanly (exit 0), says where the results are, and the output topic holds what it printed.
 * An unknown name is one line listing the examples, exit 2.
 */
import { type ChildProcess, spawn } from 'node:child_process'
import { fileURLToPath } from 'node:url'
import { consume, kafkaBrokers, uniqueTopic, waitFor } from '@ctr/testing'
import { expect, it } from 'vitest'

const MAIN = fileURLToPath(new URL('../main.ts', import.meta.url))

function start(args: string[], env: Record<string, string> = {}) {
  const child = spawn(process.execPath, ['--import', 'tsx', MAIN, ...args], {
    env: { ...process.env, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  })
  const out = { stdout: '', stderr: '' }
  child.stdout?.on('data', (b: Buffer) => {
    out.stdout += b.toString()
  })
  child.stderr?.on('data', (b: Buffer) => {
    out.stderr += b.toString()
  })
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)))
  return { child, out, exited }
}

const stop = (child: ChildProcess) => child.kill('SIGKILL')

it('runs kafka-output with its producer, prints results, and stops cleanly on Ctrl-C saying where they are', async () => {
  const input = uniqueTopic('orders')
  const output = uniqueTopic('category-revenue')
  const applicationId = uniqueTopic('example-kafka-output')
  const { child, out, exited } = start(['kafka-output', '--input-topic', input, '--output-topic', output], {
    KAFKA_BROKERS: kafkaBrokers(),
    APPLICATION_ID: applicationId,
  })
  try {
    // a result line: a window and at least one category's orders
    await waitFor(() => / UTC {2}\w+ \d+ orders? €/.test(out.stdout), {
      timeoutMs: 90_000,
      message: `a printed result (stdout so far: ${out.stdout}${out.stderr})`,
    })
    child.kill('SIGINT')
    expect(await exited).toBe(0)
  } finally {
    stop(child)
  }
  expect(out.stdout).toContain(`[kafka-output] results: Kafka topic ${output} on ${kafkaBrokers()}`)
  expect(out.stdout).toContain('[kafka-output] stopping (SIGINT)')
  const written = out.stdout.match(/\[kafka-output\] ([\d,]+) results written this run; they are in Kafka topic (\S+)/)
  expect(written?.[2]).toBe(output)
  const n = Number(written?.[1]?.replace(/,/g, ''))
  expect(n).toBeGreaterThan(0)
  expect(out.stderr).toBe('')

  const records = await consume(output, { count: n, timeoutMs: 30_000 })
  for (const r of records) {
    const v = JSON.parse(r.value as string)
    expect(r.key).toBe(v.category)
    expect(v.revenue_cents / v.orders).toBe(v.average_order_cents)
    expect(v.window_end - v.window_start).toBe(10_000)
  }
})

it('answers an unknown example with one line listing the examples, exit 2', async () => {
  const { out, exited } = start(['page-view'])
  expect(await exited).toBe(2)
  expect(out.stderr).toBe(
    '[example] unknown example "page-view"; pnpm example <name> takes one of page-views, top-products, user-sessions, user-bursts, kafka-output, click-attribution, attributed-ctr, category-ctr, unique-clicks\n',
  )
  expect(out.stdout).toBe('')
})
