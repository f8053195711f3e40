import { connect, type Socket } from 'node:net'
import { DEFAULT_MAX_MESSAGE_BYTES } from '../../runtime/repartition/codec.js'
import { type Brokers, bootstrapServers } from './client.js'

export { DEFAULT_MAX_MESSAGE_BYTES }

/**
 * Topic settings as the brokers apply them (the topic's own value, else the broker's default). The Kafka client
 * in use has no DescribeConfigs call, so this speaks the Kafka protocol itself: one DescribeConfigs v1 request
 * (Kafka 2.0 and later, still served by 4.x) to the first bootstrap server that answers.
 */
export type TopicConfigs = ReadonlyMap<string, ReadonlyMap<string, string | null>>

const DESCRIBE_CONFIGS = 32
const TOPIC = 2

/**
 * Reads settings of existing topics (all of them when `names` is omitted); topics that do not exist are absent.
 *
 * @example
 * const configs = await describeTopicConfigs(['ctr-dlq'], '127.0.0.1:9092', ['max.message.bytes'])
 * Number(configs.get('ctr-dlq')?.get('max.message.bytes')) // 1048588
 */
export async function describeTopicConfigs(
  topics: readonly string[],
  brokers?: Brokers,
  names?: readonly string[],
  timeoutMs = 10_000,
): Promise<TopicConfigs> {
  const out = new Map<string, Map<string, string | null>>()
  if (topics.length === 0) return out
  const servers = bootstrapServers(brokers).split(',')
  let last: Error | undefined
  for (const server of servers) {
    try {
      const response = await request(server, describeConfigsRequest(topics, names), timeoutMs)
      for (const r of parseDescribeConfigs(response)) {
        // 3: UNKNOWN_TOPIC_OR_PARTITION
        if (r.error === 3) continue
        if (r.error !== 0) throw new Error(`describing topic ${r.name} failed: ${r.message ?? `error ${r.error}`}`)
        out.set(r.name, r.configs)
      }
      return out
    } catch (e) {
      last = e as Error
    }
  }
  throw new Error(`cannot read topic settings from ${servers.join(',')}: ${last?.message ?? 'no broker answered'}`)
}

/** `max.message.bytes` of a topic, or the broker default when unknown. */
export const maxMessageBytesOf = (configs: TopicConfigs, topic: string): number => {
  const v = Number(configs.get(topic)?.get('max.message.bytes'))
  return Number.isFinite(v) && v > 0 ? v : DEFAULT_MAX_MESSAGE_BYTES
}

function describeConfigsRequest(topics: readonly string[], names: readonly string[] | undefined): Buffer {
  const parts: Buffer[] = []
  const i8 = (n: number) => parts.push(Buffer.from([n & 0xff]))
  const i16 = (n: number) => {
    const b = Buffer.alloc(2)
    b.writeInt16BE(n)
    parts.push(b)
  }
  const i32 = (n: number) => {
    const b = Buffer.alloc(4)
    b.writeInt32BE(n)
    parts.push(b)
  }
  const str = (s: string) => {
    const b = Buffer.from(s, 'utf8')
    i16(b.length)
    parts.push(b)
  }
  // request header v1: api key, version, correlation id, client id
  i16(DESCRIBE_CONFIGS)
  i16(1)
  i32(1)
  str('streams-dsl-admin')
  i32(topics.length)
  for (const t of topics) {
    i8(TOPIC)
    str(t)
    if (names) {
      i32(names.length)
      for (const n of names) str(n)
    } else i32(-1)
  }
  i8(0) // include_synonyms
  const body = Buffer.concat(parts)
  const size = Buffer.alloc(4)
  size.writeInt32BE(body.length)
  return Buffer.concat([size, body])
}

type Described = { error: number; message: string | null; name: string; configs: Map<string, string | null> }

function parseDescribeConfigs(b: Buffer): Described[] {
  let at = 4 // correlation id
  const i8 = () => b.readInt8(at++)
  const i16 = () => {
    const v = b.readInt16BE(at)
    at += 2
    return v
  }
  const i32 = () => {
    const v = b.readInt32BE(at)
    at += 4
    return v
  }
  const str = (): string | null => {
    const n = i16()
    if (n < 0) return null
    const s = b.toString('utf8', at, at + n)
    at += n
    return s
  }
  i32() // throttle time
  const out: Described[] = []
  for (let r = i32(); r > 0; r--) {
    const error = i16()
    const message = str()
    i8() // resource type
    const name = str() ?? ''
    const configs = new Map<string, string | null>()
    for (let c = i32(); c > 0; c--) {
      const key = str() ?? ''
      const value = str()
      at += 3 // read_only, config_source, is_sensitive
      for (let s = i32(); s > 0; s--) {
        str()
        str()
        at++
      }
      configs.set(key, value)
    }
    out.push({ error, message, name, configs })
  }
  return out
}

/** Sends one framed request and returns the response frame (without its size). */
function request(server: string, frame: Buffer, timeoutMs: number): Promise<Buffer> {
  const at = server.lastIndexOf(':')
  const host = server.slice(0, at)
  const port = Number(server.slice(at + 1))
  return new Promise((resolve, reject) => {
    const socket: Socket = connect({ host, port })
    const chunks: Buffer[] = []
    let got = 0
    const timer = setTimeout(
      () => finish(new Error(`no answer from ${server} within ${timeoutMs / 1000} s`)),
      timeoutMs,
    )
    const finish = (err: Error | null, value?: Buffer) => {
      clearTimeout(timer)
      socket.destroy()
      if (err) reject(err)
      else resolve(value as Buffer)
    }
    socket.once('error', (e) => finish(e))
    socket.once('close', () => finish(new Error(`${server} closed the connection`)))
    socket.on('data', (d: Buffer) => {
      chunks.push(d)
      got += d.length
      if (got < 4) return
      const all = chunks.length === 1 ? (chunks[0] as Buffer) : Buffer.concat(chunks)
      const size = all.readInt32BE(0)
      if (got >= 4 + size) finish(null, all.subarray(4, 4 + size))
    })
    socket.write(frame)
  })
}
