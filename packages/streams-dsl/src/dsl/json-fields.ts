/**
 * A JSON reader that validates the whole document byte by byte, as strictly as `JSON.parse`, but builds
 * only the top-level fields asked for: no UTF-8 decoding of the whole text, no strings or objects for the
 * fields the topology does not read. Anything it cannot take on the fast path (a top level that is not an
 * object, escapes in a key) falls back to `JSON.parse`, so the outcome is always `JSON.parse`'s, with one rule
 * stricter than `JSON.parse` of `buffer.toString()`: the text must be UTF-8 (RFC 8259 §8.1). Decoding would turn
 * every invalid byte sequence into U+FFFD, so `"p\xff"` and `"p\xfe"` would become the same string; such a
 * document is rejected instead.
 */
import { isUtf8 } from 'node:buffer'

/** Thrown for bytes that are not JSON. */
export class JsonSyntaxError extends Error {
  override name = 'JsonSyntaxError'
}

const QUOTE = 0x22
const BACKSLASH = 0x5c

class Reader {
  i = 0
  /** Whether a string held a byte >= 0x80 (the only place one may be): then the whole text is checked for UTF-8. */
  nonAscii = false
  constructor(readonly b: Buffer) {}

  fail(what: string): never {
    const at = this.i < this.b.length ? `byte '${String.fromCharCode(this.b[this.i] as number)}'` : 'end of input'
    throw new JsonSyntaxError(`${what}: unexpected ${at} at position ${this.i}`)
  }

  ws(): void {
    const b = this.b
    let i = this.i
    for (let c = b[i]; c === 0x20 || c === 0x0a || c === 0x0d || c === 0x09; c = b[++i]);
    this.i = i
  }

  /** Scans a string starting at the opening quote; returns a bit mask: 1 = has escapes, 2 = has non-ASCII bytes. */
  string(): number {
    const b = this.b
    let i = this.i + 1
    let flags = 0
    for (;;) {
      const c = b[i]
      if (c === undefined) {
        this.i = i
        this.fail('unterminated string')
      }
      if (c === QUOTE) break
      if (c < 0x20) {
        this.i = i
        this.fail('control character in string')
      }
      if (c === BACKSLASH) {
        flags |= 1
        const e = b[++i]
        if (e === 0x75) {
          for (let k = 1; k <= 4; k++) {
            const h = b[i + k] ?? 0
            if (!((h >= 0x30 && h <= 0x39) || (h >= 0x41 && h <= 0x46) || (h >= 0x61 && h <= 0x66))) {
              this.i = i + k
              this.fail('bad \\u escape')
            }
          }
          i += 4
        } else if (
          !(
            e === QUOTE ||
            e === BACKSLASH ||
            e === 0x2f ||
            e === 0x62 ||
            e === 0x66 ||
            e === 0x6e ||
            e === 0x72 ||
            e === 0x74
          )
        ) {
          this.i = i
          this.fail('bad escape')
        }
      } else if (c >= 0x80) flags |= 2
      i++
    }
    this.i = i + 1
    if (flags & 2) this.nonAscii = true
    return flags
  }

  /** Scans a number; returns its value when it is a plain integer of at most 15 digits, else NaN (read it from the text). */
  number(): number {
    const b = this.b
    let i = this.i
    let negative = false
    if (b[i] === 0x2d) {
      negative = true
      i++
    }
    let value = 0
    const first = b[i]
    const digitsStart = i
    if (first === 0x30) i++
    else if (first !== undefined && first >= 0x31 && first <= 0x39) {
      for (let c = b[i]; c !== undefined && c >= 0x30 && c <= 0x39; c = b[++i]) value = value * 10 + (c - 0x30)
    } else {
      this.i = i
      this.fail('bad number')
    }
    let simple = i - digitsStart <= 15
    if (b[i] === 0x2e) {
      simple = false
      if (!this.digits(++i)) return Number.NaN
      i = this.i
    }
    if (b[i] === 0x65 || b[i] === 0x45) {
      simple = false
      i++
      if (b[i] === 0x2b || b[i] === 0x2d) i++
      this.digits(i)
      i = this.i
    }
    this.i = i
    return simple ? (negative ? -value : value) : Number.NaN
  }

  private digits(from: number): boolean {
    const b = this.b
    let i = from
    for (let c = b[i]; c !== undefined && c >= 0x30 && c <= 0x39; c = b[++i]);
    this.i = i
    if (i === from) this.fail('bad number')
    return true
  }

  literal(word: string): void {
    for (let k = 0; k < word.length; k++) {
      if (this.b[this.i + k] !== word.charCodeAt(k)) {
        this.i += k
        this.fail('bad literal')
      }
    }
    this.i += word.length
  }

  /** Validates any value and moves past it. */
  skip(depth = 0): void {
    if (depth > 512) this.fail('nesting too deep')
    this.ws()
    const c = this.b[this.i]
    if (c === QUOTE) this.string()
    else if (c === 0x7b || c === 0x5b) this.container(c === 0x7b, depth)
    else if (c === 0x74) this.literal('true')
    else if (c === 0x66) this.literal('false')
    else if (c === 0x6e) this.literal('null')
    else this.number()
  }

