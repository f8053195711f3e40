import { isUtf8 } from 'node:buffer'
import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { fieldSet, JsonSyntaxError, readFields } from './json-fields.js'

const WANTED = ['a', 'product_id', 'timestamp', 'é', '']
const fields = fieldSet(WANTED)

/** What JSON.parse makes of the bytes when they are UTF-8 (RFC 8259 §8.1), reduced to the wanted top-level fields. */
function expected(bytes: Buffer): { ok: true; value: unknown } | { ok: false } {
  if (!isUtf8(bytes)) return { ok: false }
  let v: unknown
  try {
    v = JSON.parse(bytes.toString('utf8'))
  } catch {
    return { ok: false }
  }
  if (typeof v !== 'object' || v === null || Array.isArray(v)) return { ok: true, value: v }
  const out: Record<string, unknown> = {}
  for (const k of WANTED) if (Object.hasOwn(v, k)) out[k] = (v as Record<string, unknown>)[k]
  return { ok: true, value: out }
}

function actual(bytes: Buffer): { ok: true; value: unknown } | { ok: false } {
  try {
    return { ok: true, value: readFields(bytes, fields) }
  } catch (e) {
    expect(e).toBeInstanceOf(JsonSyntaxError)
    return { ok: false }
  }
}

const key = fc.constantFrom(...WANTED, 'b', 'user_id', 'a\\u0062', 'x"y')
const doc = fc.oneof(
  fc.json({ maxDepth: 3 }),
  fc
    .dictionary(key, fc.jsonValue({ maxDepth: 2 }), { maxKeys: 6 })
    .map((o) => JSON.stringify(o, null, Math.random() < 0.3 ? 1 : undefined)),
  fc.constantFrom(
    '{"a":01}',
    '{"a":1.}',
    '{"a":-}',
    '{"a":1e}',
    '{"a":"\\x"}',
    '{"a":"\t"}',
    '{"a":1,}',
    '{"a" 1}',
    ' {} ',
    '{}x',
    '\ufeff{}',
    '{"a":"\\u12G4"}',
    '{"a":tru}',
    '[1,]',
    '{"a":-0}',
    '{"a":12345678901234567890}',
    '{"a":1E+2}',
  ),
)
const mutated = fc
  .tuple(doc, fc.nat(), fc.integer({ min: 0, max: 255 }), fc.constantFrom('insert', 'delete', 'replace'))
  .map(([s, pos, byte, op]) => {
    const b = Buffer.from(s, 'utf8')
    const p = b.length === 0 ? 0 : pos % b.length
    if (op === 'insert') return Buffer.concat([b.subarray(0, p), Buffer.from([byte]), b.subarray(p)])
    if (op === 'delete') return Buffer.concat([b.subarray(0, p), b.subarray(p + 1)])
    const c = Buffer.from(b)
    if (c.length) c[p] = byte
    return c
  })

describe('readFields', () => {
  it('agrees with JSON.parse on valid and broken documents (accept/reject and the values read)', () => {
    fc.assert(
      fc.property(
        fc.oneof(
          doc.map((s) => Buffer.from(s, 'utf8')),
          mutated,
        ),
        (bytes) => {
          expect(actual(bytes)).toEqual(expected(bytes))
        },
      ),
      { numRuns: 5000 },
    )
  }, 60_000)

  it('reads only the wanted fields and says where the syntax breaks', () => {
    expect(
      readFields(Buffer.from('{"a": 1, "b": {"deep": [1, 2, {"x": null}]}, "product_id": "p-1"}'), fields),
    ).toEqual({
      a: 1,
      product_id: 'p-1',
    })
    expect(() => readFields(Buffer.from('{"a": 1, "b": tru}'), fields)).toThrow(
      /bad literal: unexpected byte '}' at position 17/,
    )
  })

  it('rejects bytes that are not UTF-8 instead of reading them as U+FFFD, in read and skipped fields', () => {
    const doc = (value: number[], key = 'product_id') =>
      Buffer.concat([Buffer.from(`{"${key}":"p`), Buffer.from(value), Buffer.from('"}')])
    // Decoded, each of these would be "p\ufffd": different ids, one string.
    for (const bad of [[0xff], [0xfe], [0xc3], [0xed, 0xa0, 0x80], [0xc0, 0xaf], [0xf4, 0x90, 0x80, 0x80]]) {
      for (const key of ['product_id', 'user_id', 'a\\u0062'])
        expect(() => readFields(doc(bad, key), fields), `${key} ${bad}`).toThrow(
          new JsonSyntaxError('invalid UTF-8 in a string (JSON text must be UTF-8)'),
        )
    }
    expect(readFields(doc([0xc3, 0xa9]), fields)).toEqual({ product_id: 'pé' })
    expect(readFields(doc([0xf0, 0x9f, 0x98, 0x80]), fields)).toEqual({ product_id: 'p😀' })
    // An escaped lone surrogate is valid JSON: the reader returns it, the schema of the event judges it.
    expect(readFields(Buffer.from('{"product_id":"p\\ud800"}'), fields)).toEqual({ product_id: 'p\ud800' })
  })
})
