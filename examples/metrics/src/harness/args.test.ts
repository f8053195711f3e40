import { describe, expect, it } from 'vitest'
import { CATALOG } from '../catalog.js'
import { parseCommand, usage } from './args.js'

const NAMES =
  'page-views, top-products, user-sessions, user-bursts, kafka-output, click-attribution, attributed-ctr, category-ctr, unique-clicks'
const error = (argv: string[]) => {
  const c = parseCommand(argv, CATALOG)
  if (c.kind !== 'error') throw new Error(`expected an error for ${argv.join(' ')}, got ${c.kind}`)
  return c.message
}

describe('parseCommand', () => {
  it('runs a named example with the producer until Ctrl-C by default', () => {
    expect(parseCommand(['page-views'], CATALOG)).toEqual({
      kind: 'run',
      name: 'page-views',
      options: { durationS: undefined, producer: true, inputTopic: undefined, outputTopic: undefined },
    })
  })

  it('reads the flags', () => {
    const c = parseCommand(
      ['kafka-output', '--duration', '2.5', '--no-producer', '--input-topic', 'in.1', '--output-topic', 'out_2'],
      CATALOG,
    )
    expect(c).toEqual({
      kind: 'run',
      name: 'kafka-output',
      options: { durationS: 2.5, producer: false, inputTopic: 'in.1', outputTopic: 'out_2' },
    })
    expect(parseCommand(['--help'], CATALOG)).toEqual({ kind: 'help' })
    expect(parseCommand(['top-products', '-h'], CATALOG)).toEqual({ kind: 'help' })
  })

  it('lists the examples in one line for a missing or unknown name', () => {
    expect(error([])).toBe(`name an example: pnpm example <name>, one of ${NAMES}`)
    expect(error(['page-view'])).toBe(`unknown example "page-view"; pnpm example <name> takes one of ${NAMES}`)
    expect(error(['page-views', 'top-products'])).toBe(
      `one example at a time, not page-views and top-products; one of ${NAMES}`,
    )
  })

  it.each([
    [['page-views', '--duration', 'soon'], '--duration must be a number of seconds > 0, not "soon"'],
    [['page-views', '--duration', '0'], '--duration must be a number of seconds > 0, not "0"'],
    [['page-views', '--duration', ''], '--duration must be a number of seconds > 0, not ""'],
    [
      ['page-views', '--input-topic', 'a b'],
      '--input-topic "a b" is not a topic name: 1-249 characters of a-z A-Z 0-9 . _ -',
    ],
    [
      ['page-views', '--output-topic', 'x'],
      '--output-topic: page-views writes its results to Redis, not to a Kafka topic',
    ],
  ])('rejects %j with one line', (argv, message) => {
    expect(error(argv)).toBe(message)
  })

  it('rejects an unknown flag or a flag without its value in one line naming the flags', () => {
    expect(error(['page-views', '--rate', '5'])).toMatch(
      /^Unknown option '--rate'; pnpm example <name> takes --duration/,
    )
    expect(error(['page-views', '--duration'])).toMatch(/--duration.*argument.*; pnpm example <name> takes/)
    for (const argv of [
      ['x', '--rate'],
      ['page-views', '--duration'],
    ])
      expect(error(argv)).not.toContain('\n')
  })
})

describe('usage', () => {
  it('lists every example with what it computes', () => {
    const text = usage(CATALOG)
    for (const e of CATALOG) expect(text).toContain(`  ${e.name}`)
    expect(text).toMatch(/page-views +views per page in the last minute/)
  })
})