  private container(isObject: boolean, depth: number): void {
    const close = isObject ? 0x7d : 0x5d
    this.i++
    this.ws()
    if (this.b[this.i] === close) {
      this.i++
      return
    }
    for (;;) {
      if (isObject) {
        this.ws()
        if (this.b[this.i] !== QUOTE) this.fail('expected a key')
        this.string()
        this.ws()
        if (this.b[this.i] !== 0x3a) this.fail("expected ':'")
        this.i++
      }
      this.skip(depth + 1)
      this.ws()
      const c = this.b[this.i]
      this.i++
      if (c === close) return
      if (c !== 0x2c) {
        this.i--
        this.fail(`expected ',' or '${String.fromCharCode(close)}'`)
      }
    }
  }
}

/** Node's Buffer slicers, undocumented but stable since Node 0.x; `toString(enc, a, b)` wraps them with argument checks. */
type FastSlices = Buffer & {
  latin1Slice(start: number, end: number): string
  utf8Slice(start: number, end: number): string
}

/** Compiled field lookup: the wanted top-level keys as bytes. */
export type FieldSet = { readonly names: readonly string[]; readonly bytes: readonly Buffer[] }

/**
 * Prepares the top-level keys to read.
 *
 * @example
 * const fields = fieldSet(['product_id', 'timestamp'])
 */
export function fieldSet(names: readonly string[]): FieldSet {
  return { names, bytes: names.map((n) => Buffer.from(n, 'utf8')) }
}

function matchKey(b: Buffer, start: number, end: number, fields: FieldSet): number {
  const len = end - start
  const all = fields.bytes
  for (let f = 0; f < all.length; f++) {
    const key = all[f] as Buffer
    if (key.length !== len) continue
    let k = 0
    while (k < len && key[k] === b[start + k]) k++
    if (k === len) return f
  }
  return -1
}

/**
 * Parses `bytes` as JSON; when it is an object, returns a new object with only the wanted top-level fields
 * (the others are validated and skipped). Throws {@link JsonSyntaxError} when the bytes are not JSON.
 *
 * @example
 * readFields(Buffer.from('{"a":1,"b":[2]}'), fieldSet(['a'])) // { a: 1 }
 */
export function readFields(bytes: Buffer, fields: FieldSet): unknown {
  const r = new Reader(bytes)
  if ((bytes[r.i] as number) <= 0x20) r.ws()
  if (bytes[r.i] !== 0x7b) return slowParse(bytes, fields)
  const out: Record<string, unknown> = {}
  r.i++
  if ((bytes[r.i] as number) <= 0x20) r.ws()
  if (bytes[r.i] === 0x7d) r.i++
  else
    for (;;) {
      if ((bytes[r.i] as number) <= 0x20) r.ws()
      if (bytes[r.i] !== QUOTE) r.fail('expected a key')
      const keyStart = r.i + 1
      if (r.string() & 1) return slowParse(bytes, fields) // escaped key: rare, let JSON.parse read it
      const f = matchKey(bytes, keyStart, r.i - 1, fields)
      if ((bytes[r.i] as number) <= 0x20) r.ws()
      if (bytes[r.i] !== 0x3a) r.fail("expected ':'")
      r.i++
      if ((bytes[r.i] as number) <= 0x20) r.ws()
      if (f < 0) r.skip(1)
      else out[fields.names[f] as string] = readValue(r, bytes)
      if ((bytes[r.i] as number) <= 0x20) r.ws()
      const c = bytes[r.i++]
      if (c === 0x7d) break
      if (c !== 0x2c) {
        r.i--
        r.fail("expected ',' or '}'")
      }
    }
  if ((bytes[r.i] as number) <= 0x20) r.ws()
  if (r.i !== bytes.length) r.fail('trailing data')
  // One native check (simdutf), and only for text with non-ASCII bytes.
  if (r.nonAscii && !isUtf8(bytes)) throw notUtf8()
  return out
}

/** The error for a document that is not UTF-8. */
function notUtf8(): JsonSyntaxError {
  return new JsonSyntaxError('invalid UTF-8 in a string (JSON text must be UTF-8)')
}

/**
 * `JSON.parse` of UTF-8 bytes that rejects text that is not UTF-8 (instead of reading U+FFFD for every bad byte);
 * throws {@link JsonSyntaxError}.
 *
 * @example
 * parseUtf8Json(Buffer.from('[1]')) // [1]
 */
export function parseUtf8Json(bytes: Buffer): unknown {
  if (!isUtf8(bytes)) throw notUtf8()
  try {
    return JSON.parse(bytes.toString('utf8'))
  } catch (e) {
    throw new JsonSyntaxError((e as Error).message)
  }
}

function readValue(r: Reader, b: Buffer): unknown {
  const start = r.i
  const c = b[start]
  if (c === QUOTE) {
    const flags = r.string()
    if (flags === 0) return (b as FastSlices).latin1Slice(start + 1, r.i - 1)
    if (flags === 2) return (b as FastSlices).utf8Slice(start + 1, r.i - 1)
    return JSON.parse(b.toString('utf8', start, r.i))
  }
  if (c === 0x74 || c === 0x66 || c === 0x6e) {
    r.skip(1)
    return c === 0x74 ? true : c === 0x66 ? false : null
  }
  if (c === 0x7b || c === 0x5b) {
    r.skip(1)
    return JSON.parse(b.toString('utf8', start, r.i))
  }
  const n = r.number()
  return Number.isNaN(n) ? Number(b.toString('latin1', start, r.i)) : n
}

function slowParse(bytes: Buffer, fields: FieldSet): unknown {
  const v = parseUtf8Json(bytes)
  if (typeof v !== 'object' || v === null || Array.isArray(v)) return v
  const out: Record<string, unknown> = {}
  for (const k of fields.names) if (Object.hasOwn(v, k)) out[k] = (v as Record<string, unknown>)[k]
  return out
}
