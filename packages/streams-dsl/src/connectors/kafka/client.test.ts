import { describe, expect, it } from 'vitest'
import { bootstrapServers, kafkaLogger } from './client.js'

describe('kafka client helpers', () => {
  it('normalises broker lists', () => {
    expect(bootstrapServers(['a:1', 'b:2'])).toBe('a:1,b:2')
    expect(bootstrapServers(' a:1, b:2 ')).toBe('a:1,b:2')
  })

  it('passes client errors on as warnings, each message at most once per 30 s', () => {
    const lines: string[] = []
    const log = kafkaLogger({
      info: () => {},
      debug: () => {},
      error: () => {},
      warn: ((_o: object, m: string) => lines.push(m)) as never,
    })
    log.error('Connect to ipv4#127.0.0.1:9092 failed: Connection refused')
    log.error('Connect to ipv4#127.0.0.1:9092 failed: Connection refused')
    log.error('Connect to ipv4#127.0.0.1:9094 failed: Connection refused')
    expect(lines).toEqual([
      'Connect to ipv4#127.0.0.1:9092 failed: Connection refused',
      'Connect to ipv4#127.0.0.1:9094 failed: Connection refused',
    ])
  })
})
