import { describe, expect, it } from 'vitest'
import type { RawRecord } from '../types.js'
import { deadLetterMessage, deadLetterTopic } from './dead-letter-sink.js'
import { toRawRecords } from './kafka-source.js'

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
    expect(m.timestamp).toBe('1764330001234')
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

describe('toRawRecords', () => {
  it('converts string offsets and timestamps to numbers and flattens repeated headers', () => {
    const out = toRawRecords({
      topic: 't',
      partition: 2,
      messages: [
        { key: null, value: Buffer.from('a'), timestamp: '17', attributes: 0, offset: '41', size: 1 },
        {
          key: Buffer.from('k'),
          value: Buffer.from('b'),
          timestamp: '18',
          attributes: 0,
          offset: '42',
          headers: { h: [Buffer.from('1'), Buffer.from('2')], g: 'x' },
        },
      ],
    })
    expect(out).toEqual([
      { topic: 't', partition: 2, offset: 41, key: null, value: Buffer.from('a'), timestamp: 17 },
      {
        topic: 't',
        partition: 2,
        offset: 42,
        key: Buffer.from('k'),
        value: Buffer.from('b'),
        timestamp: 18,
        headers: { h: Buffer.from('2'), g: 'x' },
      },
    ])
  })
})
