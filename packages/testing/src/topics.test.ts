import { describe, expect, it } from 'vitest'
import { runTopicPrefix, uniqueTopic } from './topics.js'

describe('uniqueTopic', () => {
  it('gives distinct, valid Kafka topic names under the run prefix', () => {
    const names = Array.from({ length: 500 }, () => uniqueTopic('ctr impressions/v1'))
    expect(new Set(names).size).toBe(names.length)
    for (const n of names) {
      expect(n.startsWith(runTopicPrefix())).toBe(true)
      expect(n).toMatch(/^[a-zA-Z0-9-]+$/)
      expect(n.length).toBeLessThan(249)
    }
  })
})
