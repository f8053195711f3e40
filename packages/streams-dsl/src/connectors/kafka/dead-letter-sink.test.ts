import { describe, expect, it } from 'vitest'
import type { RawRecord } from '../types.js'
import { deadLetterMessage, deadLetterTopic } from './dead-letter-sink.js'
import { headerRecord } from './kafka-source.js'

const record: RawRecord = {
  topic: 'impressions',
  partition: 4,
  offset: 1234,
  key: Buffer.from('p-17'),
  value: Buffer.from('{"event_id": '),
  timestamp: 1_764_330_001_234,
  headers: { trace: 'abc', 'error.reason': 'spoofed' },
}

describe('deadLetterMessage', () => {
  it('keeps a record that fits the DLQ topic whole, and truncates the value of one that does not, saying so', () => {
    const big: RawRecord = { ...record, value: Buffer.alloc(300_000, 120) }
    const whole = deadLetterMessage({ reason: 'invalid_json', message: 'bad', record: big }, 400_000)
    expect(whole.value).toBe(big.value)
    expect(whole.headers?.['error.value.truncated']).toBeUndefined()

    const cut = deadLetterMessage({ reason: 'invalid_json', message: 'bad', record: big }, 200_000)
    const value = cut.value as Buffer
    expect(value.length).toBeGreaterThan(190_000)
    expect(big.value?.subarray(0, value.length).equals(value)).toBe(true)
    expect(cut.key).toBe(record.key)
    expect(cut.headers).toMatchObject({
      trace: 'abc',
      'error.reason': 'invalid_json',
      'error.value.bytes': '300000',
      'error.value.truncated': 'true',
      'source.offset': '1234',
    })
    expect(cut.headers?.['error.message']).toBe(
      `bad (value truncated to its first ${value.length} of 300000 bytes: the DLQ topic accepts records of at most 200000 bytes)`,
    )
    // what is sent stays within the limit with its framing
    const size = (cut.key as Buffer).length + value.length + JSON.stringify(cut.headers).length
    expect(size).toBeLessThan(200_000)
  })

  it('drops a key and headers too large for the DLQ topic, keeping where the record is', () => {
    const huge: RawRecord = { ...record, key: Buffer.alloc(250_000, 1), value: Buffer.from('x') }
    const m = deadLetterMessage({ reason: 'invalid_json', message: 'bad', record: huge }, 200_000)
    expect(m.key).toBeNull()
    expect(m.headers?.trace).toBeUndefined()
    expect(m.headers?.['source.offset']).toBe('1234')
    expect(m.headers?.['error.message']).toContain('key and original headers dropped')
  })

  it('keeps the original key, bytes and timestamp and adds the contract headers', () => {
    const m = deadLetterMessage({ reason: 'invalid_json', message: 'Unexpected end of JSON input', record })
    expect(m.key).toBe(record.key)
    expect(m.value).toBe(record.value)
    expect(m.timestamp).toBe(1_764_330_001_234)
    expect(m.headers).toEqual({
      trace: 'abc',
      'error.reason': 'invalid_json',
      'error.message': 'Unexpected end of JSON input',
      'source.topic': 'impressions',
      'source.partition': '4',
      'source.offset': '1234',
    })
  })

  it('passes null keys and values through', () => {
    const m = deadLetterMessage({
      reason: 'invalid_event',
      message: 'no value',
      record: { ...record, key: null, value: null },
    })
    expect(m.key).toBeNull()
    expect(m.value).toBeNull()
  })

  it('names the DLQ after the application', () => {
    expect(deadLetterTopic('ctr')).toBe('ctr-dlq')
  })
})

describe('headerRecord', () => {
  it("turns the client's list of one-key header objects into one record, the last value of a key winning", () => {
    const out = headerRecord([{ h: Buffer.from('1') }, { g: 'x' }, { h: Buffer.from('2') }, { __proto__: 'p' }])
    expect({ ...out }).toEqual({ h: Buffer.from('2'), g: 'x' })
    expect(Object.keys(out)).toEqual(['h', 'g'])
  })

  it('keeps a header named __proto__ as a header', () => {
    const raw = [JSON.parse('{"__proto__": "p"}') as Record<string, string>]
    const out = headerRecord(raw)
    expect(Object.getOwnPropertyDescriptor(out, '__proto__')?.value).toBe('p')
    expect(Object.keys(out)).toEqual(['__proto__'])
  })
})
