import type { z } from 'zod'
import { DecodeError, type Serde } from '../core/serde.js'
import { fieldSet, JsonSyntaxError, parseUtf8Json, readFields } from './json-fields.js'

export { DecodeError, type DecodeFailureReason, type Serde } from '../core/serde.js'

/**
 * Options of {@link json}: swap the parser or the validator without changing the topology.
 *
 * @example
 * json(View, { validate: (v) => (isView(v) ? v : 'not a view') }) // a hand-written validator instead of zod
 */
export type JsonSerdeOptions<T> = {
  /**
   * Parses bytes into a plain value; throw to reject as `invalid_json`. Default: for a plain `z.object` schema,
   * a reader that validates the JSON and builds only the schema's top-level fields (see `readFields`);
   * otherwise `JSON.parse` of the text. Either way, bytes that are not UTF-8 are `invalid_json` (decoding would turn
   * them into U+FFFD, and different ids into the same string).
   */
  parse?: (bytes: Buffer) => unknown
  /** Replaces zod validation: return the typed value, or a string saying what is wrong (`invalid_event`). */
  validate?: (value: unknown) => T | string
}

function describeIssue(error: z.ZodError): string {
  const issue = error.issues[0]
  if (!issue) return 'does not match the schema'
  const path = issue.path.length ? issue.path.join('.') : 'value'
  return `${path}: ${issue.message}`
}

/** Top-level keys of a plain zod object schema (unknown keys stripped), or undefined for any other schema. */
function plainObjectKeys(schema: z.ZodType): string[] | undefined {
  const def = (schema as unknown as { _zod?: { def?: { type?: string; shape?: object; catchall?: unknown } } })._zod
    ?.def
  if (def?.type !== 'object' || !def.shape || def.catchall !== undefined) return undefined
  const keys = Object.keys(def.shape)
  return keys.includes('__proto__') ? undefined : keys
}

function defaultParser(schema: z.ZodType): (bytes: Buffer) => unknown {
  const keys = plainObjectKeys(schema)
  if (keys) {
    const fields = fieldSet(keys)
    return (bytes) => readFields(bytes, fields)
  }
  return parseUtf8Json
}

/**
 * A JSON serde validated by a zod schema: the schema types the stream.
 *
 * @example
 * const Click = z.object({ product_id: z.string().min(1).max(128), timestamp: z.number() })
 * const clicks = app.source(topic('clicks', { value: json(Click), timestamp: (e) => e.timestamp }))
 */
export function json<S extends z.ZodType>(schema: S, options: JsonSerdeOptions<z.output<S>> = {}): Serde<z.output<S>> {
  type T = z.output<S>
  const parse = options.parse ?? defaultParser(schema)
  const validate =
    options.validate ??
    ((value: unknown): T | string => {
      const r = schema.safeParse(value)
      return r.success ? (r.data as T) : describeIssue(r.error)
    })
  return {
    name: 'json',
    decode(bytes: Buffer): T {
      let value: unknown
      try {
        value = parse(bytes)
      } catch (e) {
        if (e instanceof DecodeError) throw e
        const why = e instanceof JsonSyntaxError || e instanceof SyntaxError ? e.message : String(e)
        throw new DecodeError('invalid_json', `not JSON: ${why}`)
      }
      const r = validate(value)
      if (typeof r === 'string') throw new DecodeError('invalid_event', r)
      return r
    },
    encode: (value: T) => Buffer.from(JSON.stringify(value)),
  }
}

/**
 * UTF-8 text, unvalidated.
 *
 * @example
 * app.source(topic('logs', { value: text() }))
 */
export function text(): Serde<string> {
  return { name: 'text', decode: (b) => b.toString('utf8'), encode: (s) => Buffer.from(s, 'utf8') }
}
