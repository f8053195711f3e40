import { describe, expect, it } from 'vitest'
import { z } from 'zod'
import { DecodeError, json, text } from './serde.js'

const Event = z.object({ product_id: z.string().min(1).max(128), timestamp: z.number().optional() })
const failure = (f: () => unknown) => {
  try {
    f()
  } catch (e) {
    return e instanceof DecodeError ? { reason: e.reason, message: e.message } : { other: String(e) }
  }
  return undefined
}

describe('json serde', () => {
  it('decodes valid JSON into the schema type, ignoring unknown fields', () => {
    const v = json(Event).decode(Buffer.from('{"product_id":"p-1","timestamp":5,"extra":true}'))
    expect(v).toEqual({ product_id: 'p-1', timestamp: 5 })
  })

  it('fails with invalid_json for bytes that are not JSON', () => {
    expect(failure(() => json(Event).decode(Buffer.from('{"product_id":')))).toMatchObject({ reason: 'invalid_json' })
  })

  it('fails with invalid_json for bytes that are not UTF-8, whichever parser the schema gets', () => {
    const bytes = Buffer.concat([Buffer.from('{"product_id":"p'), Buffer.from([0xff]), Buffer.from('"}')])
    const notUtf8 = { reason: 'invalid_json', message: 'not JSON: invalid UTF-8 in a string (JSON text must be UTF-8)' }
    expect(failure(() => json(Event).decode(bytes))).toEqual(notUtf8) // the field reader
    expect(failure(() => json(Event.or(z.array(z.unknown()))).decode(bytes))).toEqual(notUtf8) // JSON.parse
  })

  it('fails with invalid_event naming the field for JSON that is not a valid event', () => {
    const f = failure(() => json(Event).decode(Buffer.from('{"product_id":""}')))
    expect(f).toMatchObject({ reason: 'invalid_event' })
    expect(f?.message).toMatch(/^product_id: /)
    const long = JSON.stringify({ product_id: 'p'.repeat(129) })
    expect(failure(() => json(Event).decode(Buffer.from(long)))).toMatchObject({ reason: 'invalid_event' })
  })

  it('takes a custom validator (no zod) and a custom parser', () => {
    const serde = json(Event, {
      validate: (v) =>
        typeof (v as { product_id?: unknown }).product_id === 'string' ? (v as z.output<typeof Event>) : 'no product',
      parse: (b) => JSON.parse(b.toString('latin1')),
    })
    expect(serde.decode(Buffer.from('{"product_id":"x"}'))).toEqual({ product_id: 'x' })
    expect(failure(() => serde.decode(Buffer.from('{}')))).toEqual({ reason: 'invalid_event', message: 'no product' })
  })

  it('round-trips through encode', () => {
    const serde = json(Event)
    expect(serde.decode(serde.encode({ product_id: 'p', timestamp: 1 }))).toEqual({ product_id: 'p', timestamp: 1 })
    expect(text().decode(text().encode('hé'))).toBe('hé')
  })
})
