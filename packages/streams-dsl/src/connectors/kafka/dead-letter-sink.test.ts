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
