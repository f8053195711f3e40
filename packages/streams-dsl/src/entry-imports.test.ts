import { execFile } from 'node:child_process'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { promisify } from 'node:util'
import { describe, expect, it } from 'vitest'

// What each public entry loads. A user who writes unit tests with `@ctr/streams-dsl/testing`, or only describes a
// topology with `@ctr/streams-dsl`, must not need the native Kafka client (a compiled addon) or a Redis client:
// each entry is imported in a fresh node process whose loader hook records every module it resolves, and whose
// process.dlopen records every native addon.
const pkg = join(dirname(fileURLToPath(import.meta.url)), '..')
const tsx = join(pkg, '..', '..', 'node_modules', 'tsx', 'dist', 'esm', 'index.mjs')

const hooks = `
export async function resolve(specifier, context, next) {
  const r = await next(specifier, context)
  globalThis.__port?.postMessage(r.url)
  return r
}
export function initialize({ port }) { globalThis.__port = port }
`

const probe = (entry: string) => `
import { register } from 'node:module'
import { MessageChannel } from 'node:worker_threads'
const { port1, port2 } = new MessageChannel()
const seen = []
port1.on('message', (url) => seen.push(url))
port1.unref()
register('data:text/javascript,${encodeURIComponent(hooks)}', { data: { port: port2 }, transferList: [port2] })
const addons = []
const dlopen = process.dlopen
process.dlopen = (m, file, ...rest) => { addons.push(file); return dlopen(m, file, ...rest) }
await import('${entry}')
await new Promise((r) => setTimeout(r, 200))
console.log(JSON.stringify({ seen, addons }))
`

async function load(entry: string): Promise<{ seen: string[]; addons: string[] }> {
  const { stdout } = await promisify(execFile)(
    process.execPath,
    ['--import', tsx, '--input-type=module', '-e', probe(entry)],
    { cwd: pkg, maxBuffer: 64 * 2 ** 20 },
  )
  return JSON.parse(stdout.trim().split('\n').at(-1) as string)
}

const heavy = /@confluentinc|node-rdkafka|ioredis|\.node$/

describe('what each entry loads', () => {
  it.each(['@ctr/streams-dsl/testing', '@ctr/streams-dsl'])(
    '%s loads no Kafka or Redis client and no native addon',
    { timeout: 60_000 },
    async (entry) => {
      const { seen, addons } = await load(entry)
      expect(seen.length).toBeGreaterThan(10) // the hook saw the entry's own modules
      expect(seen.filter((u) => heavy.test(u))).toEqual([])
      expect(addons).toEqual([])
    },
  )

  // the probe itself: the Kafka entry does load the client, so a probe that saw nothing would fail here
  it('@ctr/streams-dsl/kafka loads the native client (the probe sees it)', { timeout: 60_000 }, async () => {
    const { seen } = await load('@ctr/streams-dsl/kafka')
    expect(seen.some((u) => u.includes('@confluentinc/kafka-javascript'))).toBe(true)
  })

  // the persistent state store's addon is loaded by its own entry only (the two above load none)
  it('@ctr/streams-dsl/state loads better-sqlite3 and no Kafka or Redis client', { timeout: 60_000 }, async () => {
    const { seen } = await load('@ctr/streams-dsl/state')
    expect(seen.some((u) => u.includes('better-sqlite3'))).toBe(true)
    expect(seen.filter((u) => /@confluentinc|node-rdkafka|ioredis/.test(u))).toEqual([])
  })
})
